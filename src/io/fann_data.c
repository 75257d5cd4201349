/* FANN training data: a first line "pairs inputs outputs", then for each
 * pair a line of inputs and a line of outputs.  Files that spread numbers
 * over lines differently are read as one stream of numbers (as FANN itself
 * does); files laid out one row per line get per-line checks.  Outputs that
 * are one-hot in every row ({0,1} or {-1,1}) also give class labels. */
#include "io/io.h"
#include "core/core.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_sp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

typedef struct fcur {
    const char *p, *end;
    long line;       /* line number of p */
    long cur;        /* line number of the line last returned (or the last line) */
} fcur;

/* End of the line at p (its newline or the end). */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* Advance to the next non-blank line: 1 and *ls, *le set, or 0 at the end.
 * c->p moves past that line. */
static int next_line(fcur *c, const char **ls, const char **le)
{
    while (c->p < c->end) {
        const char *s = c->p, *e = line_end(s, c->end);
        long ln = c->line;
        c->p = e < c->end ? e + 1 : c->end;
        c->line++;
        while (s < e && is_sp(*s)) s++;
        if (s < e) {
            *ls = s;
            *le = e;
            c->cur = ln;
            return 1;
        }
    }
    c->cur = c->line > 1 ? c->line - 1 : 1;
    return 0;
}

static int count_tokens(const char *s, const char *e)
{
    int n = 0;
    while (s < e) {
        while (s < e && is_sp(*s)) s++;
        if (s >= e) break;
        n++;
        while (s < e && !is_sp(*s)) s++;
    }
    return n;
}

/* The three header numbers and where the body starts.  0 or -1. */
static int fann_header(const char *buf, const char *end, long long v[3], const char **body,
                       long *hline)
{
    fcur c = {buf, end, 1, 1};
    const char *ls, *le;
    if (!next_line(&c, &ls, &le)) return -1;
    *hline = c.cur;
    const char *p = ls;
    for (int k = 0; k < 3; k++) {
        while (p < le && is_sp(*p)) p++;
        const char *e;
        if (p >= le || mn_parse_ll(p, &e, &v[k]) != 0 || e > le || v[k] < 0) return -1;
        if (e < le && !is_sp(*e)) return -1;
        p = e;
    }
    while (p < le && is_sp(*p)) p++;
    if (p != le) return -1;
    *body = le < end ? le + 1 : end;
    return 0;
}

int mn_fann_detect(const char *buf, size_t len)
{
    long long v[3];
    const char *body;
    long hl;
    if (fann_header(buf, buf + len, v, &body, &hl) != 0) return 0;
    if (v[0] < 1 || v[1] < 1 || v[0] > INT_MAX || v[1] > INT_MAX || v[2] > INT_MAX) return 0;
    unsigned long long expected = (unsigned long long)v[0] * (unsigned long long)(v[1] + v[2]);
    unsigned long long total = 0;
    int uniform3 = 1;
    fcur c = {body, buf + len, hl + 1, hl};
    const char *ls, *le;
    while (next_line(&c, &ls, &le)) {
        int n = count_tokens(ls, le);
        total += (unsigned long long)n;
        if (n != 3) uniform3 = 0;
    }
    /* A consistent body, or one that is no plain three-column table (so a
     * damaged FANN file gets FANN's error messages, not CSV's). */
    return total == expected || !uniform3;
}

typedef struct fann_ctx {
    const char *path;
    int skip_nf;
    int bad;          /* the current pair holds a non-finite value */
} fann_ctx;

static mynn_status parse_token(fann_ctx *f, const char *ts, const char *te, long line, int col,
                               float *dst)
{
    const char *e;
    float v;
    int r = mn_parse_float(ts, &e, &v);
    if (r < 0 || e != te) {
        int n = (int)(te - ts > 40 ? 40 : te - ts);
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: \"%.*s\" is not a number", f->path,
                        line, col, n, ts);
    }
    if (r == 1) {
        if (!f->skip_nf) {
            int n = (int)(te - ts > 40 ? 40 : te - ts);
            return mn_error(MYNN_ERR_NUMERIC,
                            "%s:%ld: column %d: non-finite value \"%.*s\" (use skip_nonfinite "
                            "to drop such pairs)",
                            f->path, line, col, n, ts);
        }
        f->bad = 1;
    }
    if (dst) *dst = v;
    return MYNN_OK;
}

