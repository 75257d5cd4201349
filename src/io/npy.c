/* NumPy data: a .npy array (a table: its columns take the CSV roles, label
 * last by default) or a .npz archive of arrays x [n, ...] and y [n] or
 * [n, k] (names from the options).  Element types: float32/64, int8..64,
 * uint8..64, bool; C order, little-endian (others are refused with the way
 * out).  A .npz is a zip archive: stored entries, or deflated ones
 * (np.savez_compressed) in builds with zlib; CRC-32 checked.  Sizes are
 * checked against the buffer and the limits before anything is allocated. */
#include "io/io.h"
#include "core/core.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MYNN_HAVE_ZLIB
#include <zlib.h>
#endif

#define NPY_MAX_HEADER 100000
#define NPY_MAX_DIMS 8

/* A parsed array: a view of little-endian data inside a buffer. */
typedef struct npy_array {
    char kind;          /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int size;           /* bytes per element */
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;       /* elements */
    const unsigned char *data;
} npy_array;

static uint64_t le_u(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Element i as a double. */
static double npy_get(const npy_array *a, size_t i)
{
    const unsigned char *p = a->data + i * (size_t)a->size;
    uint64_t u = le_u(p, a->size);
    switch (a->kind) {
    case 'f':
        if (a->size == 4) {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, 4);
            return f;
        } else {
            double d;
            memcpy(&d, &u, 8);
            return d;
        }
    case 'i': {
        int bits = a->size * 8;
        if (bits < 64 && (u >> (bits - 1)) & 1) u |= ~(uint64_t)0 << bits;   /* sign-extend */
        return (double)(int64_t)u;
    }
    default: return (double)u;
    }
}

/* ---- the header dictionary ---------------------------------------------- */

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A quoted string at *p ('...' or "..."): its bounds; 0 if none. */
static int read_str(const char **p, const char *e, const char **s, size_t *n)
{
    const char *q = skip_ws(*p, e);
    if (q >= e || (*q != '\'' && *q != '"')) return 0;
    char quote = *q++;
    const char *start = q;
    while (q < e && *q != quote) q++;
    if (q >= e) return 0;
    *s = start;
    *n = (size_t)(q - start);
    *p = q + 1;
    return 1;
}

static mynn_status parse_descr(const char *name, const char *s, size_t n, npy_array *a)
{
    if (n < 3 || n > 4) goto bad;
    char order = s[0], kind = s[1];
    int size = 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') goto bad;
        size = size * 10 + (s[i] - '0');
    }
    if (order == '>' && size > 1)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: big-endian data (dtype '%.*s'); save it little-endian, e.g. "
                        "a.astype('<%c%d')", name, (int)n, s, kind, size);
    if (order != '<' && order != '|' && order != '=' && !(order == '>' && size == 1)) goto bad;
    int ok = (kind == 'f' && (size == 4 || size == 8)) ||
             ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
             (kind == 'b' && size == 1);
    if (!ok) goto bad;
    a->kind = kind;
    a->size = size;
    return MYNN_OK;
bad:
    return mn_error(MYNN_ERR_FORMAT,
                    "%s: dtype '%.*s' is not supported (float32, float64, int8..int64, "
                    "uint8..uint64, bool)", name, (int)(n > 16 ? 16 : n), s);
}

static mynn_status parse_shape(const char *name, const char **p, const char *e, npy_array *a)
{
    const char *q = skip_ws(*p, e);
    if (q >= e || *q != '(') return mn_error(MYNN_ERR_FORMAT, "%s: header: shape is not a tuple", name);
    q++;
    a->ndim = 0;
    a->count = 1;
    for (;;) {
        q = skip_ws(q, e);
        if (q < e && *q == ')') break;
        if (a->ndim == NPY_MAX_DIMS)
            return mn_error(MYNN_ERR_FORMAT, "%s: more than %d dimensions", name, NPY_MAX_DIMS);
        size_t v = 0;
        int digits = 0;
        while (q < e && *q >= '0' && *q <= '9') {
            if (v > MN_MAX_ELEMS) break;
            v = v * 10 + (size_t)(*q++ - '0');
            digits++;
        }
        if (!digits || v > MN_MAX_ELEMS)
            return mn_error(MYNN_ERR_FORMAT, "%s: header: bad shape entry", name);
        a->shape[a->ndim++] = v;
        if (v && a->count > MN_MAX_ELEMS / v)
            return mn_error(MYNN_ERR_NOMEM, "%s: more than %zu elements (the limit)", name,
                            (size_t)MN_MAX_ELEMS);
        a->count *= v;
        q = skip_ws(q, e);
        if (q < e && *q == ',') q++;
        else if (!(q < e && *q == ')'))
            return mn_error(MYNN_ERR_FORMAT, "%s: header: bad shape", name);
    }
    *p = q + 1;
    return MYNN_OK;
}

