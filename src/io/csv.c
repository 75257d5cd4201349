/* CSV datasets: optional header, separator , ; tab or blanks, a label
 * column (classification), target columns (regression) or none.  One pass
 * over the text already in memory; numbers through the locale-independent
 * parser.  Errors name file:line: column N (1-based). */
#include "io/io.h"
#include "core/core.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_AUTO_MAX_CLASSES (1 << 16)

enum { ROLE_INPUT = 0, ROLE_LABEL = 1, ROLE_TARGET = 2 };

typedef struct csv_ctx {
    const char *path;
    char sep;        /* ' ' means runs of blanks */
    int ws;          /* sep is ' ' */
} csv_ctx;

static int is_blank(const csv_ctx *c, char ch)
{
    return ch == ' ' || (ch == '\t' && c->sep != '\t');
}

/* The line starting at p: *le its end without '\r' and trailing blanks,
 * returns the start of the next line (or end). */
static const char *line_bounds(const csv_ctx *c, const char *p, const char *end,
                               const char **le)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    while (e > p && (e[-1] == '\r' || is_blank(c, e[-1]))) e--;
    *le = e;
    return nl ? nl + 1 : end;
}

/* One cell of [p, le): content bounds (unquoted, trimmed) in *cs, *ce;
 * returns where the next cell starts and sets *more when one follows. */
static const char *next_cell(const csv_ctx *c, const char *p, const char *le, const char **cs,
                             const char **ce, int *more)
{
    while (p < le && is_blank(c, *p)) p++;
    if (p < le && *p == '"') {
        p++;
        *cs = p;
        while (p < le) {
            if (*p == '"') {
                if (p + 1 < le && p[1] == '"') {
                    p += 2;
                    continue;
                }
                break;
            }
            p++;
        }
        *ce = p;
        if (p < le) p++;
        while (p < le && !(c->ws ? (*p == ' ' || *p == '\t') : *p == c->sep)) p++;
    } else {
        *cs = p;
        while (p < le && !(c->ws ? (*p == ' ' || *p == '\t') : *p == c->sep)) p++;
        const char *e = p;
        while (e > *cs && is_blank(c, e[-1])) e--;
        *ce = e;
    }
    *more = 0;
    if (p < le) {
        *more = 1;
        if (c->ws)
            while (p < le && (*p == ' ' || *p == '\t')) p++;
        else
            p++;
    }
    return p;
}

static int count_cells(const csv_ctx *c, const char *p, const char *le)
{
    int n = 0, more;
    const char *cs, *ce;
    do {
        p = next_cell(c, p, le, &cs, &ce, &more);
        n++;
    } while (more && n < INT_MAX);
    return n;
}

/* The cell text of column col (0-based) of the line, for messages. */
static void cell_text(const csv_ctx *c, const char *ls, const char *le, int col, const char **cs,
                      int *clen)
{
    const char *s = ls, *e = ls;
    int more = 1;
    for (int i = 0; i <= col && more; i++) s = ls, ls = next_cell(c, ls, le, &s, &e, &more);
    *cs = s;
    *clen = (int)(e - s > 40 ? 40 : e - s);
}

static int cell_is_number(const char *cs, const char *ce)
{
    float v;
    const char *e;
    if (cs == ce) return 0;
    return mn_parse_float(cs, &e, &v) >= 0 && e == ce;
}

static char detect_sep(const char *ls, const char *le)
{
    int nc = 0, ns = 0, nt = 0, nb = 0, q = 0;
    for (const char *p = ls; p < le; p++) {
        if (*p == '"') q = !q;
        if (q) continue;
        if (*p == ',') nc++;
        else if (*p == ';') ns++;
        else if (*p == '\t') nt++;
        else if (*p == ' ') nb++;
    }
    if (nc == 0 && ns == 0 && nt == 0) return nb ? ' ' : ',';
    if (nc >= ns && nc >= nt) return ',';
    if (ns >= nt) return ';';
    return '\t';
}

static mynn_status err_cell(const csv_ctx *c, long line, const char *ls, const char *le, int col)
{
    const char *cs;
    int n;
    cell_text(c, ls, le, col, &cs, &n);
    if (n == 0)
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: empty cell, expected a number",
                        c->path, line, col + 1);
    return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: \"%.*s\" is not a number", c->path, line,
                    col + 1, n, cs);
}

/* Where a CSV's text stands: the current non-blank line [ls, le) numbered
 * line, and where the next line starts. */
typedef struct csv_cursor {
    const char *next, *end;
    const char *start;   /* the current line's first byte (before blanks) */
    const char *ls, *le;
    long line;
} csv_cursor;

