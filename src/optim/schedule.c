/* Learning-rate schedules: the rate of one epoch as a pure function of the
 * base rate and the epoch number (no state, so a resumed run gets the same
 * rates).
 *   constant  lr
 *   step      lr · gamma^floor(e / step_size)
 *   cosine    min_lr + (lr - min_lr) · (1 + cos(π e / T)) / 2,  min_lr once e >= T
 * Warm-up (warmup_epochs = w > 0) comes first for every kind: epoch e < w
 * gets lr · (e + 1) / w; afterwards the schedule runs on e - w, and the
 * cosine length T is total_epochs - w, so it ends at min_lr on the last of
 * total_epochs epochs. */
#include "mynn.h"

#include <math.h>

float mynn_schedule_lr(const mynn_schedule *s, float lr, int epoch)
{
    if (!s) return lr;
    if (epoch < 0) epoch = 0;
    int w = s->warmup_epochs > 0 ? s->warmup_epochs : 0;
    if (epoch < w) return (float)((double)lr * (epoch + 1) / w);
    int e = epoch - w;
    switch (s->kind) {
    case MYNN_SCHED_STEP:
        if (s->step_size < 1) return lr;
        return (float)((double)lr * pow((double)s->gamma, (double)(e / s->step_size)));
    case MYNN_SCHED_COSINE: {
        int t = s->total_epochs - w;
        if (s->total_epochs <= 0 || t <= 0) return lr;
        if (e >= t) return s->min_lr;
        double c = 0.5 * (1.0 + cos(3.14159265358979323846 * e / t));
        return (float)((double)s->min_lr + ((double)lr - s->min_lr) * c);
    }
    default:
        return lr;
    }
}