/* The dictionary {'descr': ..., 'fortran_order': ..., 'shape': (...)}. */
static mynn_status parse_header(const char *name, const char *h, size_t n, npy_array *a)
{
    const char *p = skip_ws(h, h + n), *e = h + n;
    int have = 0, fortran = 0;
    if (p >= e || *p++ != '{') return mn_error(MYNN_ERR_FORMAT, "%s: header is not a dictionary", name);
    for (;;) {
        p = skip_ws(p, e);
        if (p < e && *p == '}') break;
        const char *k;
        size_t kn;
        if (!read_str(&p, e, &k, &kn)) return mn_error(MYNN_ERR_FORMAT, "%s: header: expected a key", name);
        p = skip_ws(p, e);
        if (p >= e || *p++ != ':') return mn_error(MYNN_ERR_FORMAT, "%s: header: expected ':'", name);
        mynn_status s = MYNN_OK;
        if (kn == 5 && !memcmp(k, "descr", 5)) {
            const char *v;
            size_t vn;
            if (!read_str(&p, e, &v, &vn))
                return mn_error(MYNN_ERR_FORMAT, "%s: dtype is not a simple type string "
                                "(structured arrays are not supported)", name);
            s = parse_descr(name, v, vn, a);
            have |= 1;
        } else if (kn == 13 && !memcmp(k, "fortran_order", 13)) {
            p = skip_ws(p, e);
            if ((size_t)(e - p) >= 4 && !memcmp(p, "True", 4)) fortran = 1, p += 4;
            else if ((size_t)(e - p) >= 5 && !memcmp(p, "False", 5)) p += 5;
            else return mn_error(MYNN_ERR_FORMAT, "%s: header: fortran_order is not True/False", name);
            have |= 2;
        } else if (kn == 5 && !memcmp(k, "shape", 5)) {
            s = parse_shape(name, &p, e, a);
            have |= 4;
        } else {
            return mn_error(MYNN_ERR_FORMAT, "%s: header: unknown key '%.*s'", name,
                            (int)(kn > 32 ? 32 : kn), k);
        }
        if (s) return s;
        p = skip_ws(p, e);
        if (p < e && *p == ',') p++;
        else if (!(p < e && *p == '}')) return mn_error(MYNN_ERR_FORMAT, "%s: header: expected ',' or '}'", name);
    }
    if (have != 7)
        return mn_error(MYNN_ERR_FORMAT, "%s: header lacks %s", name,
                        !(have & 1) ? "descr" : !(have & 2) ? "fortran_order" : "shape");
    int dims_over_1 = 0;
    for (int i = 0; i < a->ndim; i++) dims_over_1 += a->shape[i] > 1;
    if (fortran && dims_over_1 > 1)
        return mn_error(MYNN_ERR_FORMAT, "%s: Fortran-ordered array; save it in C order "
                        "(np.ascontiguousarray(a))", name);
    return MYNN_OK;
}

/* One .npy image of len bytes: a view of its array. */
static mynn_status npy_parse(const char *name, const unsigned char *b, size_t len, npy_array *a)
{
    memset(a, 0, sizeof *a);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return mn_error(MYNN_ERR_FORMAT, "%s: not a .npy array (no \\x93NUMPY magic)", name);
    int major = b[6];
    if (major < 1 || major > 3)
        return mn_error(MYNN_ERR_FORMAT, "%s: .npy format version %d.%d is not supported", name,
                        major, b[7]);
    size_t hl, at = major == 1 ? 10 : 12;
    if (len < at) return mn_error(MYNN_ERR_FORMAT, "%s: truncated .npy header", name);
    hl = major == 1 ? (size_t)le_u(b + 8, 2) : (size_t)le_u(b + 8, 4);
    if (hl > NPY_MAX_HEADER)
        return mn_error(MYNN_ERR_FORMAT, "%s: .npy header of %zu bytes (the limit is %d)", name,
                        hl, NPY_MAX_HEADER);
    if (hl > len - at) return mn_error(MYNN_ERR_FORMAT, "%s: truncated .npy header", name);
    mynn_status s = parse_header(name, (const char *)b + at, hl, a);
    if (s) return s;
    size_t need = a->count * (size_t)a->size, have = len - at - hl;
    if (have < need)
        return mn_error(MYNN_ERR_FORMAT, "%s: the header claims %zu bytes of data, the file has %zu",
                        name, need, have);
    a->data = b + at + hl;
    return MYNN_OK;
}