/* Line mode: one block of want numbers on the next non-blank line. */
static mynn_status read_line_block(fann_ctx *f, fcur *c, float *dst, int want, const char *what,
                                   long long pair, long long pairs)
{
    const char *ls, *le;
    if (!next_line(c, &ls, &le))
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: file ends after %lld of %lld pairs (%s missing)",
                        f->path, c->cur, pair, pairs, what);
    int n = count_tokens(ls, le);
    if (n != want)
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: %d numbers, expected %d (%s of pair %lld)",
                        f->path, c->cur, n, want, what, pair + 1);
    const char *s = ls;
    for (int k = 0; k < want; k++) {
        while (is_sp(*s)) s++;
        const char *t = s;
        while (t < le && !is_sp(*t)) t++;
        mynn_status st = parse_token(f, s, t, c->cur, k + 1, dst ? dst + k : NULL);
        if (st != MYNN_OK) return st;
        s = t;
    }
    return MYNN_OK;
}

/* Stream mode: the next number anywhere. */
typedef struct tcur {
    const char *p, *end;
    long line;
    int col;          /* tokens seen on this line */
    long last;        /* line of the last token */
} tcur;

static int next_token(tcur *t, const char **ts, const char **te)
{
    for (;;) {
        while (t->p < t->end && is_sp(*t->p)) t->p++;
        if (t->p >= t->end) return 0;
        if (*t->p == '\n') {
            t->line++;
            t->col = 0;
            t->p++;
            continue;
        }
        break;
    }
    *ts = t->p;
    while (t->p < t->end && !is_sp(*t->p) && *t->p != '\n') t->p++;
    *te = t->p;
    t->col++;
    t->last = t->line;
    return 1;
}

