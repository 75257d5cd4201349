/* Datasets: CSV, FANN, IDX (plain and gzip), autodetection, errors naming
 * file/line/column, locale independence, split; number parsing/formatting. */
#include "mynn.h"
#include "io/io.h"
#include "check.h"

#include <float.h>
#include <locale.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef MYNN_HAVE_ZLIB
#include <zlib.h>
#endif

static char g_tmp[256];

/* A path in the temporary folder (rotating buffers). */
static const char *tpath(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 512, "%s/%s", g_tmp, name);
    return b;
}

static const char *wfile(const char *name, const char *content, size_t len)
{
    const char *p = tpath(name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(2);
    }
    fwrite(content, 1, len, f);
    fclose(f);
    return p;
}
#define WTEXT(name, s) wfile((name), (s), strlen(s))

static const char *fixture(const char *name)
{
    static char b[512];
    const char *dir = getenv("MYNN_TEST_DATA");
    struct stat st;
    if (!dir) dir = stat("tests/data", &st) == 0 ? "tests/data" : NULL;
    if (!dir) {
        /* Next to this source file. */
        static char d[400];
        snprintf(d, sizeof d, "%s", __FILE__);
        char *s = strrchr(d, '/');
        if (s) {
            strcpy(s, "/data");
            dir = d;
        } else {
            dir = "data";
        }
    }
    snprintf(b, sizeof b, "%s/%s", dir, name);
    return b;
}

static int msg_has(const char *needle) { return strstr(mynn_last_error(), needle) != NULL; }
#define CHECK_MSG(needle) CHECK(msg_has(needle), "message \"%s\" lacks \"%s\"", mynn_last_error(), needle)

static mynn_status load(mynn_dataset **ds, const char *path, const mynn_load_options *o)
{
    *ds = NULL;
    return mynn_dataset_load(ds, path, o, 0);
}

/* ---- numbers ------------------------------------------------------------- */

static void test_parse_known(void)
{
    float f;
    double d;
    const char *e;
    CHECK(mn_parse_float("1.5", &e, &f) == 0 && f == 1.5f && *e == 0, "1.5");
    CHECK(mn_parse_float("-0.25e2,", &e, &f) == 0 && f == -25.0f && *e == ',', "-0.25e2");
    CHECK(mn_parse_float(".5", &e, &f) == 0 && f == 0.5f, ".5");
    CHECK(mn_parse_float("5.", &e, &f) == 0 && f == 5.0f && *e == 0, "5.");
    CHECK(mn_parse_float("+7E-1", &e, &f) == 0 && f == 0.7f, "+7E-1");
    CHECK(mn_parse_float("0.1", &e, &f) == 0 && f == 0.1f, "0.1");
    CHECK(mn_parse_double("0.1", &e, &d) == 0 && d == 0.1, "0.1 double");
    CHECK(mn_parse_float("1e", &e, &f) == 0 && f == 1.0f && *e == 'e', "1e stops at e");
    CHECK(mn_parse_float("abc", &e, &f) == -1 && *e == 'a', "abc");
    CHECK(mn_parse_float(".", &e, &f) == -1, ".");
    CHECK(mn_parse_float("-", &e, &f) == -1, "-");
    CHECK(mn_parse_float("1,5", &e, &f) == 0 && f == 1.0f && *e == ',', "1,5 is 1 then ,");
    CHECK(mn_parse_float("nan", &e, &f) == 1 && isnan(f), "nan");
    CHECK(mn_parse_float("-Infinity", &e, &f) == 1 && isinf(f) && f < 0 && *e == 0, "-Infinity");
    CHECK(mn_parse_float("INF", &e, &f) == 1 && isinf(f), "INF");
    CHECK(mn_parse_float("1e39", &e, &f) == 1 && isinf(f), "1e39 overflows float");
    CHECK(mn_parse_double("1e39", &e, &d) == 0 && d == 1e39, "1e39 double");
    CHECK(mn_parse_float("1e-50", &e, &f) == 0 && f == 0.0f, "1e-50 underflows");
    CHECK(mn_parse_float("-0", &e, &f) == 0 && f == 0.0f && signbit(f), "-0");
    CHECK(mn_parse_double("123456789012345678901234567890", &e, &d) == 0 &&
              d == 123456789012345678901234567890.0,
          "long mantissa");
    CHECK(mn_parse_double("0.000000000000000000000000000001234", &e, &d) == 0 && d == 1.234e-30,
          "small");
    CHECK(mn_parse_float("3.4028235e38", &e, &f) == 0 && f == FLT_MAX, "FLT_MAX");
    CHECK(mn_parse_float("1.4e-45", &e, &f) == 0 && f > 0, "denormal min");
    /* The double-rounding trap: exactly half-way between two floats. */
    CHECK(mn_parse_float("16777217", &e, &f) == 0 && f == 16777216.0f, "tie to even");
    CHECK(mn_parse_float("16777219", &e, &f) == 0 && f == 16777220.0f, "tie to even up");
    long long ll;
    CHECK(mn_parse_ll("-42x", &e, &ll) == 0 && ll == -42 && *e == 'x', "ll");
    CHECK(mn_parse_ll("99999999999999999999", &e, &ll) == -1, "ll overflow");
    CHECK(mn_parse_float_str("  2.5\t", &f) == 0 && f == 2.5f, "str");
    CHECK(mn_parse_float_str("2.5x", &f) == -1, "str trailing");
    CHECK(mn_parse_double_str("", &d) == -1, "str empty");
}

