/* Datasets: options, whole-file reading (gzip included), format detection,
 * free and the seeded train/validation split. */
#include "io/io.h"
#include "core/core.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef MYNN_HAVE_ZLIB
#include <zlib.h>
#endif

void mynn_load_options_default(mynn_load_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->label_column = -1;
    o->n_targets = 0;
    o->header = -1;
    o->separator = ',';
    o->n_classes = 0;
    o->skip_nonfinite = 0;
    o->no_labels = 0;
}

mynn_dataset *mn_dataset_new(void)
{
    mynn_dataset *ds = mn_calloc(1, sizeof *ds, "dataset");
    if (ds) ds->owned = 1;
    return ds;
}

void mynn_dataset_free(mynn_dataset *ds)
{
    if (!ds || !ds->owned) return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    mynn_encoding_free(ds->encoding);
    free(ds);
}

/* ---- files ----------------------------------------------------------------- */

static const char *err_text(int e, char *buf, size_t n)
{
    /* XSI strerror_r (the POSIX one): thread-safe. */
    if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "error %d", e);
    return buf;
}

int mn_is_gzip(const unsigned char *buf, size_t len)
{
    return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

mynn_status mn_file_read_all(const char *path, unsigned char **data, size_t *len, int gunzip)
{
    char eb[128];
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mn_error(MYNN_ERR_IO, "cannot open %s: %s", path, err_text(errno, eb, sizeof eb));

    struct stat st;
    size_t cap = 1 << 16;
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fclose(f);
            return mn_error(MYNN_ERR_IO, "cannot read %s: Is a directory", path);
        }
        if (S_ISREG(st.st_mode)) {
            if ((unsigned long long)st.st_size > MN_MAX_FILE_BYTES) {
                fclose(f);
                return mn_error(MYNN_ERR_IO, "%s: file too large (%lld bytes; the limit is %zu)",
                                path, (long long)st.st_size, (size_t)MN_MAX_FILE_BYTES);
            }
            cap = (size_t)st.st_size + 1;
        }
    }
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return mn_error(MYNN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
    }
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= MN_MAX_FILE_BYTES) {
                free(buf);
                fclose(f);
                return mn_error(MYNN_ERR_IO, "%s: file too large (the limit is %zu bytes)", path,
                                (size_t)MN_MAX_FILE_BYTES);
            }
            size_t nc = cap * 2 > MN_MAX_FILE_BYTES ? MN_MAX_FILE_BYTES : cap * 2;
            unsigned char *nb = realloc(buf, nc + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return mn_error(MYNN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, nc);
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fclose(f);
                return mn_error(MYNN_ERR_IO, "cannot read %s: %s", path, err_text(e, eb, sizeof eb));
            }
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';

    if (gunzip && mn_is_gzip(buf, n)) {
        unsigned char *out;
        size_t out_len;
        mynn_status s = mn_gunzip(path, buf, n, &out, &out_len);
        free(buf);
        if (s != MYNN_OK) return s;
        buf = out;
        n = out_len;
    }
    *data = buf;
    *len = n;
    return MYNN_OK;
}

#ifdef MYNN_HAVE_ZLIB
mynn_status mn_gunzip(const char *name, const unsigned char *in, size_t in_len,
                      unsigned char **out, size_t *out_len)
{
    const size_t chunk_max = (size_t)1 << 30;
    *out = NULL;
    *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return mn_error(MYNN_ERR_NOMEM, "%s: cannot start gzip decompression", name);

    size_t cap = in_len < (MN_MAX_FILE_BYTES / 4) ? in_len * 4 + 4096 : MN_MAX_FILE_BYTES;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        inflateEnd(&z);
        return mn_error(MYNN_ERR_NOMEM, "%s: out of memory decompressing", name);
    }
    size_t total = 0, in_pos = 0;
    mynn_status st = MYNN_OK;
    for (;;) {
        if (z.avail_in == 0 && in_pos < in_len) {
            size_t c = in_len - in_pos < chunk_max ? in_len - in_pos : chunk_max;
            z.next_in = (Bytef *)(uintptr_t)(in + in_pos);
            z.avail_in = (uInt)c;
            in_pos += c;
        }
        if (total == cap) {
            if (cap >= MN_MAX_FILE_BYTES) {
                st = mn_error(MYNN_ERR_IO, "%s: decompressed content over the limit of %zu bytes",
                              name, (size_t)MN_MAX_FILE_BYTES);
                break;
            }
            size_t nc = cap * 2 > MN_MAX_FILE_BYTES ? MN_MAX_FILE_BYTES : cap * 2;
            unsigned char *nb = realloc(buf, nc + 1);
            if (!nb) {
                st = mn_error(MYNN_ERR_NOMEM, "%s: out of memory decompressing", name);
                break;
            }
            buf = nb;
            cap = nc;
        }
        size_t room = cap - total < chunk_max ? cap - total : chunk_max;
        z.next_out = buf + total;
        z.avail_out = (uInt)room;
        int r = inflate(&z, Z_NO_FLUSH);
        total += room - z.avail_out;
        if (r == Z_STREAM_END) {
            /* Another gzip member may follow (concatenated files). */
            const unsigned char *nx = z.avail_in ? z.next_in : in + in_pos;
            size_t rest = z.avail_in + (in_len - in_pos);
            if (rest >= 2 && nx[0] == 0x1f && nx[1] == 0x8b) {
                inflateReset(&z);
                continue;
            }
            break;
        }
        if (r == Z_OK) continue;
        if (r == Z_BUF_ERROR && !(z.avail_in == 0 && in_pos == in_len)) continue;
        if (r == Z_BUF_ERROR)
            st = mn_error(MYNN_ERR_FORMAT, "%s: gzip data ends early (truncated file)", name);
        else if (r == Z_MEM_ERROR)
            st = mn_error(MYNN_ERR_NOMEM, "%s: out of memory decompressing", name);
        else
            st = mn_error(MYNN_ERR_FORMAT, "%s: corrupt gzip data (%s)", name,
                          z.msg ? z.msg : "inflate failed");
        break;
    }
    inflateEnd(&z);
    if (st != MYNN_OK) {
        free(buf);
        return st;
    }
    buf[total] = '\0';
    *out = buf;
    *out_len = total;
    return MYNN_OK;
}
#else
mynn_status mn_gunzip(const char *name, const unsigned char *in, size_t in_len,
                      unsigned char **out, size_t *out_len)
{
    (void)in;
    (void)in_len;
    *out = NULL;
    *out_len = 0;
    return mn_error(MYNN_ERR_FORMAT,
                    "%s: gzip-compressed, but mynn was built without zlib (decompress it first)",
                    name);
}
#endif