/* ---- zip (.npz) ----------------------------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
#ifdef MYNN_HAVE_ZLIB
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
#else
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
#endif
}

typedef struct zip_entry {
    const char *name;
    size_t name_len;
    int method;
    uint32_t crc;
    uint64_t csize, usize, offset;
} zip_entry;

/* Zip64 sizes and offset from a central entry's extra field (0x0001). */
static void zip64_fields(const unsigned char *x, size_t n, zip_entry *z)
{
    while (n >= 4) {
        size_t id = (size_t)le_u(x, 2), len = (size_t)le_u(x + 2, 2);
        if (len > n - 4) return;
        if (id == 1) {
            const unsigned char *q = x + 4, *qe = q + len;
            if (z->usize == 0xFFFFFFFFu && qe - q >= 8) z->usize = le_u(q, 8), q += 8;
            if (z->csize == 0xFFFFFFFFu && qe - q >= 8) z->csize = le_u(q, 8), q += 8;
            if (z->offset == 0xFFFFFFFFu && qe - q >= 8) z->offset = le_u(q, 8);
            return;
        }
        x += 4 + len;
        n -= 4 + len;
    }
}

/* Find the entry named want (e.g. "x.npy") in the central directory. */
static mynn_status zip_find(const char *path, const unsigned char *b, size_t len, const char *want,
                            zip_entry *out, int *found)
{
    *found = 0;
    if (len < 22) return mn_error(MYNN_ERR_FORMAT, "%s: truncated zip archive", path);
    size_t eocd = len - 22, stop = len - 22 > 65535 ? len - 22 - 65535 : 0;
    while (le_u(b + eocd, 4) != 0x06054b50u) {
        if (eocd == stop) return mn_error(MYNN_ERR_FORMAT, "%s: no zip end-of-directory record", path);
        eocd--;
    }
    size_t entries = (size_t)le_u(b + eocd + 10, 2);
    uint64_t cd_size = le_u(b + eocd + 12, 4), cd_off = le_u(b + eocd + 16, 4);
    if (cd_off == 0xFFFFFFFFu || entries == 0xFFFF)
        return mn_error(MYNN_ERR_FORMAT, "%s: zip64 archive directories are not supported", path);
    if (cd_off > eocd || cd_size > eocd - cd_off)
        return mn_error(MYNN_ERR_FORMAT, "%s: zip directory outside the file", path);
    const unsigned char *p = b + cd_off, *e = p + cd_size;
    size_t wl = strlen(want);
    for (size_t i = 0; i < entries; i++) {
        if (e - p < 46 || le_u(p, 4) != 0x02014b50u)
            return mn_error(MYNN_ERR_FORMAT, "%s: damaged zip directory (entry %zu)", path, i);
        size_t nl = (size_t)le_u(p + 28, 2), xl = (size_t)le_u(p + 30, 2), cl = (size_t)le_u(p + 32, 2);
        if ((size_t)(e - p) - 46 < nl + xl + cl)
            return mn_error(MYNN_ERR_FORMAT, "%s: damaged zip directory (entry %zu)", path, i);
        zip_entry z = {(const char *)p + 46, nl, (int)le_u(p + 10, 2), (uint32_t)le_u(p + 16, 4),
                       le_u(p + 20, 4), le_u(p + 24, 4), le_u(p + 42, 4)};
        if (nl == wl && !memcmp(z.name, want, wl)) {
            zip64_fields(p + 46 + nl, xl, &z);
            if (le_u(p + 8, 2) & 1)
                return mn_error(MYNN_ERR_FORMAT, "%s: %s is encrypted", path, want);
            *out = z;
            *found = 1;
            return MYNN_OK;
        }
        p += 46 + nl + xl + cl;
    }
    return MYNN_OK;
}

#ifdef MYNN_HAVE_ZLIB
static mynn_status inflate_raw(const char *path, const char *name, const unsigned char *in,
                               size_t in_len, unsigned char *out, size_t out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return mn_error(MYNN_ERR_NOMEM, "%s: cannot start inflate", path);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = (uInt)out_len;
    int r = inflate(&z, Z_FINISH);
    size_t got = out_len - z.avail_out;
    inflateEnd(&z);
    if (r != Z_STREAM_END || got != out_len)
        return mn_error(MYNN_ERR_FORMAT, "%s: %s: corrupt deflate data", path, name);
    return MYNN_OK;
}
#endif

