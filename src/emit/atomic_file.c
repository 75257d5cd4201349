/* Atomic file replacement: temporary file + fsync + rename (see the header). */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

static atomic_ulong g_counter;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Release everything; remove the temporary file if it still exists. */
static void release(mn_atomic *a, int remove_tmp)
{
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    if (remove_tmp && a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    free(a->buf);
    a->tmp = a->path = NULL;
    a->buf = NULL;
    a->used = 0;
}

/* Record the first failure: message "<what> '<path>': strerror(err)",
 * clean up, and return the status.  Later calls repeat it. */
static mynn_status failure(mn_atomic *a, int err, const char *what)
{
    if (a->status == MYNN_OK) {
        a->status = mn_error(MYNN_ERR_IO, "%s '%s': %s", what, a->path ? a->path : "?",
                             strerror(err));
        snprintf(a->errmsg, sizeof a->errmsg, "%s", mynn_last_error());
    }
    release(a, 1);
    return a->status;
}

/* The status of an object that already failed (or finished). */
static mynn_status sticky(const mn_atomic *a)
{
    if (a->status != MYNN_OK)
        return mn_error(a->status, "%s", a->errmsg[0] ? a->errmsg : "atomic file: not open");
    return mn_error(MYNN_ERR_STATE, "atomic file: not open");
}

mynn_status mn_atomic_open(mn_atomic *a, const char *path)
{
    if (!a) return mn_error(MYNN_ERR_NULL, "mn_atomic_open: NULL handle");
    memset(a, 0, sizeof *a);
    a->fd = -1;
    if (!path || !*path) {
        a->status = mn_error(MYNN_ERR_ARG, "output path is empty");
        return a->status;
    }
    a->path = dup_str(path);
    size_t n = strlen(path) + 64;
    a->tmp = malloc(n);
    a->buf = malloc(MN_ATOMIC_BUFSZ);
    if (!a->path || !a->tmp || !a->buf) {
        release(a, 0);
        a->status = mn_error(MYNN_ERR_NOMEM, "out of memory opening '%s'", path);
        return a->status;
    }
    for (int attempt = 0;; attempt++) {
        unsigned long k = atomic_fetch_add(&g_counter, 1);
        snprintf(a->tmp, n, "%s.tmp.%ld.%lu", path, (long)getpid(), k);
        a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (a->fd >= 0) return MYNN_OK;
        int err = errno;
        if (err == EINTR || (err == EEXIST && attempt < 100)) continue;
        /* Nothing was created: do not unlink a file that may be someone else's. */
        free(a->tmp);
        a->tmp = NULL;
        return failure(a, err, "cannot create");
    }
}

static mynn_status flush_buf(mn_atomic *a)
{
    size_t done = 0;
    while (done < a->used) {
        ssize_t w = write(a->fd, a->buf + done, a->used - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return failure(a, errno, "cannot write");
        }
        if (w == 0) return failure(a, EIO, "cannot write");
        done += (size_t)w;
    }
    a->used = 0;
    return MYNN_OK;
}

mynn_status mn_atomic_write(mn_atomic *a, const void *data, size_t n)
{
    if (!a) return mn_error(MYNN_ERR_NULL, "mn_atomic_write: NULL handle");
    if (a->fd < 0) return sticky(a);
    if (n && !data) return mn_error(MYNN_ERR_NULL, "mn_atomic_write: NULL data");
    const unsigned char *p = data;
    while (n) {
        size_t k = MN_ATOMIC_BUFSZ - a->used;
        if (k > n) k = n;
        memcpy(a->buf + a->used, p, k);
        a->used += k;
        p += k;
        n -= k;
        if (a->used == MN_ATOMIC_BUFSZ) {
            mynn_status s = flush_buf(a);
            if (s) return s;
        }
    }
    return MYNN_OK;
}

mynn_status mn_atomic_puts(mn_atomic *a, const char *s)
{
    if (!s) return mn_error(MYNN_ERR_NULL, "mn_atomic_puts: NULL string");
    return mn_atomic_write(a, s, strlen(s));
}

mynn_status mn_atomic_printf(mn_atomic *a, const char *fmt, ...)
{
    if (!a || !fmt) return mn_error(MYNN_ERR_NULL, "mn_atomic_printf: NULL argument");
    if (a->fd < 0) return sticky(a);
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k < 0) return failure(a, EINVAL, "cannot format output for");
    if ((size_t)k < sizeof small) return mn_atomic_write(a, small, (size_t)k);
    char *big = malloc((size_t)k + 1);
    if (!big) return failure(a, ENOMEM, "cannot format output for");
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    mynn_status s = mn_atomic_write(a, big, (size_t)k);
    free(big);
    return s;
}

/* fsync the folder holding path, so the rename itself is durable. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) dir = dup_str(".");
    else if (slash == path) dir = dup_str("/");
    else {
        dir = malloc((size_t)(slash - path) + 1);
        if (dir) {
            memcpy(dir, path, (size_t)(slash - path));
            dir[slash - path] = '\0';
        }
    }
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);   /* best effort: some file systems refuse it on folders */
        close(fd);
    }
    free(dir);
}

mynn_status mn_atomic_commit(mn_atomic *a)
{
    if (!a) return mn_error(MYNN_ERR_NULL, "mn_atomic_commit: NULL handle");
    if (a->fd < 0) return sticky(a);
    mynn_status s = flush_buf(a);
    if (s) return s;
    if (fsync(a->fd) != 0 && errno != EINVAL && errno != EROFS)
        return failure(a, errno, "cannot sync");
    int fd = a->fd;
    a->fd = -1;
    if (close(fd) != 0) return failure(a, errno, "cannot write (close failed)");
    if (rename(a->tmp, a->path) != 0) return failure(a, errno, "cannot replace");
    sync_dir(a->path);
    release(a, 0);
    a->status = MYNN_ERR_STATE;   /* finished: later calls are refused */
    snprintf(a->errmsg, sizeof a->errmsg, "atomic file: already committed");
    return MYNN_OK;
}

void mn_atomic_abort(mn_atomic *a)
{
    if (!a) return;
    release(a, 1);
    if (a->status == MYNN_OK) {
        a->status = MYNN_ERR_STATE;
        snprintf(a->errmsg, sizeof a->errmsg, "atomic file: already aborted");
    }
}