/* ---- loading --------------------------------------------------------------- */

static void shape_text(char *buf, size_t n, const int *shape, int dims)
{
    if (dims == 1) snprintf(buf, n, "%dx%d", shape[0], shape[2]);
    else snprintf(buf, n, "%dx%dx%d", shape[0], shape[1], shape[2]);
}

/* The options' sample shape onto a loaded set: it must match the number of
 * inputs, and a C × H × W shape the file's own (IDX) when it has one; two
 * numbers (C × L, or T × F for a recurrent layer) read any file's samples
 * row-major (--shape 28x28 on IDX images: 28 rows of 28 pixels). */
static mynn_status apply_shape(mynn_dataset *ds, const mynn_load_options *opt, const char *path)
{
    if (!opt->shape_dims) return MYNN_OK;
    const int *sh = opt->shape;
    char want[64], have[64];
    shape_text(want, sizeof want, sh, opt->shape_dims);
    if ((long long)sh[0] * sh[1] * sh[2] != ds->n_inputs)
        return mn_error(MYNN_ERR_SHAPE, "%s: shape %s has %lld values, but the data has %d inputs",
                        path, want, (long long)sh[0] * sh[1] * sh[2], ds->n_inputs);
    if (ds->shape_dims && opt->shape_dims == 2 && (ds->shape[0] != sh[0] || ds->shape[1] != sh[1] || ds->shape[2] != sh[2])) {
        shape_text(have, sizeof have, ds->shape, ds->shape_dims);
        return mn_error(MYNN_ERR_SHAPE, "%s: shape %s given, but the file's images are %s", path,
                        want, have);
    }
    memcpy(ds->shape, sh, sizeof ds->shape);
    ds->shape_dims = opt->shape_dims;
    return MYNN_OK;
}

static mynn_status load_any(mynn_dataset **out, const char *path, const mynn_load_options *opt,
                            int which);

mynn_status mynn_dataset_load(mynn_dataset **out, const char *path,
                              const mynn_load_options *opt, int which)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_dataset_load: out is NULL");
    *out = NULL;
    if (!path) return mn_error(MYNN_ERR_NULL, "mynn_dataset_load: path is NULL");
    mynn_load_options def;
    if (!opt) {
        mynn_load_options_default(&def);
        opt = &def;
    }
    if (opt->label_column < -1)
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_load: label_column must be >= -1, got %d",
                        opt->label_column);
    if (opt->n_targets < 0)
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_load: n_targets must be >= 0, got %d",
                        opt->n_targets);
    if (opt->n_classes < 0)
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_load: n_classes must be >= 0, got %d",
                        opt->n_classes);
    if ((unsigned)opt->missing > MYNN_MISSING_MEDIAN)
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_load: missing must be a mynn_missing, got %d",
                        (int)opt->missing);
    if (opt->shape_dims && (opt->shape_dims > 2 || opt->shape[0] < 1 || opt->shape[1] < 1 ||
                            opt->shape[2] < 1 || (opt->shape_dims == 1 && opt->shape[1] != 1)))
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_load: shape must be C x H x W (or C x 1 x L), got "
                        "%d x %d x %d", opt->shape[0], opt->shape[1], opt->shape[2]);
    mynn_status s = load_any(out, path, opt, which);
    if (s == MYNN_OK && (s = apply_shape(*out, opt, path)) != MYNN_OK) {
        mynn_dataset_free(*out);
        *out = NULL;
    }
    return s;
}