/* The bytes of entry z: a view (stored) or a new buffer in *owned. */
static mynn_status zip_read(const char *path, const char *name, const unsigned char *b, size_t len,
                            const zip_entry *z, const unsigned char **data, size_t *n,
                            unsigned char **owned)
{
    *owned = NULL;
    if (z->offset > len || len - z->offset < 30 || le_u(b + z->offset, 4) != 0x04034b50u)
        return mn_error(MYNN_ERR_FORMAT, "%s: %s: bad local header", path, name);
    const unsigned char *lh = b + z->offset;
    uint64_t start = z->offset + 30 + le_u(lh + 26, 2) + le_u(lh + 28, 2);
    if (start > len || z->csize > len - start)
        return mn_error(MYNN_ERR_FORMAT, "%s: %s: data outside the file", path, name);
    if (z->usize > MN_MAX_FILE_BYTES)
        return mn_error(MYNN_ERR_IO, "%s: %s: %llu bytes uncompressed (the limit is %zu)", path,
                        name, (unsigned long long)z->usize, (size_t)MN_MAX_FILE_BYTES);
    const unsigned char *src = b + start;
    if (z->method == 0) {
        if (z->csize != z->usize)
            return mn_error(MYNN_ERR_FORMAT, "%s: %s: stored entry sizes differ", path, name);
        *data = src;
    } else if (z->method == 8) {
#ifdef MYNN_HAVE_ZLIB
        if (z->csize > UINT_MAX || z->usize > UINT_MAX)
            return mn_error(MYNN_ERR_FORMAT, "%s: %s: entry too large", path, name);
        *owned = malloc((size_t)z->usize + 1);
        if (!*owned) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
        mynn_status s = inflate_raw(path, name, src, (size_t)z->csize, *owned, (size_t)z->usize);
        if (s) {
            free(*owned);
            *owned = NULL;
            return s;
        }
        *data = *owned;
#else
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: %s is deflate-compressed (np.savez_compressed), but mynn was built "
                        "without zlib; save it with np.savez", path, name);
#endif
    } else {
        return mn_error(MYNN_ERR_FORMAT, "%s: %s: zip compression method %d is not supported "
                        "(stored or deflate)", path, name, z->method);
    }
    *n = (size_t)z->usize;
    if (crc32_of(*data, *n) != z->crc) {
        free(*owned);
        *owned = NULL;
        return mn_error(MYNN_ERR_FORMAT, "%s: %s: CRC mismatch (damaged archive)", path, name);
    }
    return MYNN_OK;
}

/* ---- datasets --------------------------------------------------------------- */

/* Samples (first dimension) and values per sample of a. */
static void rows_cols(const npy_array *a, size_t *n, size_t *d)
{
    *n = a->ndim ? a->shape[0] : 1;
    *d = 1;
    for (int i = 1; i < a->ndim; i++) *d *= a->shape[i];
}

/* Class index from value v of sample r (column col of a table, or -1). */
static mynn_status class_of(const char *path, const char *what, size_t r, long col, double v,
                            int n_classes, int *lab)
{
    int lim = n_classes > 0 ? n_classes : 65536;
    if (!(v >= 0) || v != floor(v) || v >= lim) {
        if (col >= 0)
            return mn_error(MYNN_ERR_FORMAT, "%s: %s[%zu, %ld] = %g is not a class index in 0..%d",
                            path, what, r, col, v, lim - 1);
        return mn_error(MYNN_ERR_FORMAT, "%s: %s[%zu] = %g is not a class index in 0..%d", path,
                        what, r, v, lim - 1);
    }
    *lab = (int)v;
    return MYNN_OK;
}

typedef struct npy_plan {
    const npy_array *x, *y;     /* x: inputs (and, for a table, the rest) */
    size_t n, dx;               /* rows, values per row of x */
    int lab_col, tgt0, nt;      /* table columns (x == the table), or -1 */
    int y_classes;              /* y holds class indices */
    const char *xname, *yname;
} npy_plan;

/* Fill ds from the plan; rows holding NaN/inf are dropped (skip_nonfinite)
 * or refused. */
