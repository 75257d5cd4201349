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

mynn_status mn_load_csv(mynn_dataset **out, const char *path, const char *buf, size_t len,
                        const mynn_load_options *opt)
{
    *out = NULL;
    csv_ctx c = {path, opt->separator, 0};
    const char *p = buf, *end = buf + len;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;

    /* The first non-blank line (blanks: spaces and tabs, whatever the sep). */
    long line = 0;
    const char *ls = NULL, *le = NULL, *next = p, *start = NULL;
    {
        csv_ctx blank = {path, ',', 0};
        while (next < end) {
            line++;
            start = next;
            next = line_bounds(&blank, start, end, &le);
            const char *t = start;
            while (t < le && (*t == ' ' || *t == '\t')) t++;
            if (t < le) {
                ls = t;
                break;
            }
        }
    }
    if (!ls) return mn_error(MYNN_ERR_FORMAT, "%s: empty file", path);

    if (c.sep == 0) c.sep = detect_sep(ls, le);
    {
        unsigned char s = (unsigned char)c.sep;
        if ((s >= '0' && s <= '9') || (s >= 'a' && s <= 'z') || (s >= 'A' && s <= 'Z') ||
            s == '.' || s == '+' || s == '-' || s == '"' || s == '\n' || s == '\r')
            return mn_error(MYNN_ERR_ARG, "%s: unusable CSV separator '%c'", path, c.sep);
    }
    c.ws = c.sep == ' ';
    /* The first line again with this separator's idea of blanks. */
    next = line_bounds(&c, start, end, &le);
    ls = start;
    while (ls < le && is_blank(&c, *ls)) ls++;

    int n_cols = count_cells(&c, ls, le);
    int header = opt->header;
    if (header < 0) {
        header = 0;
        const char *q = ls, *cs, *ce;
        int more;
        do {
            q = next_cell(&c, q, le, &cs, &ce, &more);
            if (!cell_is_number(cs, ce)) header = 1;
        } while (more && !header);
    }
    long first_data_line = line;
    if (header) {
        ls = NULL;
        while (next < end) {
            line++;
            const char *s = next;
            next = line_bounds(&c, s, end, &le);
            while (s < le && is_blank(&c, *s)) s++;
            if (s < le) {
                ls = s;
                break;
            }
        }
        if (!ls)
            return mn_error(MYNN_ERR_FORMAT, "%s: no data rows after the header line", path);
        first_data_line = line;
    }

    /* Column roles. */
    int n_in, n_out = 0, lab_col = -1, tgt0 = -1;
    int nt = opt->n_targets;
    if (opt->no_labels) {
        n_in = n_cols;
    } else if (nt > 0) {
        tgt0 = opt->label_column < 0 ? n_cols - nt : opt->label_column;
        if (tgt0 < 0 || nt > n_cols - tgt0)
            return mn_error(MYNN_ERR_ARG,
                            "%s: %d target columns from column %d do not fit in %d columns", path,
                            nt, tgt0 + 1, n_cols);
        n_in = n_cols - nt;
        n_out = nt;
    } else {
        lab_col = opt->label_column < 0 ? n_cols - 1 : opt->label_column;
        if (lab_col >= n_cols)
            return mn_error(MYNN_ERR_ARG, "%s: label column %d out of range (the file has %d columns)",
                            path, lab_col + 1, n_cols);
        n_in = n_cols - 1;
    }
    if (n_in < 1)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: no input columns: %d column%s with separator '%s', all taken by "
                        "the label/targets",
                        path, n_cols, n_cols == 1 ? "" : "s",
                        c.sep == '\t' ? "\\t" : c.ws ? "blanks" : (char[2]){c.sep, 0});

    /* Upper bound on rows: the lines left. */
    size_t cap = 1;
    for (const char *q = ls; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) cap++;
    if (cap > INT_MAX)
        return mn_error(MYNN_ERR_NOMEM, "%s: more than %d rows", path, INT_MAX);

    unsigned char *role = malloc((size_t)n_cols);
    mynn_dataset *ds = mn_dataset_new();
    float *x = NULL, *yt = NULL;
    int *labels = NULL;
    mynn_status s = MYNN_OK;
    if (!role || !ds) {
        s = mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int i = 0; i < n_cols; i++)
        role[i] = i == lab_col ? ROLE_LABEL
                  : (tgt0 >= 0 && i >= tgt0 && i < tgt0 + nt) ? ROLE_TARGET
                                                             : ROLE_INPUT;
    size_t bytes;
    if (mn_mul_size(cap, (size_t)n_in, &bytes) != 0) {
        s = mn_error(MYNN_ERR_NOMEM, "%s: too many values", path);
        goto fail;
    }
    x = mn_calloc(bytes, sizeof(float), "CSV inputs");
    if (!x) {
        s = MYNN_ERR_NOMEM;
        goto fail;
    }
    if (n_out > 0) {
        if (mn_mul_size(cap, (size_t)n_out, &bytes) != 0 ||
            !(yt = mn_calloc(bytes, sizeof(float), "CSV targets"))) {
            s = MYNN_ERR_NOMEM;
            goto fail;
        }
    }
    if (lab_col >= 0 && !(labels = mn_calloc(cap, sizeof(int), "CSV labels"))) {
        s = MYNN_ERR_NOMEM;
        goto fail;
    }

    const int skip_nf = opt->skip_nonfinite;
    const int nc_given = opt->n_classes;
    int max_label = -1;
    size_t rows = 0;
    line = first_data_line;
    for (;;) {
        /* ls..le is a non-blank line numbered line. */
        float *xr = x + rows * (size_t)n_in;
        float *yr = yt ? yt + rows * (size_t)n_out : NULL;
        int lab = 0, col = 0, skip = 0;
        const char *q = ls;
        for (;;) {
            while (q < le && is_blank(&c, *q)) q++;
            int quoted = 0;
            if (q < le && *q == '"') {
                quoted = 1;
                q++;
            }
            const char *e;
            int r;
            float v = 0.0f;
            double dv = 0.0;
            if (col < n_cols && role[col] == ROLE_LABEL) {
                r = mn_parse_double(q, &e, &dv);
                v = (float)dv;
            } else {
                r = mn_parse_float(q, &e, &v);
            }
            if (r >= 0 && e > le) r = -1;
            if (r >= 0 && quoted) {
                if (e < le && *e == '"') e++;
                else r = -1;
            }
            int last = 0;
            if (r >= 0) {
                q = e;
                if (c.ws) {
                    if (q < le && *q != ' ' && *q != '\t') r = -1;
                    while (q < le && (*q == ' ' || *q == '\t')) q++;
                    last = q == le;
                } else {
                    while (q < le && is_blank(&c, *q)) q++;
                    if (q == le) last = 1;
                    else if (*q == c.sep) q++;
                    else r = -1;
                }
            }
            if (col >= n_cols) {
                s = mn_error(MYNN_ERR_FORMAT, "%s:%ld: %d columns, expected %d", path, line,
                             count_cells(&c, ls, le), n_cols);
                goto fail;
            }
            if (r < 0) {
                /* Tell a short row apart from a bad cell. */
                int have = count_cells(&c, ls, le);
                if (have != n_cols)
                    s = mn_error(MYNN_ERR_FORMAT, "%s:%ld: %d columns, expected %d", path, line,
                                 have, n_cols);
                else
                    s = err_cell(&c, line, ls, le, col);
                goto fail;
            }
            if (r == 1) {
                if (!skip_nf) {
                    const char *cs;
                    int n;
                    cell_text(&c, ls, le, col, &cs, &n);
                    s = mn_error(MYNN_ERR_NUMERIC,
                                 "%s:%ld: column %d: non-finite value \"%.*s\" (use "
                                 "skip_nonfinite to drop such rows)",
                                 path, line, col + 1, n, cs);
                    goto fail;
                }
                skip = 1;
            } else {
                switch (role[col]) {
                case ROLE_INPUT: *xr++ = v; break;
                case ROLE_TARGET: *yr++ = v; break;
                default:
                    if (dv < 0 || dv != floor(dv) || dv > (double)INT_MAX) {
                        const char *cs;
                        int n;
                        cell_text(&c, ls, le, col, &cs, &n);
                        s = mn_error(MYNN_ERR_FORMAT,
                                     "%s:%ld: column %d: label \"%.*s\" is not a non-negative "
                                     "integer class index",
                                     path, line, col + 1, n, cs);
                        goto fail;
                    }
                    lab = (int)dv;
                    if (nc_given > 0 ? lab >= nc_given : lab >= CSV_AUTO_MAX_CLASSES) {
                        if (nc_given > 0)
                            s = mn_error(MYNN_ERR_FORMAT,
                                         "%s:%ld: column %d: label %d out of range (n_classes %d)",
                                         path, line, col + 1, lab, nc_given);
                        else
                            s = mn_error(MYNN_ERR_FORMAT,
                                         "%s:%ld: column %d: label %d out of range (more than "
                                         "%d classes; set n_classes)",
                                         path, line, col + 1, lab, CSV_AUTO_MAX_CLASSES);
                        goto fail;
                    }
                    break;
                }
            }
            col++;
            if (last) break;
        }
        if (col != n_cols) {
            s = mn_error(MYNN_ERR_FORMAT, "%s:%ld: %d columns, expected %d", path, line, col,
                         n_cols);
            goto fail;
        }
        if (!skip) {
            if (labels) {
                labels[rows] = lab;
                if (lab > max_label) max_label = lab;
            }
            rows++;
        }
        /* The next non-blank line. */
        ls = NULL;
        while (next < end) {
            line++;
            const char *t = next;
            next = line_bounds(&c, t, end, &le);
            while (t < le && is_blank(&c, *t)) t++;
            if (t < le) {
                ls = t;
                break;
            }
        }
        if (!ls) break;
    }
    if (rows == 0) {
        s = mn_error(MYNN_ERR_FORMAT, "%s: no data rows left after dropping non-finite rows",
                     path);
        goto fail;
    }

    ds->n = (int)rows;
    ds->n_inputs = n_in;
    ds->x = x;
    x = NULL;
    if (labels) {
        int nc = nc_given > 0 ? nc_given : max_label + 1;
        float *y = mn_calloc(rows * (size_t)nc, sizeof(float), "CSV one-hot targets");
        if (!y) {
            s = MYNN_ERR_NOMEM;
            goto fail;
        }
        for (size_t i = 0; i < rows; i++) y[i * (size_t)nc + (size_t)labels[i]] = 1.0f;
        ds->y = y;
        ds->labels = labels;
        labels = NULL;
        ds->n_classes = nc;
        ds->n_outputs = nc;
    } else if (yt) {
        ds->y = yt;
        yt = NULL;
        ds->n_outputs = n_out;
    }
    free(role);
    *out = ds;
    return MYNN_OK;

fail:
    free(role);
    free(x);
    free(yt);
    free(labels);
    mynn_dataset_free(ds);
    return s;
}
