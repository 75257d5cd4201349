/* The feature encoding behind the public mynn_encoding handle: per input
 * column of a CSV file, numeric (with an optional imputation value) or
 * categorical (its categories, sorted and distinct); the class names of a
 * label column of strings.  The CSV loader learns and applies it
 * (csv_encode.c); encoding.c stores it in a network's metadata.  Not part of
 * the public API. */
#ifndef MN_ENCODING_H
#define MN_ENCODING_H

#include "mynn.h"

/* Limits: categories of one column and named classes. */
#define MN_ENC_MAX_NAMES (1 << 16)

typedef struct mn_enc_col {
    int n_cats;      /* 0: numeric, one input; else one-hot over cats */
    char **cats;     /* [n_cats] strictly increasing (strcmp), UTF-8 */
    int has_fill;    /* numeric: fill replaces a missing value */
    float fill;
} mn_enc_col;

struct mynn_encoding {
    int n_cols;          /* input columns of the file (label/targets not counted) */
    mn_enc_col *cols;    /* [n_cols] */
    int n_classes;       /* named classes; 0: labels are class indices */
    char **classes;      /* [n_classes] strictly increasing */
    mynn_missing missing;
};

/* A new encoding of n_cols numeric columns (NULL with the message set). */
mynn_encoding *mn_encoding_new(int n_cols);
/* Encoded inputs: one per numeric column plus each column's categories. */
long mn_encoding_width(const mynn_encoding *e);
/* 1 if e changes nothing (no classes, categories or fills): not stored. */
int mn_encoding_trivial(const mynn_encoding *e);
/* qsort/bsearch comparator of two char * (strcmp). */
int mn_name_cmp(const void *a, const void *b);

#endif