static mynn_status build(const char *path, const npy_plan *P, const mynn_load_options *opt,
                         mynn_dataset *ds)
{
    size_t n = P->n, d_in = P->dx, n_out = 0;
    int table = P->lab_col >= 0 || P->tgt0 >= 0;
    if (table) d_in = P->dx - (P->lab_col >= 0 ? 1 : (size_t)P->nt);
    size_t ny = 0, dy = 0;
    if (P->y) rows_cols(P->y, &ny, &dy);
    int classes = (table && P->lab_col >= 0) || (P->y && P->y_classes);
    if (table && P->tgt0 >= 0) n_out = (size_t)P->nt;
    else if (P->y && !classes) n_out = dy;
    if (d_in < 1 || d_in > (1u << 24)) return mn_error(MYNN_ERR_FORMAT, "%s: %zu inputs per sample", path, d_in);
    if (n < 1 || n > INT_MAX) return mn_error(MYNN_ERR_FORMAT, "%s: %zu samples", path, n);
    ds->x = mn_calloc(n * d_in, sizeof(float), "NumPy inputs");
    if (!ds->x) return MYNN_ERR_NOMEM;
    if (classes && !(ds->labels = mn_calloc(n, sizeof(int), "NumPy labels"))) return MYNN_ERR_NOMEM;
    float *yt = NULL;
    if (n_out && !(yt = mn_calloc(n * n_out, sizeof(float), "NumPy targets"))) return MYNN_ERR_NOMEM;
    ds->y = yt;
    size_t rows = 0;
    int max_label = -1;
    for (size_t r = 0; r < n; r++) {
        float *xr = ds->x + rows * d_in, *yr = yt ? yt + rows * n_out : NULL;
        int skip = 0, lab = 0;
        for (size_t j = 0; j < P->dx; j++) {
            double v = npy_get(P->x, r * P->dx + j);
            float f = (float)v;
            if (!isfinite(f)) {
                if (!opt->skip_nonfinite)
                    return mn_error(MYNN_ERR_NUMERIC, "%s: %s[%zu, %zu] is %s (use skip_nonfinite to "
                                    "drop such rows)", path, P->xname, r, j, isnan(f) ? "NaN" : "infinite");
                skip = 1;
                continue;
            }
            if (table && (int)j == P->lab_col) {
                mynn_status s = class_of(path, P->xname, r, (long)j, v, opt->n_classes, &lab);
                if (s) return s;
            } else if (table && P->tgt0 >= 0 && (int)j >= P->tgt0 && (int)j < P->tgt0 + P->nt) {
                yr[j - (size_t)P->tgt0] = f;
            } else {
                *xr++ = f;
            }
        }
        if (P->y && classes) {
            mynn_status s = class_of(path, P->yname, r, -1, npy_get(P->y, r), opt->n_classes, &lab);
            if (s) return s;
        } else if (P->y) {
            for (size_t j = 0; j < dy; j++) {
                float f = (float)npy_get(P->y, r * dy + j);
                if (!isfinite(f)) {
                    if (!opt->skip_nonfinite)
                        return mn_error(MYNN_ERR_NUMERIC, "%s: %s[%zu, %zu] is %s", path, P->yname,
                                        r, j, isnan(f) ? "NaN" : "infinite");
                    skip = 1;
                }
                yr[j] = f;
            }
        }
        if (skip) continue;
        if (ds->labels) {
            ds->labels[rows] = lab;
            if (lab > max_label) max_label = lab;
        }
        rows++;
    }
    if (rows == 0) return mn_error(MYNN_ERR_FORMAT, "%s: no samples left after dropping non-finite rows", path);
    ds->n = (int)rows;
    ds->n_inputs = (int)d_in;
    if (ds->labels) {
        int nc = opt->n_classes > 0 ? opt->n_classes : max_label + 1;
        float *oh = mn_calloc(rows * (size_t)nc, sizeof(float), "NumPy one-hot targets");
        if (!oh) return MYNN_ERR_NOMEM;
        for (size_t i = 0; i < rows; i++) oh[i * (size_t)nc + (size_t)ds->labels[i]] = 1.0f;
        ds->y = oh;
        ds->n_classes = nc;
        ds->n_outputs = nc;
    } else {
        ds->n_outputs = (int)n_out;
    }
    return MYNN_OK;
}

static mynn_status build_new(mynn_dataset **out, const char *path, const npy_plan *P,
                             const mynn_load_options *opt)
{
    mynn_dataset *ds = mn_dataset_new();
    if (!ds) return MYNN_ERR_NOMEM;
    mynn_status s = build(path, P, opt, ds);
    if (s) {
        mynn_dataset_free(ds);
        return s;
    }
    *out = ds;
    return MYNN_OK;
}

