/* NumPy data: .npy tables and arrays of every supported dtype, .npz
 * archives (stored and deflated) written here byte by byte, files written
 * by NumPy itself when it is installed, and the errors: big-endian,
 * Fortran order, unsupported dtypes, truncation, CRC, limits. */
#include "mynn.h"
#include "check.h"

#include <stdint.h>
#include <unistd.h>
#ifdef MYNN_HAVE_ZLIB
#include <zlib.h>
#endif

static char g_tmp[256];

static const char *tpath(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 512, "%s/%s", g_tmp, name);
    return b;
}

static const char *wbytes(const char *name, const void *p, size_t n)
{
    const char *path = tpath(name);
    FILE *f = fopen(path, "wb");
    if (!f) exit(2);
    fwrite(p, 1, n, f);
    fclose(f);
    return path;
}

static int msg_has(const char *needle) { return strstr(mynn_last_error(), needle) != NULL; }
#define CHECK_MSG(needle) CHECK(msg_has(needle), "message \"%s\" lacks \"%s\"", mynn_last_error(), needle)

/* A .npy image (version 1.0) of descr/shape text and raw data into buf. */
static size_t npy_image(unsigned char *buf, const char *descr, const char *fortran, const char *shape,
                        const void *data, size_t n)
{
    char h[256];
    int hl = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                      fortran, shape);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((hl + pad + 1) & 0xff);
    buf[9] = (unsigned char)((hl + pad + 1) >> 8);
    memcpy(buf + 10, h, (size_t)hl);
    memset(buf + 10 + hl, ' ', (size_t)pad);
    buf[10 + hl + pad] = '\n';
    memcpy(buf + total + pad, data, n);
    return (size_t)(total + pad) + n;
}

