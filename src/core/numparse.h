/* Locale-independent number parsing and formatting.  Used by the dataset
 * loaders, the model-file writer and the CLI: whatever setlocale() the host
 * program called, numbers are read and written with '.' as the decimal point.
 * Not part of the public API. */
#ifndef MN_NUMPARSE_H
#define MN_NUMPARSE_H

#include <stddef.h>

/* Enough for any mn_format_float / mn_format_double result plus the NUL. */
#define MN_NUM_BUFSZ 32

/* Parse a number at s (no leading white space is skipped):
 *     [+-]digits[.digits][(e|E)[+-]digits]     (".5" and "5." are accepted)
 * or the words nan / inf / infinity (any case, optional sign).
 * Correctly rounded; never consults the C locale.
 * Returns 0 for a finite value, 1 for a non-finite one (nan, inf, or a value
 * too large for the type), -1 when s does not start with a number.  *end
 * (may be NULL) receives the first character after the number (s on -1);
 * *out is set on 0 and 1. */
int mn_parse_double(const char *s, const char **end, double *out);
int mn_parse_float(const char *s, const char **end, float *out);

/* Parse a whole string as one number (surrounding spaces/tabs allowed):
 * same return values, -1 also when anything else follows the number. */
int mn_parse_double_str(const char *s, double *out);
/* A sample shape "CxHxW" (*nd = 2) or "CxL" (*nd = 1, stored as C × 1 × L)
 * into shape[3]; each size 1..2^24.  Returns 0, or -1 if malformed. */
int mn_parse_shape(const char *s, int shape[3], int *nd);
int mn_parse_float_str(const char *s, float *out);

/* Parse [+-]digits as a long long.  0 on success, -1 if s does not start
 * with an integer or it overflows.  *end as above. */
int mn_parse_ll(const char *s, const char **end, long long *out);

/* Write v into buf (size n) as the shortest decimal that reads back as
 * exactly v ("0.1", "1e+30", "-2.5e-07", "nan", "inf", "-inf"), always with
 * '.' as the decimal point, never consulting the locale's.  Returns the
 * length (excluding the NUL); if n is too small the result is truncated
 * (still NUL-terminated when n > 0) and the needed length is returned, as
 * snprintf does.  MN_NUM_BUFSZ bytes always suffice. */
int mn_format_float(char *buf, size_t n, float v);
int mn_format_double(char *buf, size_t n, double v);

#endif