mynn_status mn_load_npy(mynn_dataset **out, const char *path, const unsigned char *buf, size_t len,
                        const mynn_load_options *opt)
{
    npy_array a;
    mynn_status s = npy_parse(path, buf, len, &a);
    if (s) return s;
    npy_plan P = {&a, NULL, 0, 0, -1, -1, 0, 0, "x", NULL};
    rows_cols(&a, &P.n, &P.dx);
    if (a.ndim == 1) P.dx = 1;
    if (!opt->no_labels) {
        if (a.ndim != 2)
            return mn_error(MYNN_ERR_FORMAT, "%s: a %d-dimensional array has no label column; "
                            "save x and y in an .npz (np.savez(f, x=x, y=y)) or load with no_labels",
                            path, a.ndim);
        int cols = (int)a.shape[1];
        if (opt->n_targets > 0) {
            P.nt = opt->n_targets;
            P.tgt0 = opt->label_column < 0 ? cols - P.nt : opt->label_column;
            if (P.tgt0 < 0 || P.nt > cols - P.tgt0)
                return mn_error(MYNN_ERR_ARG, "%s: %d target columns from column %d do not fit in %d "
                                "columns", path, P.nt, P.tgt0 + 1, cols);
        } else {
            P.lab_col = opt->label_column < 0 ? cols - 1 : opt->label_column;
            if (P.lab_col >= cols)
                return mn_error(MYNN_ERR_ARG, "%s: label column %d out of range (the array has %d "
                                "columns)", path, P.lab_col + 1, cols);
        }
    }
    return build_new(out, path, &P, opt);
}

mynn_status mn_load_npz(mynn_dataset **out, const char *path, const unsigned char *buf, size_t len,
                        const mynn_load_options *opt)
{
    const char *xn = opt->npz_x ? opt->npz_x : "x", *yn = opt->npz_y ? opt->npz_y : "y";
    char want[2][300];
    if (strlen(xn) > 256 || strlen(yn) > 256)
        return mn_error(MYNN_ERR_ARG, "%s: array names longer than 256 bytes", path);
    snprintf(want[0], sizeof want[0], "%s.npy", xn);
    snprintf(want[1], sizeof want[1], "%s.npy", yn);
    zip_entry z[2];
    int found[2] = {0, 0};
    unsigned char *owned[2] = {NULL, NULL};
    npy_array a[2];
    mynn_status s = MYNN_OK;
    for (int i = 0; i < 2 && !s; i++) {
        if (i == 1 && opt->no_labels) break;
        s = zip_find(path, buf, len, want[i], &z[i], &found[i]);
        if (!s && !found[i] && i == 0)
            s = mn_error(MYNN_ERR_FORMAT, "%s: no array \"%s\" in the archive", path, xn);
        if (s || !found[i]) continue;
        const unsigned char *data = NULL;
        size_t n = 0;
        s = zip_read(path, want[i], buf, len, &z[i], &data, &n, &owned[i]);
        char name[320];   /* messages name the archive and the member */
        snprintf(name, sizeof name, "%.200s: %.100s", path, want[i]);
        if (!s) s = npy_parse(name, data, n, &a[i]);
    }
    npy_plan P = {&a[0], found[1] ? &a[1] : NULL, 0, 0, -1, -1, 0, 0, xn, yn};
    if (!s) {
        rows_cols(&a[0], &P.n, &P.dx);
        if (a[0].ndim == 0) s = mn_error(MYNN_ERR_FORMAT, "%s: %s is a scalar, not samples", path, xn);
    }
    if (!s && P.y) {
        size_t ny, dy;
        rows_cols(P.y, &ny, &dy);
        if (P.y->ndim == 0 || ny != P.n)
            s = mn_error(MYNN_ERR_FORMAT, "%s: %s has %zu samples, %s has %zu", path, xn, P.n, yn,
                         P.y->ndim ? ny : 0);
        P.y_classes = opt->n_targets == 0 && P.y->ndim == 1 && (P.y->kind != 'f' || opt->n_classes > 0);
        if (!s && opt->n_targets > 0 && (size_t)opt->n_targets != dy)
            s = mn_error(MYNN_ERR_ARG, "%s: %s has %zu values per sample, not n_targets %d", path, yn,
                         dy, opt->n_targets);
    }
    if (!s) s = build_new(out, path, &P, opt);
    free(owned[0]);
    free(owned[1]);
    return s;
}