mynn_status mn_load_fann(mynn_dataset **out, const char *path, const char *buf, size_t len,
                         const mynn_load_options *opt)
{
    *out = NULL;
    const char *end = buf + len, *body;
    long long v[3];
    long hl;
    if (fann_header(buf, end, v, &body, &hl) != 0)
        return mn_error(MYNN_ERR_FORMAT, "%s:1: expected \"pairs inputs outputs\"", path);
    long long pairs = v[0];
    if (pairs < 1 || v[1] < 1 || pairs > INT_MAX || v[1] > INT_MAX || v[2] > INT_MAX)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s:%ld: bad header \"%lld %lld %lld\" (need pairs >= 1, inputs >= 1)",
                        path, hl, v[0], v[1], v[2]);
    int nin = (int)v[1], nout = (int)v[2];
    int keep_y = nout > 0 && !opt->no_labels;

    fann_ctx f = {path, opt->skip_nonfinite, 0};
    mynn_status s = MYNN_OK;
    mynn_dataset *ds = mn_dataset_new();
    if (!ds) return MYNN_ERR_NOMEM;
    size_t nx, ny = 0;
    if (mn_mul_size((size_t)pairs, (size_t)nin, &nx) != 0 ||
        (keep_y && mn_mul_size((size_t)pairs, (size_t)nout, &ny) != 0)) {
        s = mn_error(MYNN_ERR_NOMEM, "%s: %lld pairs are too many", path, pairs);
        goto fail;
    }
    /* Every number takes at least two bytes (a digit and a separator), so a
     * header claiming more than the file can hold is refused before any
     * allocation. */
    if (nx + ny > (len + 1) / 2) {
        s = mn_error(MYNN_ERR_FORMAT, "%s:%ld: the header claims %lld pairs of %d + %d numbers, "
                     "more than the file's %zu bytes can hold", path, hl, pairs, nin, nout, len);
        goto fail;
    }
    ds->x = mn_calloc(nx, sizeof(float), "FANN inputs");
    if (ds->x && keep_y) ds->y = mn_calloc(ny, sizeof(float), "FANN outputs");
    if (!ds->x || (keep_y && !ds->y)) {
        s = MYNN_ERR_NOMEM;
        goto fail;
    }

    /* Line mode when the first body line holds exactly one input row. */
    int line_mode = 0;
    {
        fcur c = {body, end, hl + 1, hl};
        const char *ls, *le;
        if (next_line(&c, &ls, &le)) line_mode = count_tokens(ls, le) == nin;
    }

    size_t rows = 0;
    if (line_mode) {
        fcur c = {body, end, hl + 1, hl};
        for (long long k = 0; k < pairs; k++) {
            f.bad = 0;
            s = read_line_block(&f, &c, ds->x + rows * (size_t)nin, nin, "inputs", k, pairs);
            if (s == MYNN_OK && nout > 0)
                s = read_line_block(&f, &c, keep_y ? ds->y + rows * (size_t)nout : NULL, nout,
                                    "outputs", k, pairs);
            if (s != MYNN_OK) goto fail;
            if (!f.bad) rows++;
        }
        const char *ls, *le;
        if (next_line(&c, &ls, &le)) {
            s = mn_error(MYNN_ERR_FORMAT, "%s:%ld: unexpected data after the %lld pairs", path,
                         c.cur, pairs);
            goto fail;
        }
    } else {
        tcur t = {body, end, hl + 1, 0, hl};
        long long need = (long long)nin + nout, done = 0, total = pairs * need;
        for (long long k = 0; k < pairs; k++) {
            f.bad = 0;
            for (long long j = 0; j < need; j++, done++) {
                const char *ts, *te;
                if (!next_token(&t, &ts, &te)) {
                    s = mn_error(MYNN_ERR_FORMAT,
                                 "%s:%ld: file ends after %lld of %lld numbers (%lld pairs of %d "
                                 "inputs + %d outputs)",
                                 path, t.last, done, total, pairs, nin, nout);
                    goto fail;
                }
                float *dst = j < nin ? ds->x + rows * (size_t)nin + j
                             : keep_y ? ds->y + rows * (size_t)nout + (j - nin)
                                      : NULL;
                s = parse_token(&f, ts, te, t.line, t.col, dst);
                if (s != MYNN_OK) goto fail;
            }
            if (!f.bad) rows++;
        }
        const char *ts, *te;
        if (next_token(&t, &ts, &te)) {
            s = mn_error(MYNN_ERR_FORMAT, "%s:%ld: unexpected data after the %lld pairs", path,
                         t.line, pairs);
            goto fail;
        }
    }
    if (rows == 0) {
        s = mn_error(MYNN_ERR_FORMAT, "%s: no pairs left after dropping non-finite ones", path);
        goto fail;
    }
    ds->n = (int)rows;
    ds->n_inputs = nin;

    if (keep_y) {
        ds->n_outputs = nout;
        /* One-hot in every row (all values 1 or one "off" value, 0 or -1,
         * exactly one 1 per row) gives classification. */
        int onehot = nout > 1;
        float off = NAN;
        for (size_t i = 0; i < rows && onehot; i++) {
            int ones = 0;
            for (int j = 0; j < nout; j++) {
                float y = ds->y[i * (size_t)nout + (size_t)j];
                if (y == 1.0f) {
                    ones++;
                } else if (y == 0.0f || y == -1.0f) {
                    if (isnan(off)) off = y;
                    else if (y != off) onehot = 0;
                } else {
                    onehot = 0;
                }
            }
            if (ones != 1) onehot = 0;
        }
        if (onehot) {
            ds->labels = mn_calloc(rows, sizeof(int), "FANN labels");
            if (!ds->labels) {
                s = MYNN_ERR_NOMEM;
                goto fail;
            }
            for (size_t i = 0; i < rows; i++)
                for (int j = 0; j < nout; j++)
                    if (ds->y[i * (size_t)nout + (size_t)j] == 1.0f) ds->labels[i] = j;
            ds->n_classes = nout;
        }
    }
    *out = ds;
    return MYNN_OK;

fail:
    mynn_dataset_free(ds);
    return s;
}