static void test_parse_vs_strtod(void)
{
    /* Random decimal strings: same result as the C library (C locale). */
    mynn_rng r;
    mynn_rng_seed(&r, 7);
    char s[64];
    int bad = 0, n = ck_sanitized() ? 20000 : 200000;
    for (int i = 0; i < n && bad < 5; i++) {
        int nd = 1 + (int)mynn_rng_below(&r, 20), dot = (int)mynn_rng_below(&r, (uint64_t)nd + 1);
        int ex = (int)mynn_rng_below(&r, 90) - 45;
        char *p = s;
        if (mynn_rng_below(&r, 2)) *p++ = '-';
        for (int k = 0; k < nd; k++) {
            if (k == dot && k > 0) *p++ = '.';
            *p++ = (char)('0' + mynn_rng_below(&r, 10));
        }
        if (mynn_rng_below(&r, 2)) p += sprintf(p, "e%d", ex);
        *p = 0;
        float f, rf = strtof(s, NULL);
        double d, rd = strtod(s, NULL);
        mn_parse_float(s, NULL, &f);
        mn_parse_double(s, NULL, &d);
        if (memcmp(&f, &rf, sizeof f) != 0 || memcmp(&d, &rd, sizeof d) != 0) {
            bad++;
            CHECK(0, "%s: float %.9g vs %.9g, double %.17g vs %.17g", s, f, rf, d, rd);
        }
    }
}

