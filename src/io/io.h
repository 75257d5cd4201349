/* Internal I/O helpers: whole-file reading (with gzip) and the dataset
 * loaders; the locale-independent number helpers they all use live in
 * core/numparse.h (the layers' spec parsing reads numbers too).  Not part of
 * the public API. */
#ifndef MN_IO_H
#define MN_IO_H

#include "mynn.h"
#include "core/numparse.h"

#include <stddef.h>

/* Largest file (or decompressed content) read into memory: 1 GiB. */
#define MN_MAX_FILE_BYTES ((size_t)1 << 30)

/* Read all of path into a new buffer (*data, freed by the caller with free),
 * *len bytes plus a terminating NUL not counted in *len.  With gunzip
 * non-zero, content starting with the gzip magic (1f 8b) is decompressed
 * (MYNN_ERR_FORMAT "built without zlib" in builds without it).  Errors:
 * MYNN_ERR_IO "cannot open <path>: <reason>", read errors, files over
 * MN_MAX_FILE_BYTES; MYNN_ERR_FORMAT for corrupt gzip data. */
mynn_status mn_file_read_all(const char *path, unsigned char **data, size_t *len, int gunzip);

/* 1 if buf starts with the gzip magic. */
int mn_is_gzip(const unsigned char *buf, size_t len);

/* Decompress gzip data (one or more members) into a new NUL-terminated
 * buffer; name is used in messages. */
mynn_status mn_gunzip(const char *name, const unsigned char *in, size_t in_len,
                      unsigned char **out, size_t *out_len);

/* ---- dataset loaders (dataset.c dispatches) --------------------------- */
/* A new owned, zeroed dataset. */
mynn_dataset *mn_dataset_new(void);

/* CSV text buf (NUL-terminated, len bytes) read from path. */
mynn_status mn_load_csv(mynn_dataset **out, const char *path, const char *buf, size_t len,
                        const mynn_load_options *opt);
/* 1 if buf looks like FANN training data ("pairs inputs outputs" line
 * followed by a consistent body, or a body that is no plain 3-column table). */
int mn_fann_detect(const char *buf, size_t len);
mynn_status mn_load_fann(mynn_dataset **out, const char *path, const char *buf, size_t len,
                         const mynn_load_options *opt);
/* IDX: images file (plain or .gz) with its labels file found beside it,
 * or a folder (which 0 = train-*, 1 = t10k-*). */
mynn_status mn_load_idx_images(mynn_dataset **out, const char *path,
                               const unsigned char *buf, size_t len,
                               const mynn_load_options *opt);
mynn_status mn_load_idx_folder(mynn_dataset **out, const char *dir,
                               const mynn_load_options *opt, int which);

/* NumPy: a .npy array (buf starts with \x93NUMPY) or a .npz zip archive. */
mynn_status mn_load_npy(mynn_dataset **out, const char *path, const unsigned char *buf, size_t len,
                        const mynn_load_options *opt);
mynn_status mn_load_npz(mynn_dataset **out, const char *path, const unsigned char *buf, size_t len,
                        const mynn_load_options *opt);

#endif
