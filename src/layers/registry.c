/* The registry: every layer kind, one row each, in mynn_layer_kind order.
 * A new kind is its own file and one row here. */
#include "layer.h"

#include <strings.h>

extern const mn_kind mn_dense_kind, mn_dropout_kind, mn_conv_kind, mn_maxpool_kind, mn_avgpool_kind,
    mn_gap_kind, mn_flatten_kind, mn_batchnorm_kind, mn_activation_kind, mn_add_kind, mn_concat_kind,
    mn_embedding_kind, mn_rnn_kind, mn_lstm_kind, mn_gru_kind;

static const mn_kind *const g_kinds[] = {
    &mn_dense_kind,     /* MYNN_LAYER_DENSE */
    &mn_dropout_kind,   /* MYNN_LAYER_DROPOUT */
    &mn_conv_kind,      /* MYNN_LAYER_CONV */
    &mn_maxpool_kind,   /* MYNN_LAYER_MAXPOOL */
    &mn_avgpool_kind,   /* MYNN_LAYER_AVGPOOL */
    &mn_gap_kind,       /* MYNN_LAYER_GLOBAL_AVGPOOL */
    &mn_flatten_kind,   /* MYNN_LAYER_FLATTEN */
    &mn_batchnorm_kind, /* MYNN_LAYER_BATCHNORM */
    &mn_activation_kind,/* MYNN_LAYER_ACTIVATION */
    &mn_add_kind,       /* MYNN_LAYER_ADD */
    &mn_concat_kind,    /* MYNN_LAYER_CONCAT */
    &mn_embedding_kind, /* MYNN_LAYER_EMBEDDING */
    &mn_rnn_kind,       /* MYNN_LAYER_RNN */
    &mn_lstm_kind,      /* MYNN_LAYER_LSTM */
    &mn_gru_kind,       /* MYNN_LAYER_GRU */
};

#define N_KINDS ((int)(sizeof g_kinds / sizeof *g_kinds))

int mn_kind_count(void) { return N_KINDS; }
const mn_kind *mn_kind_at(int i) { return i >= 0 && i < N_KINDS ? g_kinds[i] : NULL; }

const mn_kind *mn_kind_of(mynn_layer_kind id)
{
    for (int i = 0; i < N_KINDS; i++)
        if (g_kinds[i]->id == id) return g_kinds[i];
    return NULL;
}

/* A name is matched without regard to case (activation names always were);
 * an item that starts with a number is the numeric kind's (dense: 128:relu). */
const mn_kind *mn_kind_for_item(const char *name)
{
    for (int i = 0; i < N_KINDS; i++)
        for (const char *const *n = g_kinds[i]->spec_names; n && *n; n++)
            if (strcasecmp(name, *n) == 0) return g_kinds[i];
    if ((*name >= '0' && *name <= '9') || *name == '-' || *name == '+')
        for (int i = 0; i < N_KINDS; i++)
            if (g_kinds[i]->numeric_item) return g_kinds[i];
    return NULL;
}
