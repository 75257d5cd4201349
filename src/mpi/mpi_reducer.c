/* The MPI reducer (include/mynn_mpi.h): MPI_Allreduce in place on a
 * duplicate of MPI_COMM_WORLD whose errors return, timed, under a watchdog.
 * Built only with `make MPI=1`; the core library knows nothing of MPI.
 *
 * The watchdog: MPI collectives have no timeout, and a peer that hangs (or
 * a network that drops without resetting the connection) would leave the
 * others blocked for ever.  Each collective records a deadline before it
 * starts; a thread wakes every 100 ms and, past the deadline, prints one
 * line and calls MPI_Abort, which ends every rank of the job. */
#include "mpi_internal.h"
#include "core/core.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int mynn_mpi_launched(void) { return mynn_mpi_env_rank() >= 0; }

int mynn_mpi_env_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "MV2_COMM_WORLD_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return -1;
}

/* Keep MPI's text of error code rc, with what failed, for last_error. */
static void set_error(mynn_mpi *m, int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
    text[len] = '\0';
    snprintf(m->error, sizeof m->error, "%s on rank %d: %s", what, m->rank, len ? text : "MPI error");
}

static void *watchdog(void *arg)
{
    mynn_mpi *m = arg;
    const struct timespec tick = {0, 100 * 1000 * 1000};
    while (!atomic_load(&m->stop)) {
        nanosleep(&tick, NULL);
        double deadline = atomic_load(&m->deadline);
        if (deadline <= 0 || now_seconds() < deadline) continue;
        const char *what = atomic_load(&m->what);
        fflush(stdout);
        fprintf(stderr, "mynn: rank %d of %d: %s has not completed after %g s (a rank died or hangs, "
                "or the network failed); aborting all ranks\n", m->rank, m->world,
                what ? what : "a collective", m->timeout);
        fflush(stderr);
        if (m->multiple) MPI_Abort(MPI_COMM_WORLD, 3);
        _exit(3);   /* without MPI_Finalize: mpirun ends the others */
    }
    return NULL;
}

void mn_mpi_watch(mynn_mpi *m, const char *what)
{
    atomic_store(&m->what, what);
    atomic_store(&m->deadline, what ? now_seconds() + m->timeout : 0.0);
}

/* Sum in place over the ranks, in pieces of at most INT_MAX elements. */
static int allreduce(mynn_mpi *m, void *buf, size_t n, MPI_Datatype type, size_t size,
                     const char *what)
{
    mn_mpi_watch(m, what);
    int rc = MPI_SUCCESS;
    for (size_t at = 0; at < n && rc == MPI_SUCCESS; at += (size_t)INT_MAX) {
        size_t c = n - at < (size_t)INT_MAX ? n - at : (size_t)INT_MAX;
        rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * size, (int)c, type, MPI_SUM, m->comm);
    }
    mn_mpi_watch(m, NULL);
    if (rc != MPI_SUCCESS) set_error(m, rc, what);
    return rc != MPI_SUCCESS;
}

static int sum_floats(float *buf, size_t n, void *ctx)
{
    mynn_mpi *m = ctx;
    double t0 = now_seconds();
    int rc = allreduce(m, buf, n, MPI_FLOAT, sizeof *buf, "MPI_Allreduce of the gradients");
    m->calls++;
    m->seconds += now_seconds() - t0;
    m->floats = n;
    return rc;
}

static int sum_doubles(double *buf, size_t n, void *ctx)
{
    return allreduce(ctx, buf, n, MPI_DOUBLE, sizeof *buf, "MPI_Allreduce of the statistics");
}

static const char *last_error(void *ctx) { return ((mynn_mpi *)ctx)->error; }

/* Ranks sharing this machine: the size of a shared-memory split. */
static int count_local(mynn_mpi *m)
{
    MPI_Comm local;
    int n = 1;
    if (MPI_Comm_split_type(m->comm, MPI_COMM_TYPE_SHARED, m->rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &n);
        MPI_Comm_free(&local);
    }
    return n;
}

mynn_status mynn_mpi_init(mynn_mpi **out)
{
    if (!out) return mn_error(MYNN_ERR_NULL, "mynn_mpi_init: NULL argument");
    *out = NULL;
    mynn_mpi *m = calloc(1, sizeof *m);
    if (!m) return mn_error(MYNN_ERR_NOMEM, "mynn_mpi_init: out of memory");
    int ready = 0, provided = MPI_THREAD_SINGLE;
    MPI_Initialized(&ready);
    int rc = ready ? MPI_Query_thread(&provided) : MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) {
        free(m);
        return mn_error(MYNN_ERR_COMM, "MPI could not start (MPI_Init_thread failed)");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &m->comm)) != MPI_SUCCESS) {
        free(m);
        return mn_error(MYNN_ERR_COMM, "MPI_Comm_dup failed");
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->world);
    m->local = count_local(m);
    m->multiple = provided >= MPI_THREAD_MULTIPLE;
    m->timeout = 300.0;
    atomic_init(&m->deadline, 0.0);
    atomic_init(&m->what, NULL);
    atomic_init(&m->stop, 0);
    m->red = (mynn_reducer){m->rank, m->world, sum_floats, sum_doubles, last_error, m};
    if (pthread_create(&m->thread, NULL, watchdog, m) != 0) {
        MPI_Comm_free(&m->comm);
        free(m);
        return mn_error(MYNN_ERR_COMM, "mynn_mpi_init: cannot start the watchdog thread");
    }
    *out = m;
    return MYNN_OK;
}

void mynn_mpi_set_timeout(mynn_mpi *m, double seconds)
{
    if (m && seconds > 0) m->timeout = seconds;
}

int mynn_mpi_rank(const mynn_mpi *m) { return m ? m->rank : 0; }
int mynn_mpi_world(const mynn_mpi *m) { return m ? m->world : 1; }
int mynn_mpi_local_ranks(const mynn_mpi *m) { return m ? m->local : 1; }
const mynn_reducer *mynn_mpi_reducer(mynn_mpi *m) { return m ? &m->red : NULL; }

void mynn_mpi_stats(const mynn_mpi *m, long *calls, double *seconds, size_t *floats)
{
    if (calls) *calls = m ? m->calls : 0;
    if (seconds) *seconds = m ? m->seconds : 0.0;
    if (floats) *floats = m ? m->floats : 0;
}

void mynn_mpi_abort(mynn_mpi *m, int code)
{
    (void)m;
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    _exit(code);
}

void mynn_mpi_finalize(mynn_mpi *m)
{
    if (!m) return;
    atomic_store(&m->stop, 1);
    pthread_join(m->thread, NULL);
    MPI_Comm_free(&m->comm);
    MPI_Finalize();
    free(m);
}