/* Advance to the next non-blank line; 0 at the end of the text. */
static int csv_next_line(const csv_ctx *c, csv_cursor *k)
{
    while (k->next < k->end) {
        k->line++;
        k->start = k->next;
        k->next = line_bounds(c, k->start, k->end, &k->le);
        const char *t = k->start;
        while (t < k->le && is_blank(c, *t)) t++;
        if (t < k->le) {
            k->ls = t;
            return 1;
        }
    }
    k->ls = NULL;
    return 0;
}

/* The separator: given, or detected from the first line; refuses one that
 * could be part of a number or a quoted cell. */
static mynn_status csv_separator(csv_ctx *c, const csv_cursor *k)
{
    if (c->sep == 0) c->sep = detect_sep(k->ls, k->le);
    unsigned char s = (unsigned char)c->sep;
    if ((s >= '0' && s <= '9') || (s >= 'a' && s <= 'z') || (s >= 'A' && s <= 'Z') || s == '.' ||
        s == '+' || s == '-' || s == '"' || s == '\n' || s == '\r')
        return mn_error(MYNN_ERR_ARG, "%s: unusable CSV separator '%c'", c->path, c->sep);
    c->ws = c->sep == ' ';
    return MYNN_OK;
}

/* header < 0: a first line holding any cell that is not a number is a header. */
static int csv_is_header(const csv_ctx *c, const char *ls, const char *le, int header)
{
    if (header >= 0) return header;
    const char *cs, *ce;
    int more;
    do {
        ls = next_cell(c, ls, le, &cs, &ce, &more);
        if (!cell_is_number(cs, ce)) return 1;
    } while (more);
    return 0;
}

/* Column roles from the options: inputs, one label column, or target columns. */
typedef struct csv_layout {
    int n_cols, n_in, n_out;
    int lab_col, tgt0, nt;
    unsigned char *role;   /* [n_cols] ROLE_* */
} csv_layout;

static mynn_status csv_roles(const csv_ctx *c, const mynn_load_options *opt, csv_layout *L)
{
    int n_cols = L->n_cols;
    L->n_out = 0;
    L->lab_col = -1;
    L->tgt0 = -1;
    L->nt = opt->n_targets;
    if (opt->no_labels) {
        L->n_in = n_cols;
    } else if (L->nt > 0) {
        L->tgt0 = opt->label_column < 0 ? n_cols - L->nt : opt->label_column;
        if (L->tgt0 < 0 || L->nt > n_cols - L->tgt0)
            return mn_error(MYNN_ERR_ARG,
                            "%s: %d target columns from column %d do not fit in %d columns",
                            c->path, L->nt, L->tgt0 + 1, n_cols);
        L->n_in = n_cols - L->nt;
        L->n_out = L->nt;
    } else {
        L->lab_col = opt->label_column < 0 ? n_cols - 1 : opt->label_column;
        if (L->lab_col >= n_cols)
            return mn_error(MYNN_ERR_ARG,
                            "%s: label column %d out of range (the file has %d columns)", c->path,
                            L->lab_col + 1, n_cols);
        L->n_in = n_cols - 1;
    }
    if (L->n_in < 1)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: no input columns: %d column%s with separator '%s', all taken by "
                        "the label/targets",
                        c->path, n_cols, n_cols == 1 ? "" : "s",
                        c->sep == '\t' ? "\\t" : c->ws ? "blanks" : (char[2]){c->sep, 0});
    L->role = malloc((size_t)n_cols);
    if (!L->role) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", c->path);
    for (int i = 0; i < n_cols; i++)
        L->role[i] = i == L->lab_col ? ROLE_LABEL
                     : (L->tgt0 >= 0 && i >= L->tgt0 && i < L->tgt0 + L->nt) ? ROLE_TARGET
                                                                            : ROLE_INPUT;
    return MYNN_OK;
}

/* The parsed values: room for cap rows (an upper bound: the lines left). */
typedef struct csv_rows {
    size_t cap, n;
    float *x, *yt;
    int *labels;
    int max_label;
} csv_rows;

static void csv_rows_free(csv_rows *R)
{
    free(R->x);
    free(R->yt);
    free(R->labels);
}