static void test_format(void)
{
    char b[MN_NUM_BUFSZ];
    struct {
        float v;
        const char *s;
    } k[] = {{0.1f, "0.1"},  {1.5f, "1.5"},      {100.0f, "100"},   {1e30f, "1e+30"},
             {-2.5e-7f, "-2.5e-07"}, {0.0f, "0"}, {-0.0f, "-0"},  {123456.0f, "123456"},
             {0.001f, "0.001"}, {16777216.0f, "16777216"}, {3.0e-5f, "3e-05"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        mn_format_float(b, sizeof b, k[i].v);
        CHECK(strcmp(b, k[i].s) == 0, "format %g: \"%s\", expected \"%s\"", (double)k[i].v, b,
              k[i].s);
    }
    mn_format_float(b, sizeof b, NAN);
    CHECK(strcmp(b, "nan") == 0, "%s", b);
    mn_format_float(b, sizeof b, -INFINITY);
    CHECK(strcmp(b, "-inf") == 0, "%s", b);
    mn_format_double(b, sizeof b, 0.1);
    CHECK(strcmp(b, "0.1") == 0, "%s", b);
    mn_format_double(b, sizeof b, 1.0 / 3.0);
    CHECK(strcmp(b, "0.3333333333333333") == 0, "%s", b);
    char small[4];
    int n = mn_format_float(small, sizeof small, 123456.0f);
    CHECK(n == 6 && strcmp(small, "123") == 0, "truncation: %d \"%s\"", n, small);

    /* Round trip of random floats and doubles (every bit pattern class). */
    mynn_rng r;
    mynn_rng_seed(&r, 11);
    int bad = 0, count = ck_sanitized() ? 20000 : 200000;
    for (int i = 0; i < count && bad < 5; i++) {
        uint64_t bits = mynn_rng_next(&r);
        uint32_t fb = (uint32_t)bits;
        float f, g;
        double d, e;
        memcpy(&f, &fb, sizeof f);
        memcpy(&d, &bits, sizeof d);
        if (isfinite(f)) {
            int len = mn_format_float(b, sizeof b, f);
            if (len >= (int)sizeof b || mn_parse_float(b, NULL, &g) != 0 ||
                memcmp(&f, &g, sizeof f) != 0 || strlen(b) > 15) {
                bad++;
                CHECK(0, "float %.9g -> \"%s\"", (double)f, b);
            }
        }
        if (isfinite(d)) {
            int len = mn_format_double(b, sizeof b, d);
            if (len >= (int)sizeof b || mn_parse_double(b, NULL, &e) != 0 ||
                memcmp(&d, &e, sizeof d) != 0) {
                bad++;
                CHECK(0, "double %.17g -> \"%s\"", d, b);
            }
        }
    }
}

/* ---- CSV ----------------------------------------------------------------- */

static void test_csv_fixture(void)
{
    mynn_dataset *ds;
    mynn_status s = load(&ds, fixture("small.csv"), NULL);
    CHECK_OK(s);
    if (s != MYNN_OK) return;
    CHECK(ds->n == 4 && ds->n_inputs == 2 && ds->n_classes == 3 && ds->n_outputs == 3,
          "n %d in %d classes %d out %d", ds->n, ds->n_inputs, ds->n_classes, ds->n_outputs);
    CHECK(ds->owned == 1, "owned");
    CHECK(ds->x[0] == 5.1f && ds->x[1] == 3.5f && ds->x[6] == 7.7f && ds->x[7] == 2.6f,
          "x %g %g %g %g", ds->x[0], ds->x[1], ds->x[6], ds->x[7]);
    CHECK(ds->labels[0] == 0 && ds->labels[2] == 1 && ds->labels[3] == 2, "labels");
    CHECK(ds->y[0] == 1 && ds->y[1] == 0 && ds->y[2 * 3 + 1] == 1 && ds->y[3 * 3 + 2] == 1,
          "one-hot");
    mynn_dataset_free(ds);
}

static void test_csv_variants(void)
{
    mynn_dataset *ds;
    mynn_load_options o;

    /* No header, semicolons detected, label in column 0, n_classes given. */
    mynn_load_options_default(&o);
    CHECK(o.label_column == -1 && o.header == -1 && o.separator == ',' && o.n_targets == 0 &&
              o.n_classes == 0 && o.skip_nonfinite == 0 && o.no_labels == 0,
          "defaults");
    o.separator = 0;
    o.label_column = 0;
    o.n_classes = 4;
    CHECK_OK(load(&ds, WTEXT("semi.csv", "1;0.5;2\n3;-1e-1;4\n\n"), &o));
    if (ds) {
        CHECK(ds->n == 2 && ds->n_inputs == 2 && ds->n_classes == 4, "semi shape");
        CHECK(ds->labels[0] == 1 && ds->labels[1] == 3 && ds->x[0] == 0.5f && ds->x[1] == 2.0f &&
                  ds->x[2] == -0.1f,
              "semi values");
        CHECK(ds->y[0 * 4 + 1] == 1 && ds->y[1 * 4 + 3] == 1, "semi one-hot");
        mynn_dataset_free(ds);
    }

    /* Tabs, header forced, regression: last 2 columns are targets. */
    mynn_load_options_default(&o);
    o.separator = 0;
    o.header = 1;
    o.n_targets = 2;
    CHECK_OK(load(&ds, WTEXT("tab.tsv", "1\t2\t3\t4\n1\t2\t3\t4\n5\t6\t7\t8"), &o));
    if (ds) {
        CHECK(ds->n == 2 && ds->n_inputs == 2 && ds->n_outputs == 2 && ds->n_classes == 0 &&
                  !ds->labels,
              "tab shape");
        CHECK(ds->x[2] == 5 && ds->x[3] == 6 && ds->y[2] == 7 && ds->y[3] == 8, "tab values");
        mynn_dataset_free(ds);
    }

    /* Regression targets in the middle. */
    mynn_load_options_default(&o);
    o.n_targets = 1;
    o.label_column = 1;
    CHECK_OK(load(&ds, WTEXT("mid.csv", "1, 2.5 ,3\n4,5,6\n"), &o));
    if (ds) {
        CHECK(ds->n == 2 && ds->n_inputs == 2 && ds->n_outputs == 1, "mid shape");
        CHECK(ds->x[0] == 1 && ds->x[1] == 3 && ds->y[0] == 2.5f && ds->y[1] == 5, "mid values");
        mynn_dataset_free(ds);
    }

    /* No labels: every column is an input; blank separator. */
    mynn_load_options_default(&o);
    o.no_labels = 1;
    o.separator = 0;
    CHECK_OK(load(&ds, WTEXT("ws.txt", "  1  2 3\n4 5   6  \n"), &o));
    if (ds) {
        CHECK(ds->n == 2 && ds->n_inputs == 3 && ds->n_outputs == 0 && !ds->y && !ds->labels,
              "ws shape");
        CHECK(ds->x[0] == 1 && ds->x[2] == 3 && ds->x[5] == 6, "ws values");
        mynn_dataset_free(ds);
    }

    /* skip_nonfinite drops the row. */
    mynn_load_options_default(&o);
    o.skip_nonfinite = 1;
    CHECK_OK(load(&ds, WTEXT("nf.csv", "a,b,c\n1,2,0\nnan,3,1\n4,inf,1\n5,6,1\n"), &o));
    if (ds) {
        CHECK(ds->n == 2 && ds->x[2] == 5 && ds->labels[1] == 1 && ds->n_classes == 2,
              "skip: n %d", ds->n);
        mynn_dataset_free(ds);
    }

    /* An integral label written as 2.0 is fine; n_classes from the max. */
    CHECK_OK(load(&ds, WTEXT("lab.csv", "0.5,2.0\n0.25,0\n"), NULL));
    if (ds) {
        CHECK(ds->n_classes == 3 && ds->labels[0] == 2, "label 2.0");
        mynn_dataset_free(ds);
    }
}

static void test_csv_errors(void)
{
    mynn_dataset *ds = (mynn_dataset *)1;
    mynn_load_options o;
    mynn_status s;

    s = mynn_dataset_load(&ds, tpath("no_such.csv"), NULL, 0);
    CHECK(s == MYNN_ERR_IO && ds == NULL, "missing: %s", mynn_status_name(s));
    CHECK_MSG("cannot open ");
    CHECK_MSG("no_such.csv: No such file or directory");

    s = load(&ds, WTEXT("empty.csv", ""), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "empty: %s", mynn_status_name(s));
    CHECK_MSG("empty.csv: empty file");
    s = load(&ds, WTEXT("blank.csv", "\n \r\n\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "blank: %s", mynn_status_name(s));
    CHECK_MSG("blank.csv: empty file");
    s = load(&ds, WTEXT("hdr.csv", "a,b,c\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "header only");
    CHECK_MSG("hdr.csv: no data rows");

    /* A string in an input column: an error with categorical "none" (the
     * default "auto" one-hot encodes it: test_encoding_categorical). */
    mynn_load_options_default(&o);
    o.categorical = "none";
    s = load(&ds, WTEXT("data.csv", "x,y,z\n1,2,0\n3,abc,1\n"), &o);
    CHECK(s == MYNN_ERR_FORMAT, "non-number: %s", mynn_status_name(s));
    CHECK_MSG("data.csv:3: column 2: \"abc\" is not a number");

    s = load(&ds, WTEXT("empty_cell.csv", "1,2,0\n3,,1\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "empty cell");
    CHECK_MSG("empty_cell.csv:2: column 2: empty cell");

    s = load(&ds, WTEXT("rag.csv", "1,2,3,0\r\n1,2,3,1\r\n\r\n1,2,3,4,5\r\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "ragged long");
    CHECK_MSG("rag.csv:4: 5 columns, expected 4");
    s = load(&ds, WTEXT("rag2.csv", "1,2,3,0\n1,2,3,1\n1,2,3\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "ragged short");
    CHECK_MSG("rag2.csv:3: 3 columns, expected 4");
    s = load(&ds, WTEXT("rag3.csv", "1,2,0\n1,2,3,\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "trailing separator");
    CHECK_MSG("rag3.csv:2: 4 columns, expected 3");

    mynn_load_options_default(&o);
    o.n_classes = 3;
    s = load(&ds, WTEXT("range.csv", "1,2,0\n1,2,2\n1,2,3\n"), &o);
    CHECK(s == MYNN_ERR_FORMAT, "label range: %s", mynn_status_name(s));
    CHECK_MSG("range.csv:3: column 3: label 3 out of range (n_classes 3)");

    s = load(&ds, WTEXT("frac.csv", "1,2,0\n1,2,1.5\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "non-integer label");
    CHECK_MSG("frac.csv:2: column 3: label \"1.5\"");
    s = load(&ds, WTEXT("neg.csv", "1,2,0\n1,2,-1\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "negative label");
    CHECK_MSG("neg.csv:2: column 3: label \"-1\"");

    s = load(&ds, WTEXT("nan.csv", "a,b,c\n1,2,0\n\n1,NaN,1\n"), NULL);
    CHECK(s == MYNN_ERR_NUMERIC, "nan: %s", mynn_status_name(s));
    CHECK_MSG("nan.csv:4: column 2: non-finite value \"NaN\"");

    s = load(&ds, WTEXT("allnan.csv", "nan,0\n"), &(mynn_load_options){.label_column = -1, .header = 0, .separator = ',', .skip_nonfinite = 1});
    CHECK(s == MYNN_ERR_FORMAT, "all rows dropped");
    CHECK_MSG("allnan.csv: no data rows left");

    mynn_load_options_default(&o);
    o.label_column = 5;
    s = load(&ds, WTEXT("col.csv", "1,2,0\n"), &o);
    CHECK(s == MYNN_ERR_ARG, "label column out of range: %s", mynn_status_name(s));
    CHECK_MSG("col.csv: label column 6 out of range");

    s = load(&ds, WTEXT("one.csv", "1\n2\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "one column");
    CHECK_MSG("no input columns");

    CHECK(mynn_dataset_load(NULL, "x", NULL, 0) == MYNN_ERR_NULL, "NULL out");
    CHECK(mynn_dataset_load(&ds, NULL, NULL, 0) == MYNN_ERR_NULL, "NULL path");
}

static void test_csv_speed(void)
{
    /* Fashion-MNIST-sized CSV: 60000 x 785 small integers (~ 110 MB). */
    int rows = ck_sanitized() ? 3000 : 60000, cols = 785;
    const char *p = tpath("big.csv");
    FILE *f = fopen(p, "wb");
    if (!f) SKIP("cannot write %s", p);
    char *line = malloc((size_t)cols * 4 + 2);
    mynn_rng r;
    mynn_rng_seed(&r, 3);
    for (int i = 0; i < rows; i++) {
        char *q = line;
        for (int j = 0; j < cols; j++) {
            unsigned v = j == cols - 1 ? (unsigned)(i % 10) : (unsigned)mynn_rng_below(&r, 256);
            if (j < cols - 1 && (j & 3)) v = 0; /* sparse, like images */
            if (v >= 100) *q++ = (char)('0' + v / 100);
            if (v >= 10) *q++ = (char)('0' + v / 10 % 10);
            *q++ = (char)('0' + v % 10);
            *q++ = j == cols - 1 ? '\n' : ',';
        }
        fwrite(line, 1, (size_t)(q - line), f);
    }
    free(line);
    fclose(f);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mynn_dataset *ds;
    mynn_status s = load(&ds, p, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK_OK(s);
    if (ds) {
        CHECK(ds->n == rows && ds->n_inputs == 784 && ds->n_classes == 10, "big shape");
        mynn_dataset_free(ds);
    }
    printf("  %d x %d CSV loaded in %.2f s\n", rows, cols, sec);
    if (!ck_sanitized() && !ck_emulated()) CHECK(sec < 6.0, "CSV load took %.2f s", sec);
    remove(p);
}

static void test_locale(void)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                        "fr_FR.utf8", "de_DE", "fr_FR"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++)
        if (setlocale(LC_ALL, names[i])) got = names[i];
    if (!got) SKIP("no comma-decimal locale installed (localedef -i de_DE -f UTF-8 de_DE.UTF-8)");
    char b[64];
    snprintf(b, sizeof b, "%.1f", 1.5);
    if (strcmp(b, "1,5") != 0) {
        setlocale(LC_ALL, "C");
        SKIP("locale %s does not use a decimal comma", got);
    }
    mynn_dataset *ds;
    CHECK_OK(load(&ds, WTEXT("loc.csv", "1.5,0.25,1\n-2.75,1e-1,0\n"), NULL));
    if (ds) {
        CHECK(ds->x[0] == 1.5f && ds->x[1] == 0.25f && ds->x[2] == -2.75f && ds->x[3] == 0.1f,
              "values under %s: %g %g %g %g", got, ds->x[0], ds->x[1], ds->x[2], ds->x[3]);
        mynn_dataset_free(ds);
    }
    CHECK_OK(load(&ds, WTEXT("loc.data", "1 1 1\n1.5\n2.5\n"), NULL));
    if (ds) {
        CHECK(ds->x[0] == 1.5f && ds->y[0] == 2.5f, "FANN under %s", got);
        mynn_dataset_free(ds);
    }
    mn_format_float(b, sizeof b, 1.5f);
    CHECK(strcmp(b, "1.5") == 0, "format under %s: \"%s\"", got, b);
    mn_format_double(b, sizeof b, -2.5e-7);
    CHECK(strcmp(b, "-2.5e-07") == 0, "format under %s: \"%s\"", got, b);
    float f;
    CHECK(mn_parse_float_str("0.125", &f) == 0 && f == 0.125f, "parse under %s", got);
    setlocale(LC_ALL, "C");
}

/* ---- FANN ---------------------------------------------------------------- */

static void test_fann(void)
{
    mynn_dataset *ds;
    mynn_status s = load(&ds, fixture("xor.data"), NULL);
    CHECK_OK(s);
    if (ds) {
        CHECK(ds->n == 4 && ds->n_inputs == 2 && ds->n_outputs == 1 && ds->n_classes == 0 &&
                  !ds->labels,
              "xor shape");
        CHECK(ds->x[2] == -1 && ds->x[3] == 1 && ds->y[0] == -1 && ds->y[1] == 1 && ds->y[3] == -1,
              "xor values");
        mynn_dataset_free(ds);
    }

    /* One-hot outputs ({-1,1}) give classes; CRLF, blank lines. */
    CHECK_OK(load(&ds, WTEXT("oh.data", "3 2 3\r\n0.5 1\r\n-1 1 -1\r\n\r\n2 3\r\n1 -1 -1\r\n"
                                         "4 5\r\n-1 -1 1\r\n"), NULL));
    if (ds) {
        CHECK(ds->n == 3 && ds->n_classes == 3 && ds->n_outputs == 3 && ds->labels, "oh shape");
        if (ds->labels)
            CHECK(ds->labels[0] == 1 && ds->labels[1] == 0 && ds->labels[2] == 2, "oh labels");
        CHECK(ds->y[0] == -1 && ds->y[1] == 1, "y kept as in the file");
        mynn_dataset_free(ds);
    }

    /* Numbers spread over lines: read as a stream. */
    CHECK_OK(load(&ds, WTEXT("stream.data", "2 3 1\n1 2\n3 0\n4\n5 6 1\n"), NULL));
    if (ds) {
        CHECK(ds->n == 2 && ds->x[0] == 1 && ds->x[2] == 3 && ds->y[0] == 0 && ds->x[3] == 4 &&
                  ds->x[5] == 6 && ds->y[1] == 1,
              "stream values");
        mynn_dataset_free(ds);
    }

    /* Count mismatch, line layout. */
    s = load(&ds, WTEXT("bad.data", "3 2 1\n1 2\n0\n3 4 5\n1\n6 7\n0\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "count: %s", mynn_status_name(s));
    CHECK_MSG("bad.data:4: 3 numbers, expected 2 (inputs of pair 2)");
    s = load(&ds, WTEXT("bad2.data", "2 2 1\n1 2\n0 1\n3 4\n1\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "count outputs");
    CHECK_MSG("bad2.data:3: 2 numbers, expected 1 (outputs of pair 1)");
    s = load(&ds, WTEXT("short.data", "3 2 1\n1 2\n0\n3 4\n1\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "short");
    CHECK_MSG("short.data:5: file ends after 2 of 3 pairs");
    s = load(&ds, WTEXT("extra.data", "1 2 1\n1 2\n0\n9 9\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "extra");
    CHECK_MSG("extra.data:4: unexpected data after the 1 pairs");
    s = load(&ds, WTEXT("word.data", "2 2 1\n1 2\n0\n3 x4\n1\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "word");
    CHECK_MSG("word.data:4: column 2: \"x4\" is not a number");
    s = load(&ds, WTEXT("nan.data", "2 2 1\n1 2\n0\n3 4\nnan\n"), NULL);
    CHECK(s == MYNN_ERR_NUMERIC, "nan");
    CHECK_MSG("nan.data:5: column 1: non-finite value");
    s = load(&ds, WTEXT("sshort.data", "2 2 1\n1 2 0\n3\n"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "stream short");
    CHECK_MSG("sshort.data:3: file ends after 4 of 6 numbers");

    /* A 3-column whitespace table whose first row is integers stays CSV. */
    mynn_load_options o;
    mynn_load_options_default(&o);
    o.separator = 0;
    CHECK_OK(load(&ds, WTEXT("table.txt", "1 2 0\n0.5 0.25 1\n0.5 0.75 1\n"), &o));
    if (ds) {
        CHECK(ds->n == 3 && ds->n_inputs == 2 && ds->n_classes == 2, "table is CSV: n %d", ds->n);
        mynn_dataset_free(ds);
    }
}

/* ---- IDX ----------------------------------------------------------------- */

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* n images of r x c (pixel = (i*7 + j) & 255), labels i % 3 (+ bump). */
static size_t make_images(unsigned char *buf, uint32_t n, uint32_t r, uint32_t c)
{
    be32(buf, 0x803);
    be32(buf + 4, n);
    be32(buf + 8, r);
    be32(buf + 12, c);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < r * c; j++) buf[16 + i * r * c + j] = (unsigned char)((i * 7 + j) & 255);
    return 16 + (size_t)n * r * c;
}

static size_t make_labels(unsigned char *buf, uint32_t n, int bump)
{
    be32(buf, 0x801);
    be32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++) buf[8 + i] = (unsigned char)(i % 3 + (i == n - 1 ? bump : 0));
    return 8 + n;
}

static void test_idx(void)
{
    unsigned char img[16 + 5 * 6], lab[8 + 5];
    size_t li = make_images(img, 5, 2, 3), ll = make_labels(lab, 5, 0);
    mkdir(tpath("idx"), 0755);
    const char *ip = wfile("idx/train-images-idx3-ubyte", (char *)img, li);
    wfile("idx/train-labels-idx1-ubyte", (char *)lab, ll);
    mynn_dataset *ds;
    CHECK_OK(load(&ds, ip, NULL));
    if (ds) {
        CHECK(ds->n == 5 && ds->n_inputs == 6 && ds->n_classes == 3 && ds->n_outputs == 3,
              "idx shape");
        CHECK(ds->x[0] == 0 && ds->x[5] == 5 && ds->x[6] == 7 && ds->x[6 * 4 + 5] == 33,
              "idx pixels");
        CHECK(ds->labels[4] == 1 && ds->y[4 * 3 + 1] == 1 && ds->y[4 * 3 + 0] == 0, "idx labels");
        mynn_dataset_free(ds);
    }
    /* The folder, training set. */
    ds = NULL;
    CHECK_OK(mynn_dataset_load(&ds, tpath("idx"), NULL, 0));
    if (ds) {
        CHECK(ds->n == 5 && ds->n_inputs == 6, "folder");
        mynn_dataset_free(ds);
    }
    mynn_status s = mynn_dataset_load(&ds, tpath("idx"), NULL, 1);
    CHECK(s == MYNN_ERR_IO, "no t10k: %s", mynn_status_name(s));
    CHECK_MSG("t10k-images-idx3-ubyte");
    s = mynn_dataset_load(&ds, tpath("idx"), NULL, 2);
    CHECK(s == MYNN_ERR_ARG, "which 2");

    /* n_classes given, and a label beyond it. */
    mynn_load_options o;
    mynn_load_options_default(&o);
    o.n_classes = 10;
    CHECK_OK(load(&ds, ip, &o));
    if (ds) {
        CHECK(ds->n_classes == 10 && ds->n_outputs == 10, "n_classes 10");
        mynn_dataset_free(ds);
    }
    o.n_classes = 2;
    s = load(&ds, ip, &o);
    CHECK(s == MYNN_ERR_FORMAT, "label >= n_classes");
    CHECK_MSG("train-labels-idx1-ubyte: label 2 at index 2 out of range (n_classes 2)");

    /* no_labels: images only, no labels file needed. */
    mynn_load_options_default(&o);
    o.no_labels = 1;
    const char *lone = wfile("lone-images-idx3-ubyte", (char *)img, li);
    CHECK_OK(load(&ds, lone, &o));
    if (ds) {
        CHECK(ds->n == 5 && !ds->y && !ds->labels && ds->n_outputs == 0, "no labels");
        mynn_dataset_free(ds);
    }
    s = load(&ds, lone, NULL);
    CHECK(s == MYNN_ERR_IO, "labels missing: %s", mynn_status_name(s));
    CHECK_MSG("labels file not found");
    CHECK_MSG("lone-labels-idx1-ubyte");

    /* Truncated images. */
    const char *tp = wfile("t-images-idx3-ubyte", (char *)img, li - 4);
    s = load(&ds, tp, NULL);
    CHECK(s == MYNN_ERR_FORMAT, "truncated: %s", mynn_status_name(s));
    CHECK_MSG("t-images-idx3-ubyte: truncated");
    CHECK_MSG("4 bytes missing");
    s = load(&ds, wfile("h-images-idx3-ubyte", (char *)img, 10), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "truncated header");
    CHECK_MSG("h-images-idx3-ubyte: truncated IDX header");

    /* Wrong magic. */
    unsigned char bad[16 + 6];
    memcpy(bad, img, sizeof bad);
    bad[3] = 0x02;
    be32(bad + 4, 1);
    s = load(&ds, wfile("m-images-idx3-ubyte", (char *)bad, sizeof bad), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "magic");
    CHECK_MSG("m-images-idx3-ubyte: not an IDX images file (magic 0x00000802)");

    /* Over the size limit: refused before any allocation. */
    unsigned char huge[16];
    be32(huge, 0x803);
    be32(huge + 4, 1u << 20);
    be32(huge + 8, 1u << 10);
    be32(huge + 12, 1u << 10);
    s = load(&ds, wfile("huge-images-idx3-ubyte", (char *)huge, 16), NULL);
    CHECK(s == MYNN_ERR_NOMEM, "huge: %s", mynn_status_name(s));
    CHECK_MSG("over the limit");
    be32(huge + 4, 0xFFFFFFFFu);
    be32(huge + 8, 0xFFFFFFFFu);
    be32(huge + 12, 0xFFFFFFFFu);
    s = load(&ds, wfile("ovf-images-idx3-ubyte", (char *)huge, 16), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "overflow: %s", mynn_status_name(s));
    CHECK_MSG("overflow");

    /* Count mismatch between images and labels. */
    unsigned char lab4[8 + 4];
    wfile("c-images-idx3-ubyte", (char *)img, li);
    wfile("c-labels-idx1-ubyte", (char *)lab4, make_labels(lab4, 4, 0));
    s = load(&ds, tpath("c-images-idx3-ubyte"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "count mismatch");
    CHECK_MSG("holds 5 images but");
    CHECK_MSG("holds 4 labels");

    /* A labels file given as the images file. */
    s = load(&ds, tpath("c-labels-idx1-ubyte"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "labels as images");
    CHECK_MSG("not an IDX images file (magic 0x00000801");
}

static void test_idx_gz(void)
{
#ifdef MYNN_HAVE_ZLIB
    unsigned char img[16 + 4 * 4], lab[8 + 4];
    size_t li = make_images(img, 4, 2, 2), ll = make_labels(lab, 4, 0);
    mkdir(tpath("gz"), 0755);
    gzFile g = gzopen(tpath("gz/t10k-images-idx3-ubyte.gz"), "wb");
    CHECK(g != NULL, "gzopen");
    if (!g) return;
    gzwrite(g, img, (unsigned)li);
    gzclose(g);
    /* Labels left uncompressed: found as the other of .gz / plain. */
    wfile("gz/t10k-labels-idx1-ubyte", (char *)lab, ll);
    mynn_dataset *ds = NULL;
    CHECK_OK(mynn_dataset_load(&ds, tpath("gz"), NULL, 1));
    if (ds) {
        CHECK(ds->n == 4 && ds->n_inputs == 4 && ds->x[5] == 8 && ds->labels[3] == 0, "gz values");
        mynn_dataset_free(ds);
    }
    /* A truncated .gz. */
    unsigned char raw[4096];
    FILE *f = fopen(tpath("gz/t10k-images-idx3-ubyte.gz"), "rb");
    size_t n = f ? fread(raw, 1, sizeof raw, f) : 0;
    if (f) fclose(f);
    mynn_status s = load(&ds, wfile("gz/cut-images-idx3-ubyte.gz", (char *)raw, n / 2), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "cut gz: %s", mynn_status_name(s));
    CHECK_MSG("cut-images-idx3-ubyte.gz: gzip data ends early");
    /* A gzipped CSV works too. */
    g = gzopen(tpath("gz/d.csv.gz"), "wb");
    gzputs(g, "1,2,1\n3,4,0\n");
    gzclose(g);
    CHECK_OK(load(&ds, tpath("gz/d.csv.gz"), NULL));
    if (ds) {
        CHECK(ds->n == 2 && ds->x[2] == 3, "csv.gz");
        mynn_dataset_free(ds);
    }
#else
    mynn_dataset *ds;
    mynn_status s = load(&ds, WTEXT("z-images-idx3-ubyte.gz", "\x1f\x8b\x08\x00junk"), NULL);
    CHECK(s == MYNN_ERR_FORMAT, "no zlib: %s", mynn_status_name(s));
    CHECK_MSG("built without zlib");
#endif
}

static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) SKIP("%s is absent (apt-get install dataset-fashion-mnist)", dir);
#ifndef MYNN_HAVE_ZLIB
    SKIP("built without zlib");
#endif
    mynn_dataset *ds = NULL;
    CHECK_OK(mynn_dataset_load(&ds, dir, NULL, 1));
    if (!ds) return;
    CHECK(ds->n == 10000 && ds->n_inputs == 784 && ds->n_classes == 10 && ds->n_outputs == 10,
          "shape %d %d %d", ds->n, ds->n_inputs, ds->n_classes);
    CHECK(ds->labels[0] == 9 && ds->labels[1] == 2, "labels %d %d", ds->labels[0], ds->labels[1]);
    CHECK(ds->y[9] == 1.0f, "one-hot");
    float mx = 0;
    for (int j = 0; j < 784; j++)
        if (ds->x[j] > mx) mx = ds->x[j];
    CHECK(mx > 1.0f && mx <= 255.0f, "pixels are 0..255: max %g", mx);
    mynn_dataset_free(ds);
}

/* ---- split --------------------------------------------------------------- */

static mynn_dataset *make_ds(int n)
{
    mynn_dataset *d = calloc(1, sizeof *d);
    d->n = n;
    d->n_inputs = 2;
    d->n_outputs = 3;
    d->n_classes = 3;
    d->x = malloc(sizeof(float) * 2 * (size_t)n);
    d->y = calloc((size_t)n * 3, sizeof(float));
    d->labels = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        d->x[2 * i] = (float)i;
        d->x[2 * i + 1] = (float)(-i);
        d->labels[i] = i % 3;
        d->y[3 * i + i % 3] = 1;
    }
    d->owned = 1;
    return d;
}

static int consistent(const mynn_dataset *d, int *seen)
{
    for (int i = 0; i < d->n; i++) {
        int v = (int)d->x[2 * i];
        if (d->x[2 * i + 1] != -(float)v || d->labels[i] != v % 3 || d->y[3 * i + v % 3] != 1)
            return 0;
        seen[v]++;
    }
    return 1;
}

static void test_split(void)
{
    mynn_dataset *a = make_ds(10), *b = make_ds(10), *va = NULL, *vb = NULL;
    CHECK_OK(mynn_dataset_split(a, 0.3f, 42, &va));
    CHECK_OK(mynn_dataset_split(b, 0.3f, 42, &vb));
    if (!va || !vb) return;
    CHECK(a->n == 7 && va->n == 3 && va->owned && va->n_inputs == 2 && va->n_classes == 3,
          "sizes %d %d", a->n, va->n);
    int seen[10] = {0};
    CHECK(consistent(a, seen) && consistent(va, seen), "rows stay whole");
    for (int i = 0; i < 10; i++) CHECK(seen[i] == 1, "sample %d seen %d times", i, seen[i]);
    CHECK(memcmp(a->x, b->x, sizeof(float) * 14) == 0 && memcmp(va->x, vb->x, sizeof(float) * 6) == 0,
          "same seed, same split");
    int moved = 0;
    for (int i = 0; i < 7; i++) moved += a->x[2 * i] != (float)i;
    CHECK(moved > 0, "shuffled");
    mynn_dataset_free(va);
    mynn_dataset_free(vb);

    /* At least one each side. */
    mynn_dataset *c = make_ds(2), *vc = NULL;
    CHECK_OK(mynn_dataset_split(c, 0.01f, 1, &vc));
    CHECK(c->n == 1 && vc && vc->n == 1, "tiny");
    mynn_dataset_free(vc);
    vc = NULL;
    CHECK(mynn_dataset_split(c, 0.5f, 1, &vc) == MYNN_ERR_ARG && !vc, "n 1");
    CHECK(mynn_dataset_split(b, 0.0f, 1, &vc) == MYNN_ERR_ARG, "fraction 0");
    CHECK(mynn_dataset_split(b, 1.0f, 1, &vc) == MYNN_ERR_ARG, "fraction 1");
    CHECK(mynn_dataset_split(b, NAN, 1, &vc) == MYNN_ERR_ARG, "fraction nan");
    CHECK_MSG("fraction");
    CHECK(mynn_dataset_split(NULL, 0.5f, 1, &vc) == MYNN_ERR_NULL, "NULL ds");

    /* Caller-owned arrays: split works; free leaves them alone. */
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    mynn_dataset mine = {.n = 4, .n_inputs = 2, .x = x};
    mynn_dataset *vm = NULL;
    CHECK_OK(mynn_dataset_split(&mine, 0.5f, 3, &vm));
    CHECK(mine.n == 2 && vm && vm->n == 2 && !vm->y && !vm->labels, "unowned split");
    mynn_dataset_free(&mine);   /* no-op */
    CHECK(x[0] + x[1] + x[2] + x[3] + x[4] + x[5] + x[6] + x[7] == 28, "arrays intact");
    mynn_dataset_free(vm);
    mynn_dataset_free(NULL);

    mynn_dataset_free(a);
    mynn_dataset_free(b);
    mynn_dataset_free(c);
}

/* ---- main ---------------------------------------------------------------- */

static void rm_tree(const char *dir)
{
    char cmd[600];
    if (strncmp(dir, "/tmp/mynn_data_", 15) != 0) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    CK_BEGIN("test_data");
    snprintf(g_tmp, sizeof g_tmp, "/tmp/mynn_data_XXXXXX");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_parse_known);
    RUN(test_parse_vs_strtod);
    RUN(test_format);
    RUN(test_csv_fixture);
    RUN(test_csv_variants);
    RUN(test_csv_errors);
    RUN(test_csv_speed);
    RUN(test_locale);
    RUN(test_fann);
    RUN(test_idx);
    RUN(test_idx_gz);
    RUN(test_fashion_mnist);
    RUN(test_split);
    rm_tree(g_tmp);
    return CK_END();
}
