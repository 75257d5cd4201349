/* Per-thread last-error message: the library reports, the caller decides. */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char g_message[512];

mynn_status mn_error(mynn_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_message, sizeof g_message, fmt, ap);
    va_end(ap);
    return s;
}

const char *mynn_last_error(void) { return g_message; }

const char *mynn_status_name(mynn_status s)
{
    switch (s) {
    case MYNN_OK: return "MYNN_OK";
    case MYNN_ERR_NULL: return "MYNN_ERR_NULL";
    case MYNN_ERR_ARG: return "MYNN_ERR_ARG";
    case MYNN_ERR_SHAPE: return "MYNN_ERR_SHAPE";
    case MYNN_ERR_STATE: return "MYNN_ERR_STATE";
    case MYNN_ERR_NOMEM: return "MYNN_ERR_NOMEM";
    case MYNN_ERR_NUMERIC: return "MYNN_ERR_NUMERIC";
    case MYNN_ERR_IO: return "MYNN_ERR_IO";
    case MYNN_ERR_FORMAT: return "MYNN_ERR_FORMAT";
    case MYNN_ERR_STOPPED: return "MYNN_ERR_STOPPED";
    case MYNN_ERR_COMM: return "MYNN_ERR_COMM";
    }
    return "MYNN_ERR_UNKNOWN";
}

int mn_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a) return -1;
    *out = a * b;
    return 0;
}

void *mn_calloc(size_t n, size_t size, const char *what)
{
    size_t bytes;
    if (n > MN_MAX_ELEMS || mn_mul_size(n, size, &bytes) != 0) {
        mn_error(MYNN_ERR_NOMEM, "%s: %zu elements exceed the limit of %zu", what, n,
                 (size_t)MN_MAX_ELEMS);
        return NULL;
    }
    /* 64-byte aligned (a cache line, an AVX-512 vector): calloc's blocks
     * start 16 bytes past a line, so every weight row a GEMV streams would
     * straddle one more line than it needs. free() releases it as usual. */
    size_t rounded = ((bytes ? bytes : 1) + 63) & ~(size_t)63;
    void *p = rounded >= bytes ? aligned_alloc(64, rounded) : NULL;
    if (p) memset(p, 0, rounded);
    if (!p) mn_error(MYNN_ERR_NOMEM, "%s: out of memory allocating %zu bytes", what, bytes);
    return p;
}