static mynn_status csv_rows_alloc(const csv_ctx *c, const csv_layout *L, const char *ls,
                                  const char *end, csv_rows *R)
{
    memset(R, 0, sizeof *R);
    R->max_label = -1;
    R->cap = 1;
    for (const char *q = ls; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) R->cap++;
    if (R->cap > INT_MAX) return mn_error(MYNN_ERR_NOMEM, "%s: more than %d rows", c->path, INT_MAX);
    size_t bytes;
    if (mn_mul_size(R->cap, (size_t)L->n_in, &bytes) != 0)
        return mn_error(MYNN_ERR_NOMEM, "%s: too many values", c->path);
    if (!(R->x = mn_calloc(bytes, sizeof(float), "CSV inputs"))) return MYNN_ERR_NOMEM;
    if (L->n_out > 0 && (mn_mul_size(R->cap, (size_t)L->n_out, &bytes) != 0 ||
                         !(R->yt = mn_calloc(bytes, sizeof(float), "CSV targets"))))
        return MYNN_ERR_NOMEM;
    if (L->lab_col >= 0 && !(R->labels = mn_calloc(R->cap, sizeof(int), "CSV labels")))
        return MYNN_ERR_NOMEM;
    return MYNN_OK;
}

/* One number cell at *q (quoted or not), followed by a separator or the end
 * of the line.  Returns mn_parse_*'s 0 / 1 (non-finite) / -1 (not a number,
 * or junk before the next separator); on success *q moves to the next cell
 * and *last says this was the line's last cell. */
static int csv_number_cell(const csv_ctx *c, const char **q, const char *le, int as_double,
                           float *v, double *dv, int *last)
{
    const char *p = *q, *e;
    while (p < le && is_blank(c, *p)) p++;
    int quoted = 0;
    if (p < le && *p == '"') {
        quoted = 1;
        p++;
    }
    int r;
    if (as_double) {
        r = mn_parse_double(p, &e, dv);
        *v = (float)*dv;
    } else {
        r = mn_parse_float(p, &e, v);
    }
    if (r >= 0 && e > le) r = -1;
    if (r >= 0 && quoted) {
        if (e < le && *e == '"') e++;
        else r = -1;
    }
    *last = 0;
    if (r < 0) return r;
    p = e;
    if (c->ws) {
        if (p < le && *p != ' ' && *p != '\t') r = -1;
        while (p < le && (*p == ' ' || *p == '\t')) p++;
        *last = p == le;
    } else {
        while (p < le && is_blank(c, *p)) p++;
        if (p == le) *last = 1;
        else if (*p == c->sep) p++;
        else r = -1;
    }
    *q = p;
    return r;
}

static mynn_status err_columns(const csv_ctx *c, long line, int have, int n_cols)
{
    return mn_error(MYNN_ERR_FORMAT, "%s:%ld: %d columns, expected %d", c->path, line, have,
                    n_cols);
}

/* A label cell's value dv as a class index, checked against n_classes. */
static mynn_status csv_class_index(const csv_ctx *c, const csv_cursor *k, int col, double dv,
                                   int nc_given, int *lab)
{
    if (dv < 0 || dv != floor(dv) || dv > (double)INT_MAX) {
        const char *cs;
        int n;
        cell_text(c, k->ls, k->le, col, &cs, &n);
        return mn_error(MYNN_ERR_FORMAT,
                        "%s:%ld: column %d: label \"%.*s\" is not a non-negative integer class "
                        "index",
                        c->path, k->line, col + 1, n, cs);
    }
    *lab = (int)dv;
    if (nc_given > 0 && *lab >= nc_given)
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: label %d out of range (n_classes %d)",
                        c->path, k->line, col + 1, *lab, nc_given);
    if (nc_given <= 0 && *lab >= CSV_AUTO_MAX_CLASSES)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s:%ld: column %d: label %d out of range (more than %d classes; set "
                        "n_classes)",
                        c->path, k->line, col + 1, *lab, CSV_AUTO_MAX_CLASSES);
    return MYNN_OK;
}

/* Parse the current line into row R->n (kept unless it holds a non-finite
 * value and skip_nonfinite is set). */
