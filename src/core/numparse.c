/* Locale-independent number parsing and formatting.
 *
 * Parsing: the text is scanned here (only '.' is a decimal point).  Common
 * values are converted exactly with the classic fast path (an integer
 * mantissa below 2^53 times or divided by an exact power of ten); the rest
 * is handed to strtod/strtof rewritten as "<digits>e<exponent>", a form with
 * no decimal point, which every locale reads the same way, so the result is
 * still correctly rounded.
 *
 * Formatting: "%.*e" at the fewest digits that read back exactly; the digits and exponent are taken from that output (skipping
 * whatever decimal point the locale uses) and laid out again with '.'. */
#include "numparse.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(FLT_EVAL_METHOD) && (FLT_EVAL_METHOD == 0 || FLT_EVAL_METHOD == 1)
#define MN_FAST_PATH 1
#else
#define MN_FAST_PATH 0
#endif

#define MN_SLOW_DIGITS 200

static const double p10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

typedef struct scan_t {
    int neg;
    int special;          /* 0 number, 1 nan, 2 inf */
    uint64_t mant;        /* the first (up to 19) significant digits */
    int nkept;            /* digits in mant */
    int dropped_nonzero;  /* a non-zero significant digit beyond those */
    const char *sig;      /* first significant digit (NULL: the value is 0) */
    long long nsig;       /* digits from sig to the last mantissa digit */
    long long exp_full;   /* value = (all nsig digits) * 10^exp_full */
} scan_t;

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int word_at(const char *p, const char *w)
{
    size_t i = 0;
    for (; w[i]; i++)
        if (lower(p[i]) != w[i]) return 0;
    return (int)i;
}

/* Returns 0 and fills t, *endp; or -1. */
static int scan(const char *s, const char **endp, scan_t *t)
{
    const char *p = s;
    memset(t, 0, sizeof *t);
    if (*p == '+' || *p == '-') t->neg = (*p++ == '-');

    if (lower(*p) == 'n' || lower(*p) == 'i') {
        int k;
        if ((k = word_at(p, "nan")) > 0) {
            t->special = 1;
            *endp = p + k;
            return 0;
        }
        if ((k = word_at(p, "infinity")) > 0 || (k = word_at(p, "inf")) > 0) {
            t->special = 2;
            *endp = p + k;
            return 0;
        }
        return -1;
    }

    long long digits = 0, frac_digits = 0;
    int in_frac = 0;
    for (;; p++) {
        char c = *p;
        if (c == '.' && !in_frac) {
            in_frac = 1;
            continue;
        }
        if (!is_digit(c)) break;
        digits++;
        if (in_frac) frac_digits++;
        if (!t->sig) {
            if (c == '0') continue;   /* leading zero: not significant */
            t->sig = p;
        }
        t->nsig++;
        if (t->nkept < 19) {
            t->mant = t->mant * 10 + (uint64_t)(c - '0');
            t->nkept++;
        } else if (c != '0') {
            t->dropped_nonzero = 1;
        }
    }
    if (digits == 0) return -1;
    /* A lone "." after digits is accepted ("5."), a lone "." is not. */

    long long e = 0;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        int eneg = 0;
        if (*q == '+' || *q == '-') eneg = (*q++ == '-');
        if (is_digit(*q)) {
            for (; is_digit(*q); q++)
                if (e < 1000000) e = e * 10 + (*q - '0');
            if (eneg) e = -e;
            p = q;
        }
    }
    t->exp_full = e - frac_digits;
    *endp = p;
    return 0;
}

/* "<digits>e<exp>" for strtod: no decimal point, so no locale involved. */
static void slow_text(const scan_t *t, char *buf)
{
    char *b = buf;
    const char *p = t->sig;
    long long left = t->nsig, w = 0;
    int sticky = 0;
    while (left > 0) {
        char c = *p++;
        if (c == '.') continue;
        if (w < MN_SLOW_DIGITS) {
            *b++ = c;
            w++;
        } else if (c != '0') {
            sticky = 1;
        }
        left--;
    }
    long long e = t->exp_full + (t->nsig - w);
    if (sticky) {
        *b++ = '1';
        e--;
    }
    *b++ = 'e';
    if (e < 0) {
        *b++ = '-';
        e = -e;
    }
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + e % 10);
        e /= 10;
    } while (e);
    while (n) *b++ = tmp[--n];
    *b = '\0';
}