static uint32_t crc32_bits(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

typedef struct zmember {
    const char *name;
    const unsigned char *data;   /* uncompressed */
    size_t n;
    const unsigned char *packed; /* as stored (== data for method 0) */
    size_t packed_n;
    int method;
} zmember;

/* A zip archive of the members into out; returns its size. */
static size_t zip_image(unsigned char *out, const zmember *m, int k)
{
    size_t at = 0, offs[4];
    for (int i = 0; i < k; i++) {
        size_t nl = strlen(m[i].name);
        offs[i] = at;
        unsigned char *h = out + at;
        put32(h, 0x04034b50u), put16(h + 4, 20), put16(h + 6, 0), put16(h + 8, (unsigned)m[i].method);
        put32(h + 10, 0), put32(h + 14, crc32_bits(m[i].data, m[i].n));
        put32(h + 18, (uint32_t)m[i].packed_n), put32(h + 22, (uint32_t)m[i].n);
        put16(h + 26, (unsigned)nl), put16(h + 28, 0);
        memcpy(h + 30, m[i].name, nl);
        memcpy(h + 30 + nl, m[i].packed, m[i].packed_n);
        at += 30 + nl + m[i].packed_n;
    }
    size_t cd = at;
    for (int i = 0; i < k; i++) {
        size_t nl = strlen(m[i].name);
        unsigned char *h = out + at;
        memset(h, 0, 46);
        put32(h, 0x02014b50u), put16(h + 4, 20), put16(h + 6, 20), put16(h + 10, (unsigned)m[i].method);
        put32(h + 16, crc32_bits(m[i].data, m[i].n));
        put32(h + 20, (uint32_t)m[i].packed_n), put32(h + 24, (uint32_t)m[i].n);
        put16(h + 28, (unsigned)nl), put32(h + 42, (uint32_t)offs[i]);
        memcpy(h + 46, m[i].name, nl);
        at += 46 + nl;
    }
    unsigned char *e = out + at;
    memset(e, 0, 22);
    put32(e, 0x06054b50u), put16(e + 8, (unsigned)k), put16(e + 10, (unsigned)k);
    put32(e + 12, (uint32_t)(at - cd)), put32(e + 16, (uint32_t)cd);
    return at + 22;
}

static mynn_status load(mynn_dataset **ds, const char *path, const mynn_load_options *o)
{
    *ds = NULL;
    return mynn_dataset_load(ds, path, o, 0);
}

static unsigned char g_buf[1 << 16], g_zip[1 << 17];

static void test_npy_table(void)
{
    /* float64 table: two inputs, the class last. */
    const double t[4][3] = {{0.5, -1, 0}, {1.5, 2, 1}, {2.5, 3.25, 2}, {-4, 5, 1}};
    size_t n = npy_image(g_buf, "<f8", "False", "(4, 3)", t, sizeof t);
    mynn_dataset *ds;
    CHECK_OK(load(&ds, wbytes("t.npy", g_buf, n), NULL));
    if (ds) {
        CHECK(ds->n == 4 && ds->n_inputs == 2 && ds->n_classes == 3 && ds->x[2] == 1.5f &&
                  ds->x[7] == 5 && ds->labels[2] == 2 && ds->labels[3] == 1,
              "table: n %d in %d k %d", ds->n, ds->n_inputs, ds->n_classes);
        mynn_dataset_free(ds);
    }
    mynn_load_options o;
    mynn_load_options_default(&o);
    o.n_targets = 1;
    o.label_column = 0;
    CHECK_OK(load(&ds, tpath("t.npy"), &o));
    if (ds) {
        CHECK(ds->n_inputs == 2 && ds->n_outputs == 1 && ds->n_classes == 0 && ds->y[1] == 1.5f &&
                  ds->x[0] == -1 && ds->x[1] == 0,
              "regression column 0");
        mynn_dataset_free(ds);
    }
    /* Every integer dtype, sign-extended. */
    static const struct { const char *descr; int size; } types[] = {
        {"|i1", 1}, {"|u1", 1}, {"<i2", 2}, {"<u2", 2}, {"<i4", 4}, {"<u4", 4}, {"<i8", 8}, {"<u8", 8}, {"|b1", 1}};
    mynn_load_options_default(&o);
    o.no_labels = 1;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        unsigned char raw[6 * 8];
        int64_t vals[6] = {0, 1, 2, -3, 100, -128};
        int is_signed = types[i].descr[1] == 'i', is_bool = types[i].descr[1] == 'b';
        for (int j = 0; j < 6; j++) {
            int64_t v = is_bool ? (j & 1) : is_signed ? vals[j] : (vals[j] < 0 ? -vals[j] : vals[j]);
            for (int b = 0; b < types[i].size; b++) raw[j * types[i].size + b] = (unsigned char)((uint64_t)v >> (8 * b));
        }
        n = npy_image(g_buf, types[i].descr, "False", "(3, 2)", raw, (size_t)(6 * types[i].size));
        CHECK_OK(load(&ds, wbytes("int.npy", g_buf, n), &o));
        if (!ds) continue;
        int ok = ds->n == 3 && ds->n_inputs == 2;
        for (int j = 0; ok && j < 6; j++) {
            double want = is_bool ? (j & 1) : is_signed ? (double)vals[j] : fabs((double)vals[j]);
            ok = ds->x[j] == (float)want;
        }
        CHECK(ok, "dtype %s", types[i].descr);
        mynn_dataset_free(ds);
    }
    /* A 3-D array is samples of flattened values; a 1-D one a column. */
    const float img[2][2][3] = {{{1, 2, 3}, {4, 5, 6}}, {{7, 8, 9}, {10, 11, 12}}};
    n = npy_image(g_buf, "<f4", "False", "(2, 2, 3)", img, sizeof img);
    CHECK_OK(load(&ds, wbytes("img.npy", g_buf, n), &o));
    if (ds) {
        CHECK(ds->n == 2 && ds->n_inputs == 6 && ds->x[11] == 12, "3-D");
        mynn_dataset_free(ds);
    }
    CHECK(load(&ds, tpath("img.npy"), NULL) == MYNN_ERR_FORMAT, "3-D with labels");
    CHECK_MSG("a 3-dimensional array has no label column");
    /* Fortran order is refused unless it cannot matter (one column). */
    n = npy_image(g_buf, "<f4", "True", "(2, 3)", img, 24);
    CHECK(load(&ds, wbytes("f.npy", g_buf, n), &o) == MYNN_ERR_FORMAT, "fortran");
    CHECK_MSG("f.npy: Fortran-ordered array; save it in C order");
    n = npy_image(g_buf, "<f4", "True", "(6,)", img, 24);
    CHECK_OK(load(&ds, wbytes("f1.npy", g_buf, n), &o));
    if (ds) {
        CHECK(ds->n == 6 && ds->n_inputs == 1, "1-D Fortran");
        mynn_dataset_free(ds);
    }
}

