/* Generic safetensors files: named F32 / I32 / U64 tensors plus string
 * metadata, in the same encoding as model files (u64 header length, JSON
 * header, little-endian data).  Used for training checkpoints; mynn_save
 * writes its own model-specific layout, and mynn_load reads it through the
 * same parser as mn_st_open.  Not part of the public API.
 *
 *     const char *meta[] = {"format", "x", "count", "3"};
 *     mn_st_tensor t[] = {{"w", MN_ST_F32, 1, {n}, w}};
 *     s = mn_st_write(path, meta, 2, t, 1);          // atomic (io/atomic_file.h)
 *
 *     mn_st_file *f;
 *     s = mn_st_open(&f, path, limit);               // header fully checked
 *     const char *c = mn_st_meta(f, "count");        // NULL when absent
 *     s = mn_st_read(f, "w", MN_ST_F32, 1, dims, w); // dtype and shape must match
 *     name = mn_st_unread(f);                        // a tensor nobody asked for?
 *     mn_st_close(f);
 */
#ifndef MN_SAFETENSORS_H
#define MN_SAFETENSORS_H

#include "mynn.h"

#include <stddef.h>
#include <stdint.h>

#define MN_ST_MAX_RANK 4

typedef enum mn_st_dtype { MN_ST_F32 = 0, MN_ST_I32, MN_ST_U64, MN_ST_I8, MN_ST_DTYPES } mn_st_dtype;

typedef struct mn_st_tensor {
    const char *name;
    mn_st_dtype dtype;
    int rank;                        /* 0..MN_ST_MAX_RANK */
    uint64_t dims[MN_ST_MAX_RANK];
    const void *data;                /* the elements, in host byte order */
} mn_st_tensor;

/* Write the n_meta key/value pairs (meta[2i], meta[2i+1]; valid UTF-8) and
 * the tensors, in that order, atomically to path. */
mynn_status mn_st_write(const char *path, const char *const *meta, size_t n_meta,
                        const mn_st_tensor *t, size_t nt);

typedef struct mn_st_file mn_st_file;

/* Open path and check all of its header: a JSON object whose __metadata__
 * (optional) holds only strings and whose every other entry is a tensor
 * with a known dtype (F32, I32, U64, I8), a shape of rank <= MN_ST_MAX_RANK,
 * data_offsets spanning exactly its bytes inside the data, no two tensors
 * overlapping, and the tensors covering the data exactly.  Files larger
 * than max_size bytes are refused.  Errors (MYNN_ERR_IO, FORMAT, NOMEM)
 * name the path. */
mynn_status mn_st_open(mn_st_file **out, const char *path, uint64_t max_size);
void mn_st_close(mn_st_file *f);
/* The metadata value for key, or NULL. */
const char *mn_st_meta(const mn_st_file *f, const char *key);
/* Non-zero if the file holds a tensor called name. */
int mn_st_has(const mn_st_file *f, const char *name);
/* Read tensor name into dst (host byte order).  It must exist and have
 * exactly this dtype and shape (MYNN_ERR_FORMAT naming both otherwise). */
mynn_status mn_st_read(mn_st_file *f, const char *name, mn_st_dtype dtype, int rank,
                       const uint64_t *dims, void *dst);
/* The name of a tensor not read yet, or NULL when all were read. */
const char *mn_st_unread(const mn_st_file *f);


#endif
