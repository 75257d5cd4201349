/* The step's thread team: one OpenMP parallel region that a whole
 * training step runs in (src/train/fit.c).  Each thread of the region
 * calls mn_team_enter first; from then on every kernel it calls is a job
 * of the team: cut into parts (by shape only), which the threads claim
 * one at a time, and complete when all its parts are done.  Every thread
 * meets the same jobs in the same order, so a job is named by its index
 * in the step.
 *
 * Why claiming instead of static shares and barriers: on a machine whose
 * cores are busy with other work a thread can lose its core for a
 * scheduler slice (milliseconds).  A barrier would wait that long at every
 * kernel; here the running thread claims the late one's parts itself, and
 * a late thread that finds a job finished skips it.  Results do not
 * change: each part's floats depend only on its index.
 *
 * Two words say where the team is, each (job + 1) << 24 | count:
 *   claim  the newest job started and how many of its parts are claimed;
 *   done   the newest job with a completed part and how many are done.
 * A thread passes a job only when all its parts are done (or, for the
 * optimizer updates, all claimed), so a newer job in claim means every
 * older one is finished.
 *
 * The team is reached through thread-local state, not omp_in_parallel():
 * a caller's own parallel region (each thread running its own network)
 * keeps the kernels' own regions. */
#include "kernels.h"

#include <sched.h>
#include <stdatomic.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static void cpu_relax(void) { _mm_pause(); }
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
static void cpu_relax(void) { __asm__ volatile("yield"); }
#else
static void cpu_relax(void) {}
#endif

#define PART_BITS 24
#define PART_MASK (((uint64_t)1 << PART_BITS) - 1)

static _Thread_local mn_team *g_team;
static _Thread_local int g_size, g_single;
static _Thread_local uint64_t g_seq; /* jobs met so far in this team */

void mn_team_init(mn_team *tm)
{
    atomic_init(&tm->claim, 0);
    atomic_init(&tm->done, 0);
}

void mn_team_enter(mn_team *tm)
{
    int t = 0, nt = 1;
    mn_thread_id(&t, &nt);
    g_team = tm;
    g_size = nt > 1 ? nt : 0;
    g_seq = 0;
}


void mn_team_leave(void)
{
    g_team = NULL;
    g_size = 0;
}

int mn_team_size(void) { return g_size; }

int mn_team_suspend(void)
{
    int s = g_size;
    g_size = 0;
    g_single = 1;
    return s;
}

void mn_team_resume(int size)
{
    g_size = size;
    g_single = 0;
}

int mn_team_single(void) { return g_single; }

uint64_t mn_job_begin(void) { return ++g_seq; }

int mn_job_claim(uint64_t job, int parts)
{
    mn_team *tm = g_team;
    uint64_t w = atomic_load_explicit(&tm->claim, memory_order_relaxed);
    for (;;) {
        uint64_t at = w >> PART_BITS, p = w & PART_MASK, nw;
        if (at > job) return -1;          /* finished, a newer one started */
        if (at < job) {                    /* the first here starts it */
            p = 0;
            nw = job << PART_BITS | 1;
        } else {
            if (p >= (uint64_t)parts) return -1;
            nw = w + 1;
        }
        if (atomic_compare_exchange_weak_explicit(&tm->claim, &w, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return (int)p;
    }
}

void mn_job_done(uint64_t job)
{
    mn_team *tm = g_team;
    uint64_t w = atomic_load_explicit(&tm->done, memory_order_relaxed), nw;
    do {
        nw = (w >> PART_BITS) == job ? w + 1 : job << PART_BITS | 1;
    } while (!atomic_compare_exchange_weak_explicit(&tm->done, &w, nw, memory_order_acq_rel,
                                                    memory_order_relaxed));
}

/* Spins a while, then yields the core: the part being waited for may
 * belong to a thread that needs this core to run. */
void mn_job_wait(uint64_t job, int parts)
{
    mn_team *tm = g_team;
    const uint64_t full = job << PART_BITS | (uint64_t)parts;
    for (unsigned spins = 0;; spins++) {
        uint64_t w = atomic_load_explicit(&tm->done, memory_order_acquire);
        if (w == full || (w >> PART_BITS) > job) return;
        if (spins < 256) cpu_relax();
        else sched_yield();
    }
}

void mn_share(size_t n, int t, int nt, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)t / (size_t)nt;
    *hi = n * (size_t)(t + 1) / (size_t)nt;
}