static void test_npy_errors(void)
{
    const float v[4] = {1, 2, 3, 4};
    mynn_dataset *ds;
    mynn_load_options o;
    mynn_load_options_default(&o);
    o.no_labels = 1;
    size_t n = npy_image(g_buf, ">f4", "False", "(2, 2)", v, 16);
    CHECK(load(&ds, wbytes("be.npy", g_buf, n), &o) == MYNN_ERR_FORMAT, "big-endian");
    CHECK_MSG("be.npy: big-endian data (dtype '>f4'); save it little-endian");
    n = npy_image(g_buf, "<c8", "False", "(2,)", v, 16);
    CHECK(load(&ds, wbytes("c.npy", g_buf, n), &o) == MYNN_ERR_FORMAT, "complex");
    CHECK_MSG("dtype '<c8' is not supported");
    n = npy_image(g_buf, "<f4", "False", "(2, 3)", v, 16);
    CHECK(load(&ds, wbytes("short.npy", g_buf, n), &o) == MYNN_ERR_FORMAT, "truncated data");
    CHECK_MSG("the header claims 24 bytes of data, the file has 16");
    n = npy_image(g_buf, "<f4", "False", "(100000, 100000)", v, 16);
    CHECK(load(&ds, wbytes("huge.npy", g_buf, n), &o) == MYNN_ERR_NOMEM, "over the element limit");
    CHECK_MSG("elements (the limit)");
    n = npy_image(g_buf, "<f4", "False", "(2, 2)", v, 16);
    g_buf[8] = 0xff, g_buf[9] = 0x7f;
    CHECK(load(&ds, wbytes("hl.npy", g_buf, n), &o) == MYNN_ERR_FORMAT, "header past the end");
    const float nan4[4] = {1, NAN, 3, 4};
    n = npy_image(g_buf, "<f4", "False", "(2, 2)", nan4, 16);
    CHECK(load(&ds, wbytes("nan.npy", g_buf, n), &o) == MYNN_ERR_NUMERIC, "NaN");
    CHECK_MSG("nan.npy: x[0, 1] is NaN (use skip_nonfinite");
    o.skip_nonfinite = 1;
    CHECK_OK(load(&ds, tpath("nan.npy"), &o));
    if (ds) {
        CHECK(ds->n == 1 && ds->x[0] == 3, "NaN row dropped");
        mynn_dataset_free(ds);
    }
    const float frac[4] = {1, 0.5f, 3, 1};
    n = npy_image(g_buf, "<f4", "False", "(2, 2)", frac, 16);
    CHECK(load(&ds, wbytes("frac.npy", g_buf, n), NULL) == MYNN_ERR_FORMAT, "fractional label");
    CHECK_MSG("frac.npy: x[0, 1] = 0.5 is not a class index in 0..65535");
}

