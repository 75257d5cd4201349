/* Internal helpers shared by every part of the library: errors, checked
 * allocation.  Not part of the public API. */
#ifndef MN_CORE_H
#define MN_CORE_H

#include "mynn.h"
#include <stddef.h>

#if defined(__GNUC__)
#define MN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MN_PRINTF(a, b)
#endif

/* Record a formatted message for mynn_last_error() and return s. */
mynn_status mn_error(mynn_status s, const char *fmt, ...) MN_PRINTF(2, 3);

/* Largest element count one array may hold (2^28: 1 GiB of floats): a file
 * or argument claiming more gets MYNN_ERR_NOMEM, not an allocation attempt. */
#define MN_MAX_ELEMS ((size_t)1 << 28)

/* calloc of n * size bytes with overflow and limit checks; NULL on failure
 * (with the message set).  what names the buffer in the message. */
void *mn_calloc(size_t n, size_t size, const char *what);
/* a * b with overflow check: returns 0 and sets *out, or -1. */
int mn_mul_size(size_t a, size_t b, size_t *out);

#endif
