/* Buffers planned by lifetime (network.h): the first-fit placement that
 * backward's gradients (graph.c) and inference's outputs use, and the
 * plan of the outputs (mn_plan_outputs): the standalone C and the int8
 * engine run a graph in one arena whose size is what is alive at once,
 * not the sum of all outputs. */
#include "core/core.h"
#include "network.h"

#include <stdlib.h>

#define ALIGN 4   /* floats: 16 bytes */

typedef mn_span buffer;

size_t mn_first_fit(mn_span *b, int n, size_t align)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t at = 0;
        for (int moved = 1; moved;) {   /* past every overlapping live span, until none is left */
            moved = 0;
            for (int j = 0; j < i; j++) {
                if (b[j].dies < b[i].born || b[i].dies < b[j].born) continue;
                if (at < b[j].at + b[j].size && b[j].at < at + b[i].size) {
                    at = (b[j].at + b[j].size + align - 1) / align * align;
                    moved = 1;
                }
            }
        }
        b[i].at = at;
        if (at + b[i].size > total) total = at + b[i].size;
    }
    return total;
}

mynn_status mn_plan_outputs(const mynn_net *net, const int *role, int input_in_arena, long *ofs, long *input_ofs,
                            size_t *total)
{
    const int N = net->n_layers;
    int *last = calloc((size_t)N + 1, sizeof *last);    /* index v + 1: the last node reading v */
    int *owner = calloc((size_t)N + 1, sizeof *owner);  /* index v + 1: v's buffer, -1 external */
    buffer *b = calloc((size_t)N + 1, sizeof *b);
    if (!last || !owner || !b) {
        free(last);
        free(owner);
        free(b);
        return mn_error(MYNN_ERR_NOMEM, "out of memory planning buffers");
    }
    for (int v = -1; v < N; v++) last[v + 1] = v;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < net->layers[i].n_src; j++)
            if (last[net->layers[i].src[j] + 1] < i) last[net->layers[i].src[j] + 1] = i;
    int nb = 0;
    owner[0] = -1;
    if (input_in_arena) {
        b[nb] = (buffer){(size_t)net->n_inputs, 0, -1, last[0]};
        owner[0] = nb++;
    }
    for (int i = 0; i < N; i++) {
        const mn_layer *l = &net->layers[i];
        const int src = l->src[0], so = owner[src + 1];
        if (i == N - 1) {
            owner[i + 1] = -2;   /* the caller's output */
        } else if (role[i] == MN_PLAN_ALIAS) {
            owner[i + 1] = so;
            if (so >= 0 && b[so].dies < last[i + 1]) b[so].dies = last[i + 1];
        } else if (role[i] == MN_PLAN_IN_PLACE && so >= 0 && b[so].dies <= i) {
            owner[i + 1] = so;
            b[so].dies = last[i + 1];
        } else {
            b[nb] = (buffer){(size_t)l->n_out, 0, i, last[i + 1]};
            owner[i + 1] = nb++;
        }
    }
    *total = mn_first_fit(b, nb, ALIGN);   /* nodes are born in order */
    if (*total == 0) *total = 1;
    *input_ofs = owner[0] >= 0 ? (long)b[owner[0]].at : MN_PLAN_INPUT;
    for (int i = 0; i < N; i++) {
        int o = owner[i + 1];
        ofs[i] = o == -2 ? MN_PLAN_OUTPUT : o == -1 ? MN_PLAN_INPUT : (long)b[o].at;
    }
    free(last);
    free(owner);
    free(b);
    return MYNN_OK;
}