/* The fast path: 1 and *d when the exact, correctly rounded double is cheap. */
static int fast_double(const scan_t *t, double *d)
{
#if MN_FAST_PATH
    long long ex = t->exp_full + (t->nsig - t->nkept);
    if (t->dropped_nonzero || t->mant > ((uint64_t)1 << 53) || ex < -22 || ex > 22) return 0;
    double m = (double)t->mant;
    *d = ex >= 0 ? m * p10[ex] : m / p10[-ex];
    return 1;
#else
    (void)t;
    (void)d;
    return 0;
#endif
}

int mn_parse_double(const char *s, const char **end, double *out)
{
    scan_t t;
    const char *e;
    if (!s || scan(s, &e, &t) != 0) {
        if (end) *end = s;
        return -1;
    }
    if (end) *end = e;
    double d;
    if (t.special) {
        d = t.special == 1 ? (double)NAN : (double)INFINITY;
    } else if (!t.sig) {
        d = 0.0;
    } else if (!fast_double(&t, &d)) {
        char buf[MN_SLOW_DIGITS + 40];
        slow_text(&t, buf);
        d = strtod(buf, NULL);
    }
    *out = t.neg ? -d : d;
    return isfinite(d) ? 0 : 1;
}

int mn_parse_float(const char *s, const char **end, float *out)
{
    scan_t t;
    const char *e;
    if (!s || scan(s, &e, &t) != 0) {
        if (end) *end = s;
        return -1;
    }
    if (end) *end = e;
    float f;
    double d;
    if (t.special) {
        f = t.special == 1 ? NAN : INFINITY;
    } else if (!t.sig) {
        f = 0.0f;
    } else {
        int done = 0;
        if (fast_double(&t, &d)) {
            /* Rounding the correctly rounded double to float is correct
             * unless the double sits exactly half-way between two floats. */
            if (d >= (double)FLT_MIN && d <= (double)FLT_MAX) {
                uint64_t bits;
                memcpy(&bits, &d, sizeof bits);
                if ((bits & 0x1FFFFFFFu) != 0x10000000u) {
                    f = (float)d;
                    done = 1;
                }
            }
        }
        if (!done) {
            char buf[MN_SLOW_DIGITS + 40];
            slow_text(&t, buf);
            f = strtof(buf, NULL);
        }
    }
    *out = t.neg ? -f : f;
    return isfinite(f) ? 0 : 1;
}

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

int mn_parse_double_str(const char *s, double *out)
{
    const char *e;
    double v;
    if (!s) return -1;
    s = skip_blank(s);
    int r = mn_parse_double(s, &e, &v);
    if (r < 0 || *skip_blank(e) != '\0') return -1;
    *out = v;
    return r;
}

int mn_parse_float_str(const char *s, float *out)
{
    const char *e;
    float v;
    if (!s) return -1;
    s = skip_blank(s);
    int r = mn_parse_float(s, &e, &v);
    if (r < 0 || *skip_blank(e) != '\0') return -1;
    *out = v;
    return r;
}

