/*
 * mynn_mpi.h - data-parallel training over MPI (optional part: build with
 * `make MPI=1`, link build/libmynn_mpi.a, libmynn and the MPI libraries,
 * e.g. `mpicc prog.c -Iinclude build/libmynn_mpi.a build/libmynn.a -lm -fopenmp -lz`).
 *
 * It supplies a mynn_reducer (mynn.h) made of MPI_Allreduce(MPI_IN_PLACE,
 * MPI_SUM) on a duplicate of MPI_COMM_WORLD, so `mpirun -np N prog` trains
 * one model with N processes:
 *
 *     mynn_mpi *mpi;
 *     if (mynn_mpi_init(&mpi)) ...;                 // MPI_Init_thread, watchdog
 *     ... load the same data and build the same net on every rank, with
 *         max_batch >= the rank's share (batch / world, rounded up) ...
 *     if (mynn_mpi_check_run(mpi, net, &o, train, val, test)) ...; // all ranks agree?
 *     o.reducer = mynn_mpi_reducer(mpi);
 *     s = mynn_fit(net, train, val, &o);
 *     if (s) mynn_mpi_abort(mpi, 1);                  // never leave peers waiting
 *     mynn_mpi_finalize(mpi);
 *
 * Faults.  The communicator's error handler is MPI_ERRORS_RETURN, so a
 * failed collective comes back as MYNN_ERR_COMM with MPI's error text.  MPI
 * has no timeout for a collective whose peer is gone or hangs, so a
 * watchdog thread aborts every rank (MPI_Abort, after one line on stderr
 * naming the rank, the collective and the time waited) when a collective
 * has not finished after the timeout.  A rank killed outright is seen by
 * Open MPI's mpirun itself, which then ends all the others ("mpirun
 * noticed that process rank R ... exited on signal 9").
 *
 * One process, one thread calls these (the watchdog is internal).
 */
#ifndef MYNN_MPI_H
#define MYNN_MPI_H

#include "mynn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mynn_mpi mynn_mpi;

/* Non-zero when this process was started by an MPI launcher (mpirun,
 * mpiexec, srun: the launchers' environment variables), so a tool can
 * choose to train in parallel without being told. */
MYNN_API int mynn_mpi_launched(void);
/* The rank the launcher gave this process (-1 when not launched), known
 * before MPI is initialised (to keep ranks > 0 quiet). */
MYNN_API int mynn_mpi_env_rank(void);

/* Initialise MPI (MPI_THREAD_MULTIPLE, for the watchdog's MPI_Abort), the
 * communicator and the watchdog (timeout 300 s).  MYNN_ERR_COMM when MPI
 * cannot start. */
MYNN_API mynn_status mynn_mpi_init(mynn_mpi **out);
/* Seconds a collective may take before the watchdog aborts every rank
 * (> 0).  It covers the waits for the slowest rank too (data loading,
 * rank 0 writing a checkpoint), so leave room for them. */
MYNN_API void mynn_mpi_set_timeout(mynn_mpi *m, double seconds);
MYNN_API int  mynn_mpi_rank(const mynn_mpi *m);
MYNN_API int  mynn_mpi_world(const mynn_mpi *m);
/* Ranks on this machine (to share its cores among them). */
MYNN_API int  mynn_mpi_local_ranks(const mynn_mpi *m);
/* The reducer for mynn_fit_options.reducer and mynn_evaluate_reduced
 * (valid until mynn_mpi_finalize). */
MYNN_API const mynn_reducer *mynn_mpi_reducer(mynn_mpi *m);

/* Collective: refuse to train unless every rank has the same build, the
 * same network (architecture and starting weights), the same options and
 * the same training, validation and test data (val, test may be NULL).
 * Each is hashed and the hashes gathered (MPI_Allgather); on a mismatch
 * every rank gets MYNN_ERR_ARG and a message naming what differs and on
 * which ranks. */
MYNN_API mynn_status mynn_mpi_check_run(mynn_mpi *m, mynn_net *net, const mynn_fit_options *o,
                                        const mynn_dataset *train, const mynn_dataset *val,
                                        const mynn_dataset *test);
/* Collective: MYNN_ERR_STATE unless net's parameters are bit for bit the
 * same on every rank (after training: the ranks did not drift apart). */
MYNN_API mynn_status mynn_mpi_check_weights(mynn_mpi *m, mynn_net *net);

/* Gradient all-reduces so far: calls, seconds inside them (wall clock on
 * this rank, so including the wait for slower ranks) and floats per call. */
MYNN_API void mynn_mpi_stats(const mynn_mpi *m, long *calls, double *seconds, size_t *floats);

/* End every rank now (MPI_Abort with code): for a failure on one rank,
 * whose peers may be waiting in a collective. Does not return. */
MYNN_API void mynn_mpi_abort(mynn_mpi *m, int code);
/* Stop the watchdog, MPI_Finalize, free m (NULL: no-op). */
MYNN_API void mynn_mpi_finalize(mynn_mpi *m);

#ifdef __cplusplus
}
#endif
#endif /* MYNN_MPI_H */