static void test_npz(void)
{
    const float x[3][2] = {{1, 2}, {3, 4}, {5, 6}};
    const int64_t y[3] = {2, 0, 1};
    static unsigned char xi[4096], yi[4096];
    size_t xn = npy_image(xi, "<f4", "False", "(3, 2)", x, sizeof x);
    size_t yn = npy_image(yi, "<i8", "False", "(3,)", y, sizeof y);
    zmember m[2] = {{"x.npy", xi, xn, xi, xn, 0}, {"y.npy", yi, yn, yi, yn, 0}};
    size_t zn = zip_image(g_zip, m, 2);
    mynn_dataset *ds;
    CHECK_OK(load(&ds, wbytes("s.npz", g_zip, zn), NULL));
    if (ds) {
        CHECK(ds->n == 3 && ds->n_inputs == 2 && ds->n_classes == 3 && ds->x[5] == 6 && ds->labels[0] == 2 &&
                  ds->y[0 * 3 + 2] == 1,
              "stored npz");
        mynn_dataset_free(ds);
    }
    /* Other names; no y: inputs only. */
    zmember m2[2] = {{"feat.npy", xi, xn, xi, xn, 0}, {"target.npy", yi, yn, yi, yn, 0}};
    zn = zip_image(g_zip, m2, 2);
    mynn_load_options o;
    mynn_load_options_default(&o);
    o.npz_x = "feat";
    o.npz_y = "target";
    CHECK_OK(load(&ds, wbytes("named.npz", g_zip, zn), &o));
    if (ds) {
        CHECK(ds->n == 3 && ds->n_classes == 3, "named arrays");
        mynn_dataset_free(ds);
    }
    CHECK(load(&ds, tpath("named.npz"), NULL) == MYNN_ERR_FORMAT, "no x");
    CHECK_MSG("named.npz: no array \"x\" in the archive");
    /* Float y: regression targets. */
    const double yr[3] = {0.5, -1, 2};
    yn = npy_image(yi, "<f8", "False", "(3,)", yr, sizeof yr);
    zmember m3[2] = {{"x.npy", xi, xn, xi, xn, 0}, {"y.npy", yi, yn, yi, yn, 0}};
    zn = zip_image(g_zip, m3, 2);
    CHECK_OK(load(&ds, wbytes("r.npz", g_zip, zn), NULL));
    if (ds) {
        CHECK(ds->n_outputs == 1 && ds->n_classes == 0 && ds->y[1] == -1, "regression y");
        mynn_dataset_free(ds);
    }
    /* A damaged byte: the CRC says so. */
    g_zip[40] ^= 1;
    CHECK(load(&ds, wbytes("crc.npz", g_zip, zn), NULL) == MYNN_ERR_FORMAT, "crc");
    CHECK_MSG("CRC mismatch");
    CHECK(load(&ds, wbytes("cut.npz", g_zip, zn / 2), NULL) == MYNN_ERR_FORMAT, "truncated zip");
#ifdef MYNN_HAVE_ZLIB
    /* Deflated members, as np.savez_compressed writes. */
    static unsigned char packed[2][4096];
    size_t pn[2];
    const unsigned char *src[2] = {xi, yi};
    size_t sn[2] = {xn, yn};
    for (int i = 0; i < 2; i++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)(uintptr_t)src[i];
        z.avail_in = (uInt)sn[i];
        z.next_out = packed[i];
        z.avail_out = sizeof packed[i];
        deflate(&z, Z_FINISH);
        pn[i] = sizeof packed[i] - z.avail_out;
        deflateEnd(&z);
    }
    zmember md[2] = {{"x.npy", xi, xn, packed[0], pn[0], 8}, {"y.npy", yi, yn, packed[1], pn[1], 8}};
    zn = zip_image(g_zip, md, 2);
    CHECK_OK(load(&ds, wbytes("d.npz", g_zip, zn), NULL));
    if (ds) {
        CHECK(ds->n == 3 && ds->n_outputs == 1 && ds->y[2] == 2 && ds->x[3] == 4, "deflated npz");
        mynn_dataset_free(ds);
    }
#else
    printf("  (built without zlib: deflated .npz gives an error)\n");
#endif
}

/* Files written by NumPy itself, when it is installed. */
static void test_numpy_written(void)
{
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) SKIP("python3-numpy absent");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && /usr/bin/python3 -c \"import numpy as np\n"
             "x = (np.arange(24, dtype=np.float64).reshape(6, 4) / 4 - 1)\n"
             "y = np.array([0, 1, 2, 0, 1, 2], dtype=np.int32)\n"
             "np.savez('n.npz', x=x, y=y)\n"
             "np.savez_compressed('nc.npz', x=x.astype(np.float32), y=y.astype(np.uint8))\n"
             "np.save('n.npy', np.hstack([x, y[:, None]]))\n\"",
             g_tmp);
    CHECK(system(cmd) == 0, "numpy script");
    const char *files[] = {"n.npz", "nc.npz", "n.npy"};
    for (int f = 0; f < 3; f++) {
        mynn_dataset *ds;
#ifndef MYNN_HAVE_ZLIB
        if (f == 1) {
            CHECK(load(&ds, tpath(files[f]), NULL) == MYNN_ERR_FORMAT, "no zlib");
            CHECK_MSG("built without zlib; save it with np.savez");
            continue;
        }
#endif
        CHECK_OK(load(&ds, tpath(files[f]), NULL));
        if (!ds) continue;
        int ok = ds->n == 6 && ds->n_inputs == 4 && ds->n_classes == 3;
        for (int i = 0; ok && i < 24; i++) ok = ds->x[i] == (float)(i / 4.0 - 1);
        for (int i = 0; ok && i < 6; i++) ok = ds->labels[i] == i % 3;
        CHECK(ok, "%s: n %d inputs %d classes %d", files[f], ds->n, ds->n_inputs, ds->n_classes);
        mynn_dataset_free(ds);
    }
}

int main(void)
{
    CK_BEGIN("test_npy");
    snprintf(g_tmp, sizeof g_tmp, "/tmp/mynn_npy_XXXXXX");
    if (!mkdtemp(g_tmp)) return 2;
    RUN(test_npy_table);
    RUN(test_npy_errors);
    RUN(test_npz);
    RUN(test_numpy_written);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return CK_END();
}
