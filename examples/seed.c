/* The seed's example, exactly: layers of 2-3-5-2-1 nodes with tanh, sigmoid,
 * tanh, sigmoid, squared-error cost and learning rate 0.1, trained one
 * sample at a time (N = 1), then a table of x1, x2, y and the prediction.
 *
 * The data: a 4 × 4 grid over the unit square with y = x1·x2, a smooth
 * surface in [0, 1] (the last layer is a sigmoid).  Usage: seed [epochs] */
#include "mynn.h"

#include <stdio.h>
#include <stdlib.h>

#define N 16

static int fail(const char *what)
{
    fprintf(stderr, "seed: %s: %s\n", what, mynn_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 3000;
    float x[N * 2], y[N];
    for (int i = 0; i < N; i++) {
        float x1 = (float)(i % 4) / 3.0f, x2 = (float)(i / 4) / 3.0f;
        x[2 * i] = x1;
        x[2 * i + 1] = x2;
        y[i] = x1 * x2;
    }

    mynn_net *net;
    if (mynn_create(&net, 2)) return fail("create");
    const mynn_activation acts[4] = {MYNN_ACT_TANH, MYNN_ACT_SIGMOID, MYNN_ACT_TANH, MYNN_ACT_SIGMOID};
    const int units[4] = {3, 5, 2, 1};
    for (int l = 0; l < 4; l++)
        if (mynn_add_dense(net, units[l], acts[l])) return fail("add layer");
    if (mynn_set_loss(net, MYNN_LOSS_MSE) || mynn_build(net, N, MYNN_INIT_AUTO, 42))
        return fail("build");

    float pred[N], first = 0.0f, cost = 0.0f;
    for (int e = 0; e <= epochs; e++) {
        if (e % (epochs / 5 > 0 ? epochs / 5 : 1) == 0) {
            mynn_predict(net, x, N, pred);
            mynn_loss_value(net, pred, y, N, &cost);
            if (e == 0) first = cost;
            printf("epoch %5d  cost %.6f\n", e, cost);
        }
        if (e == epochs) break;
        for (int i = 0; i < N; i++) /* the seed's per-sample training */
            if (mynn_train_step(net, &x[2 * i], &y[i], 1, 0.1f, NULL)) return fail("train");
    }

    printf("\n   x1     x2      y     prediction\n");
    for (int i = 0; i < N; i++)
        printf("%6.3f %6.3f %6.3f   %8.4f\n", x[2 * i], x[2 * i + 1], y[i], pred[i]);
    printf("\ncost fell from %.6f to %.6f (%.1fx)\n", first, cost, first / cost);
    mynn_free(net);
    return 0;
}
