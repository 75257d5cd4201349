/* XOR: the classic problem a single layer cannot solve.  A 2-4-1 network
 * (tanh, sigmoid, binary cross-entropy) learns it with plain gradient
 * descent on the full batch, then prints the truth table. */
#include "mynn.h"

#include <stdio.h>

int main(void)
{
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[4] = {0, 1, 1, 0};
    mynn_net *net;
    if (mynn_create(&net, 2) || mynn_add_dense(net, 4, MYNN_ACT_TANH) ||
        mynn_add_dense(net, 1, MYNN_ACT_SIGMOID) || mynn_set_loss(net, MYNN_LOSS_BCE) ||
        mynn_build(net, 4, MYNN_INIT_AUTO, 7)) {
        fprintf(stderr, "xor: %s\n", mynn_last_error());
        return 1;
    }
    float loss = 0.0f;
    for (int step = 0; step < 2000; step++)
        if (mynn_train_step(net, x, y, 4, 0.5f, &loss)) {
            fprintf(stderr, "xor: %s\n", mynn_last_error());
            return 1;
        }
    float p[4];
    mynn_predict(net, x, 4, p);
    int correct = 0;
    printf(" x1 x2 | xor | output\n");
    for (int i = 0; i < 4; i++) {
        int cls = p[i] > 0.5f;
        correct += cls == (int)y[i];
        printf("  %d  %d |  %d  | %.4f -> %d\n", (int)x[2 * i], (int)x[2 * i + 1], (int)y[i], p[i], cls);
    }
    printf("loss %.5f, accuracy %d/4 (%.0f%%)\n", loss, correct, 25.0 * correct);
    mynn_free(net);
    return correct == 4 ? 0 : 1;
}