int mn_parse_ll(const char *s, const char **end, long long *out)
{
    const char *p = s;
    int neg = 0;
    if (end) *end = s;
    if (!s) return -1;
    if (*p == '+' || *p == '-') neg = (*p++ == '-');
    if (!is_digit(*p)) return -1;
    unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (lim - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    if (end) *end = p;
    return 0;
}

/* ---- formatting ---------------------------------------------------------- */

/* Digits and decimal exponent of "%.*e" output, whatever the decimal point. */
static void split_e(const char *tmp, int *neg, char *dig, int *nd, int *x)
{
    const char *q = tmp;
    *neg = 0;
    if (*q == '-') {
        *neg = 1;
        q++;
    }
    *nd = 0;
    for (; *q && *q != 'e' && *q != 'E'; q++)
        if (is_digit(*q) && *nd < 40) dig[(*nd)++] = *q;
    int xs = 1, xv = 0;
    if (*q) q++;
    if (*q == '+' || *q == '-') xs = (*q++ == '-') ? -1 : 1;
    for (; is_digit(*q); q++) xv = xv * 10 + (*q - '0');
    *x = xs * xv;
}

static int render_sci(char *b, int neg, const char *dig, int nd, int x)
{
    char *p = b;
    if (neg) *p++ = '-';
    *p++ = dig[0];
    if (nd > 1) {
        *p++ = '.';
        memcpy(p, dig + 1, (size_t)(nd - 1));
        p += nd - 1;
    }
    *p++ = 'e';
    *p++ = x < 0 ? '-' : '+';
    int ax = x < 0 ? -x : x;
    char t[8];
    int n = 0;
    do {
        t[n++] = (char)('0' + ax % 10);
        ax /= 10;
    } while (ax);
    if (n < 2) t[n++] = '0';
    while (n) *p++ = t[--n];
    *p = '\0';
    return (int)(p - b);
}

static int render_fixed(char *b, int neg, const char *dig, int nd, int x)
{
    char *p = b;
    if (neg) *p++ = '-';
    if (x >= 0) {
        for (int i = 0; i <= x; i++) *p++ = i < nd ? dig[i] : '0';
        if (nd > x + 1) {
            *p++ = '.';
            memcpy(p, dig + x + 1, (size_t)(nd - x - 1));
            p += nd - x - 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x - 1; i++) *p++ = '0';
        memcpy(p, dig, (size_t)nd);
        p += nd;
    }
    *p = '\0';
    return (int)(p - b);
}

static int emit(char *buf, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (n > 0) {
        size_t c = len < n - 1 ? len : n - 1;
        memcpy(buf, s, c);
        buf[c] = '\0';
    }
    return (int)len;
}

static void digits_at(double v, int p, int *neg, char *dig, int *nd, int *x)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    split_e(tmp, neg, dig, nd, x);
    if (*nd == 0) {   /* cannot happen: keep the output well-formed */
        dig[0] = '0';
        *nd = 1;
    }
}

static int round_trips(double v, int p, int is_float)
{
    char dig[48], sci[96];
    int neg, nd, x;
    digits_at(v, p, &neg, dig, &nd, &x);
    render_sci(sci, neg, dig, nd, x);
    if (is_float) {
        float f;
        return mn_parse_float(sci, NULL, &f) == 0 && f == (float)v;
    }
    double d;
    return mn_parse_double(sci, NULL, &d) == 0 && d == v;
}

static int format_any(char *buf, size_t n, double v, int is_float)
{
    if (isnan(v)) return emit(buf, n, "nan");
    if (isinf(v)) return emit(buf, n, v < 0 ? "-inf" : "inf");

    char sci[96], fix[96], dig[48];
    int neg = 0, nd = 0, x = 0;
    /* Fewest digits that read back exactly, by bisection: 9 (float) or 17
     * (double) digits always do, and a rounding to more digits is never
     * farther from v, so this finds the shortest (or, in rare cases at a
     * power of two, one digit more); the result always reads back exactly. */
    int lo = 1, hi = is_float ? 9 : 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (round_trips(v, mid, is_float)) hi = mid;
        else lo = mid + 1;
    }
    digits_at(v, lo, &neg, dig, &nd, &x);
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    int ls = render_sci(sci, neg, dig, nd, x);
    if (x > 40 || x < -40) return emit(buf, n, sci);
    int lf = render_fixed(fix, neg, dig, nd, x);
    return emit(buf, n, lf <= ls ? fix : sci);
}

int mn_format_float(char *buf, size_t n, float v) { return format_any(buf, n, (double)v, 1); }

int mn_format_double(char *buf, size_t n, double v) { return format_any(buf, n, v, 0); }

int mn_parse_shape(const char *s, int shape[3], int *nd)
{
    long v[3];
    int k = 0;
    const char *p = s;
    while (k < 3) {
        if (*p < '0' || *p > '9') return -1;
        long x = 0;
        while (*p >= '0' && *p <= '9') {
            x = x * 10 + (*p++ - '0');
            if (x > (1L << 24)) return -1;
        }
        if (x < 1) return -1;
        v[k++] = x;
        if (*p == '\0') break;
        if (*p != 'x' && *p != 'X') return -1;
        p++;
    }
    if (*p != '\0' || k < 2) return -1;
    shape[0] = (int)v[0];
    shape[1] = k == 3 ? (int)v[1] : 1;
    shape[2] = (int)v[k - 1];
    *nd = k == 3 ? 2 : 1;
    return 0;
}
