/* Atomic file replacement: everything is written to a new temporary file in
 * the target's folder ("<path>.tmp.<pid>.<counter>", created with O_EXCL),
 * flushed and fsync'ed, then renamed over the target.  Readers see either
 * the previous file or the complete new one, never a partial one.
 *
 *     mn_atomic a;
 *     mynn_status s = mn_atomic_open(&a, path);
 *     if (s) return s;
 *     s = mn_atomic_write(&a, buf, n);          // any number of writes
 *     if (!s) s = mn_atomic_printf(&a, "%d\n", k);
 *     if (s) { mn_atomic_abort(&a); return s; }
 *     return mn_atomic_commit(&a);
 *
 * On ANY failure (open, write, flush, fsync, close, rename) the temporary
 * file is removed at once, the previous file at path is left untouched, the
 * error is sticky (later writes and the commit return it again) and the
 * message (mynn_last_error) names the path and strerror.  mn_atomic_abort
 * may always be called, also after a failure or a commit (it is then a
 * no-op); after mn_atomic_commit the object is finished either way.
 * Writes are buffered.  mn_atomic_printf formats with the C library, so
 * under a comma-decimal locale "%f" writes "0,5": write floats with
 * mn_format_float (core/numparse.h) and "%s".
 * Not part of the public API. */
#ifndef MN_ATOMIC_FILE_H
#define MN_ATOMIC_FILE_H

#include "core/core.h"

#include <stddef.h>

#define MN_ATOMIC_BUFSZ 65536

typedef struct mn_atomic {
    int fd;                 /* -1 when closed */
    char *path, *tmp;       /* target and temporary names (owned) */
    mynn_status status;     /* sticky first error, MYNN_OK while fine */
    char errmsg[400];       /* that error's message, repeated on later calls */
    size_t used;            /* bytes waiting in buf */
    unsigned char *buf;     /* [MN_ATOMIC_BUFSZ] */
} mn_atomic;

/* Create the temporary file for path.  On failure nothing is left to free
 * or remove (abort is still allowed). */
mynn_status mn_atomic_open(mn_atomic *a, const char *path);
mynn_status mn_atomic_write(mn_atomic *a, const void *data, size_t n);
mynn_status mn_atomic_puts(mn_atomic *a, const char *s);
mynn_status mn_atomic_printf(mn_atomic *a, const char *fmt, ...) MN_PRINTF(2, 3);
/* Flush, fsync, close and rename over the target (then fsync the folder). */
mynn_status mn_atomic_commit(mn_atomic *a);
/* Discard: close and remove the temporary file; the target is untouched. */
void mn_atomic_abort(mn_atomic *a);

#endif
