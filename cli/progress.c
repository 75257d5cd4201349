/* The training progress bar (stderr, redrawn with \r; only on a terminal). */
#include "cli.h"

#include <stdio.h>
#include <time.h>

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *p, int enabled, int epochs, int batch, int n_samples)
{
    p->enabled = enabled;
    p->epochs = epochs;
    p->batch = batch;
    p->n_samples = n_samples;
    p->epoch_start = p->last_draw = 0.0;
    p->loss_avg = 0.0f;
    p->loss_count = 0;
    p->drawn = 0;
}

static void format_time(char *buf, size_t n, double s)
{
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void cli_progress_batch(cli_progress *p, int epoch, int b, int n_batches, float loss)
{
    if (!p->enabled) return;
    double now = cli_now();
    if (b == 0) {
        /* The first callback comes after batch 0: start the clock one batch back. */
        p->epoch_start = now;
        p->loss_avg = 0.0f;
        p->loss_count = 0;
        p->last_draw = 0.0;
    }
    p->loss_count++;
    p->loss_avg += (loss - p->loss_avg) / (float)p->loss_count;
    int last = b + 1 == n_batches;
    if (!last && b != 0 && now - p->last_draw < 0.1) return;
    p->last_draw = now;

    double elapsed = now - p->epoch_start;
    long done_samples = (long)b * p->batch;   /* batches after the first, timed */
    double rate = elapsed > 0 && b > 0 ? done_samples / elapsed : 0.0;
    long left = (long)p->n_samples - (long)(b + 1) * p->batch;
    char eta[32] = "--:--";
    if (rate > 0) format_time(eta, sizeof eta, left > 0 ? left / rate : 0.0);

    enum { WIDTH = 24 };
    char bar[WIDTH + 1];
    int fill = (int)((long)(b + 1) * WIDTH / n_batches);
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    cli_fprintf(stderr, "\repoch %d/%d [%s] %d/%d  loss %.4f  %.0f samples/s  ETA %s\033[K",
            epoch + 1, p->epochs, bar, b + 1, n_batches, (double)p->loss_avg, rate, eta);
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_clear(cli_progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}