static mynn_status csv_parse_row(const csv_ctx *c, const csv_cursor *k, const csv_layout *L,
                                 const mynn_load_options *opt, csv_rows *R)
{
    float *xr = R->x + R->n * (size_t)L->n_in;
    float *yr = R->yt ? R->yt + R->n * (size_t)L->n_out : NULL;
    int lab = 0, col = 0, skip = 0, last = 0;
    const char *q = k->ls;
    while (!last) {
        if (col >= L->n_cols) return err_columns(c, k->line, count_cells(c, k->ls, k->le), L->n_cols);
        float v = 0.0f;
        double dv = 0.0;
        int r = csv_number_cell(c, &q, k->le, L->role[col] == ROLE_LABEL, &v, &dv, &last);
        if (r < 0) {
            /* Tell a short row apart from a bad cell. */
            int have = count_cells(c, k->ls, k->le);
            if (have != L->n_cols) return err_columns(c, k->line, have, L->n_cols);
            return err_cell(c, k->line, k->ls, k->le, col);
        }
        if (r == 1) {
            if (!opt->skip_nonfinite) {
                const char *cs;
                int n;
                cell_text(c, k->ls, k->le, col, &cs, &n);
                return mn_error(MYNN_ERR_NUMERIC,
                                "%s:%ld: column %d: non-finite value \"%.*s\" (use "
                                "skip_nonfinite to drop such rows)",
                                c->path, k->line, col + 1, n, cs);
            }
            skip = 1;
        } else if (L->role[col] == ROLE_INPUT) {
            *xr++ = v;
        } else if (L->role[col] == ROLE_TARGET) {
            *yr++ = v;
        } else {
            mynn_status s = csv_class_index(c, k, col, dv, opt->n_classes, &lab);
            if (s) return s;
        }
        col++;
    }
    if (col != L->n_cols) return err_columns(c, k->line, col, L->n_cols);
    if (skip) return MYNN_OK;
    if (R->labels) {
        R->labels[R->n] = lab;
        if (lab > R->max_label) R->max_label = lab;
    }
    R->n++;
    return MYNN_OK;
}

/* Move the parsed rows into ds: inputs, then one-hot targets from the
 * labels or the regression targets. */
static mynn_status csv_build(const csv_layout *L, const mynn_load_options *opt, csv_rows *R,
                             mynn_dataset *ds)
{
    ds->n = (int)R->n;
    ds->n_inputs = L->n_in;
    ds->x = R->x;
    R->x = NULL;
    if (R->labels) {
        int nc = opt->n_classes > 0 ? opt->n_classes : R->max_label + 1;
        float *y = mn_calloc(R->n * (size_t)nc, sizeof(float), "CSV one-hot targets");
        if (!y) return MYNN_ERR_NOMEM;
        for (size_t i = 0; i < R->n; i++) y[i * (size_t)nc + (size_t)R->labels[i]] = 1.0f;
        ds->y = y;
        ds->labels = R->labels;
        R->labels = NULL;
        ds->n_classes = nc;
        ds->n_outputs = nc;
    } else if (R->yt) {
        ds->y = R->yt;
        R->yt = NULL;
        ds->n_outputs = L->n_out;
    }
    return MYNN_OK;
}

mynn_status mn_load_csv(mynn_dataset **out, const char *path, const char *buf, size_t len,
                        const mynn_load_options *opt)
{
    *out = NULL;
    csv_ctx c = {path, opt->separator, 0};
    const char *p = buf, *end = buf + len;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;

    /* The first non-blank line (blanks: spaces and tabs, whatever the
     * separator), then again with the separator's idea of blanks. */
    csv_cursor k = {p, end, NULL, NULL, NULL, 0};
    const csv_ctx blank = {path, ',', 0};
    if (!csv_next_line(&blank, &k)) return mn_error(MYNN_ERR_FORMAT, "%s: empty file", path);
    mynn_status s = csv_separator(&c, &k);
    if (s) return s;
    k.next = line_bounds(&c, k.start, end, &k.le);
    k.ls = k.start;
    while (k.ls < k.le && is_blank(&c, *k.ls)) k.ls++;

    csv_layout L = {count_cells(&c, k.ls, k.le), 0, 0, -1, -1, 0, NULL};
    if (csv_is_header(&c, k.ls, k.le, opt->header) && !csv_next_line(&c, &k))
        return mn_error(MYNN_ERR_FORMAT, "%s: no data rows after the header line", path);
    s = csv_roles(&c, opt, &L);
    if (s) return s;

    csv_rows R;
    mynn_dataset *ds = NULL;
    s = csv_rows_alloc(&c, &L, k.ls, end, &R);
    do {
        if (!s) s = csv_parse_row(&c, &k, &L, opt, &R);
    } while (!s && csv_next_line(&c, &k));
    if (!s && R.n == 0)
        s = mn_error(MYNN_ERR_FORMAT, "%s: no data rows left after dropping non-finite rows", path);
    if (!s && !(ds = mn_dataset_new())) s = mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
    if (!s) s = csv_build(&L, opt, &R, ds);
    csv_rows_free(&R);
    free(L.role);
    if (s) {
        mynn_dataset_free(ds);
        return s;
    }
    *out = ds;
    return MYNN_OK;
}
