/* Data-parallel runs of the tool: `mpirun -np N mynn train ...`.  Built
 * with MYNN_HAVE_MPI (make MPI=1) this wraps include/mynn_mpi.h; without
 * it every function says "one process", so the rest of the tool has no
 * #ifdef.  The tool starts MPI only when an MPI launcher started it. */
#include "cli.h"

#ifdef MYNN_HAVE_MPI
#include "mynn_mpi.h"

#include <stdlib.h>

static mynn_mpi *g_mpi;

int cli_dist_env_rank(void) { return mynn_mpi_launched() ? mynn_mpi_env_rank() : 0; }

int cli_dist_start(double timeout)
{
    if (!mynn_mpi_launched()) return CLI_OK;
    if (mynn_mpi_init(&g_mpi)) {
        cli_lib_error("cannot start MPI");
        return CLI_FAIL;
    }
    mynn_mpi_set_timeout(g_mpi, timeout);
    return CLI_OK;
}

int cli_dist_rank(void) { return mynn_mpi_rank(g_mpi); }
int cli_dist_world(void) { return mynn_mpi_world(g_mpi); }
int cli_dist_local_ranks(void) { return mynn_mpi_local_ranks(g_mpi); }
const mynn_reducer *cli_dist_reducer(void) { return mynn_mpi_reducer(g_mpi); }

int cli_dist_check(mynn_net *net, const mynn_fit_options *o, const mynn_dataset *train,
                   const mynn_dataset *val, const mynn_dataset *test)
{
    if (!g_mpi || !mynn_mpi_check_run(g_mpi, net, o, train, val, test)) return CLI_OK;
    /* Every rank sees the same mismatch: rank 0 says it. */
    if (mynn_mpi_rank(g_mpi) == 0) cli_lib_error("mpirun");
    else cli_error_silence();
    return CLI_FAIL;
}

int cli_dist_check_weights(mynn_net *net)
{
    if (!g_mpi || !mynn_mpi_check_weights(g_mpi, net)) return CLI_OK;
    if (mynn_mpi_rank(g_mpi) == 0) cli_lib_error("mpirun");
    else cli_error_silence();
    return CLI_FAIL;
}

void cli_dist_report(void)
{
    long calls;
    double sec;
    size_t floats;
    mynn_mpi_stats(g_mpi, &calls, &sec, &floats);
    if (!g_mpi || calls < 1) return;
    cli_printf("all-reduce: %d ranks, %ld steps of %zu floats, %.3f ms per step (%.2f s in all)\n",
               mynn_mpi_world(g_mpi), calls, floats, 1e3 * sec / (double)calls, sec);
}

int cli_dist_end(int rc)
{
    if (!g_mpi) return rc;
    /* A failed rank may leave the others inside a collective: end them all. */
    if (rc != CLI_OK && mynn_mpi_world(g_mpi) > 1) mynn_mpi_abort(g_mpi, rc);
    mynn_mpi_finalize(g_mpi);
    g_mpi = NULL;
    return rc;
}

#else

int cli_dist_env_rank(void) { return 0; }
int cli_dist_start(double timeout) { (void)timeout; return CLI_OK; }
int cli_dist_rank(void) { return 0; }
int cli_dist_world(void) { return 1; }
int cli_dist_local_ranks(void) { return 1; }
const mynn_reducer *cli_dist_reducer(void) { return NULL; }
int cli_dist_check(mynn_net *net, const mynn_fit_options *o, const mynn_dataset *train,
                   const mynn_dataset *val, const mynn_dataset *test)
{
    (void)net, (void)o, (void)train, (void)val, (void)test;
    return CLI_OK;
}
int cli_dist_check_weights(mynn_net *net) { (void)net; return CLI_OK; }
void cli_dist_report(void) {}
int cli_dist_end(int rc) { return rc; }

#endif
