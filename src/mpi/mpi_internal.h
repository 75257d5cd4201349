/* Internals of the MPI part (mpi_reducer.c, mpi_check.c); built only with
 * `make MPI=1`. */
#ifndef MN_MPI_INTERNAL_H
#define MN_MPI_INTERNAL_H

#include "mynn_mpi.h"

#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>

struct mynn_mpi {
    MPI_Comm comm;              /* a duplicate of MPI_COMM_WORLD, errors return */
    int rank, world, local;
    int multiple;               /* MPI_THREAD_MULTIPLE: the watchdog may call MPI_Abort */
    double timeout;             /* seconds a collective may take */
    mynn_reducer red;
    char error[MPI_MAX_ERROR_STRING + 128];
    long calls;                 /* gradient all-reduces, their seconds and size */
    double seconds;
    size_t floats;
    pthread_t thread;           /* the watchdog */
    _Atomic double deadline;    /* > 0: the running collective must end by then */
    const char *_Atomic what;   /* the running collective, for the message */
    atomic_int stop;
};

/* Arm the watchdog for a collective named what (NULL: disarm). */
void mn_mpi_watch(mynn_mpi *m, const char *what);

#endif