static mynn_status load_any(mynn_dataset **out, const char *path, const mynn_load_options *opt,
                            int which)
{

    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (which != 0 && which != 1)
            return mn_error(MYNN_ERR_ARG,
                            "mynn_dataset_load: which must be 0 (train) or 1 (test), got %d", which);
        return mn_load_idx_folder(out, path, opt, which);
    }

    unsigned char *buf;
    size_t len;
    mynn_status s = mn_file_read_all(path, &buf, &len, 0);
    if (s != MYNN_OK) return s;
    if (len == 0) {
        free(buf);
        return mn_error(MYNN_ERR_FORMAT, "%s: empty file", path);
    }
    if (mn_is_gzip(buf, len)) {
        unsigned char *raw;
        size_t raw_len;
        s = mn_gunzip(path, buf, len, &raw, &raw_len);
        free(buf);
        if (s != MYNN_OK) return s;
        buf = raw;
        len = raw_len;
        if (len == 0) {
            free(buf);
            return mn_error(MYNN_ERR_FORMAT, "%s: empty file (after decompression)", path);
        }
    }

    if (len >= 6 && !memcmp(buf, "\x93NUMPY", 6))
        s = mn_load_npy(out, path, buf, len, opt);
    else if (len >= 4 && (!memcmp(buf, "PK\x03\x04", 4) || !memcmp(buf, "PK\x05\x06", 4)))
        s = mn_load_npz(out, path, buf, len, opt);
    else if (len >= 2 && buf[0] == 0 && buf[1] == 0)
        s = mn_load_idx_images(out, path, buf, len, opt);
    else if (mn_fann_detect((const char *)buf, len))
        s = mn_load_fann(out, path, (const char *)buf, len, opt);
    else
        s = mn_load_csv(out, path, (const char *)buf, len, opt);
    free(buf);
    return s;
}

/* ---- split ------------------------------------------------------------------ */

static void swap_rows_f(float *a, int w, size_t i, size_t j)
{
    float *p = a + i * (size_t)w, *q = a + j * (size_t)w;
    for (int k = 0; k < w; k++) {
        float t = p[k];
        p[k] = q[k];
        q[k] = t;
    }
}

mynn_status mynn_dataset_split(mynn_dataset *ds, float fraction, uint64_t seed,
                               mynn_dataset **val)
{
    if (!val) return mn_error(MYNN_ERR_NULL, "mynn_dataset_split: val is NULL");
    *val = NULL;
    if (!ds) return mn_error(MYNN_ERR_NULL, "mynn_dataset_split: ds is NULL");
    if (!(fraction > 0.0f && fraction < 1.0f))
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_split: fraction must be in (0, 1), got %g",
                        (double)fraction);
    if (ds->n < 2)
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_split: need at least 2 samples, have %d",
                        ds->n);
    if (!ds->x || ds->n_inputs < 1)
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_split: dataset has no inputs");
    if (ds->n_outputs < 0 || (ds->n_outputs > 0 && !ds->y))
        return mn_error(MYNN_ERR_ARG, "mynn_dataset_split: dataset has %d outputs but no y",
                        ds->n_outputs);

    size_t n = (size_t)ds->n;
    long long k = llround((double)n * (double)fraction);
    if (k < 1) k = 1;
    if (k > (long long)n - 1) k = (long long)n - 1;
    size_t nv = (size_t)k, nt = n - nv;
    int ni = ds->n_inputs, no = ds->y ? ds->n_outputs : 0;

    mynn_dataset *v = mn_dataset_new();
    if (!v) return MYNN_ERR_NOMEM;
    v->n = (int)nv;
    v->n_inputs = ni;
    v->n_outputs = ds->n_outputs;
    v->n_classes = ds->n_classes;
    memcpy(v->shape, ds->shape, sizeof v->shape);
    v->shape_dims = ds->shape_dims;
    v->x = mn_calloc(nv * (size_t)ni, sizeof(float), "validation inputs");
    if (v->x && no > 0) v->y = mn_calloc(nv * (size_t)no, sizeof(float), "validation targets");
    if (v->x && ds->labels) v->labels = mn_calloc(nv, sizeof(int), "validation labels");
    if (!v->x || (no > 0 && !v->y) || (ds->labels && !v->labels)) {
        mynn_dataset_free(v);
        return MYNN_ERR_NOMEM;
    }

    /* Fisher-Yates over the rows, in place. */
    mynn_rng rng;
    mynn_rng_seed(&rng, seed);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)mynn_rng_below(&rng, (uint64_t)i + 1);
        if (j == i) continue;
        swap_rows_f(ds->x, ni, i, j);
        if (no > 0) swap_rows_f(ds->y, no, i, j);
        if (ds->labels) {
            int t = ds->labels[i];
            ds->labels[i] = ds->labels[j];
            ds->labels[j] = t;
        }
    }
    memcpy(v->x, ds->x + nt * (size_t)ni, nv * (size_t)ni * sizeof(float));
    if (no > 0) memcpy(v->y, ds->y + nt * (size_t)no, nv * (size_t)no * sizeof(float));
    if (ds->labels) memcpy(v->labels, ds->labels + nt, nv * sizeof(int));
    ds->n = (int)nt;
    *val = v;
    return MYNN_OK;
}
