/* The CSV reader's shared parts: the text (lines, cells, quotes, missing
 * values) in csv_text.c, the column scan that finds categorical columns and
 * class names in csv_scan.c, the loader in csv.c.  Not part of the public
 * API. */
#ifndef MN_CSV_TEXT_H
#define MN_CSV_TEXT_H

#include "mynn.h"

#include <stddef.h>

enum { ROLE_INPUT = 0, ROLE_LABEL = 1, ROLE_TARGET = 2, ROLE_SKIP = 3 };

typedef struct csv_ctx {
    const char *path;
    char sep;        /* ' ' means runs of blanks */
    int ws;          /* sep is ' ' */
} csv_ctx;

/* One cell of a line with its content [cs, ce) (quotes removed, "" still
 * doubled inside when quoted). */
typedef struct csv_cell {
    const char *cs, *ce;
    int quoted;
} csv_cell;

/* Where a CSV's text stands: the current non-blank line [ls, le) numbered
 * line, and where the next line starts. */
typedef struct csv_cursor {
    const char *next, *end;
    const char *start;   /* the current line's first byte (before blanks) */
    const char *ls, *le;
    long line;
} csv_cursor;

/* Column roles and the plan of the encoded inputs. */
typedef struct csv_layout {
    int n_cols, n_in, n_out;
    int lab_col, tgt0, nt;
    unsigned char *role;    /* [n_cols] ROLE_* */
    int *in_col;            /* [n_cols] index among the input columns, or -1 */
    int *offset;            /* [input columns] first encoded input of each */
    mynn_encoding *own;     /* learned here, or NULL */
    const mynn_encoding *enc;   /* the encoding applied (own or the options') */
    int learn_auto;         /* learning with --categorical auto */
    mynn_missing missing;   /* the policy: the options', or when they say
                               error, an applied encoding's mean/median */
} csv_layout;

/* Blanks around cells: spaces, and tabs unless the separator is a tab
 * (inline: it runs for every byte). */
static inline int mn_csv_is_blank(const csv_ctx *c, char ch)
{
    return ch == ' ' || (ch == '\t' && c->sep != '\t');
}
/* The line at p: *le its end without '\r' and trailing blanks; returns the
 * start of the next line (or end). */
const char *mn_csv_line_bounds(const csv_ctx *c, const char *p, const char *end, const char **le);
/* One cell of [p, le): content bounds in *cs, *ce; returns where the next
 * cell starts and sets *more when one follows. */
const char *mn_csv_next_cell(const csv_ctx *c, const char *p, const char *le, const char **cs,
                             const char **ce, int *more);
int mn_csv_count_cells(const csv_ctx *c, const char *p, const char *le);
/* Column col's text (at most 40 bytes), for messages. */
void mn_csv_cell_text(const csv_ctx *c, const char *ls, const char *le, int col, const char **cs,
                      int *clen);
/* 1 if [cs, ce) is exactly one number (finite or not). */
int mn_csv_is_number(const char *cs, const char *ce);
/* , ; tab or blanks, from the first line. */
char mn_csv_detect_sep(const char *ls, const char *le);
/* The cell at *p into *cell, *p moved on; 1 when another cell follows. */
int mn_csv_take_cell(const csv_ctx *c, const char **p, const char *le, csv_cell *cell);
/* An empty cell, NA, ? or a NaN. */
int mn_csv_is_missing(const csv_cell *cell);
/* Index of the cell's text among n sorted names, or -1. */
int mn_csv_find_name(char *const *names, int n, const csv_cell *cell);
/* A new NUL-terminated copy of the cell's text ("" read as "). */
char *mn_csv_cell_dup(const csv_cell *cell);
/* The next non-blank line; 0 at the end. */
int mn_csv_next_line(const csv_ctx *c, csv_cursor *k);
/* Learn the kinds of the columns from the rows at k (listed[]: categorical
 * by the options; auto: input columns holding strings), and the names of
 * the categorical columns and of a label column of strings into L->own. */
mynn_status mn_csv_scan(const csv_ctx *c, const csv_cursor *k, csv_layout *L,
                        const unsigned char *listed, size_t rows);

#endif
