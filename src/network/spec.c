/* The one-argument architecture description, as mynn_add_layers documents:
 * "conv:32:3:relu:pad=1,maxpool:2,flatten,128:relu,dropout:0.3,10:softmax".
 * Each comma-separated item is a kind followed by ':'-separated fields:
 * positional ones first, then key=value ones.  One table entry per kind. */
#include "core/core.h"
#include "io/numparse.h"
#include "network.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MN_SPEC_MAX 4096
#define MAX_FIELDS 8

typedef struct item {
    int index;                  /* 1-based position, for messages */
    const char *kind;
    char *pos[MAX_FIELDS];      /* positional fields after the kind */
    int n_pos;
    char *key[MAX_FIELDS], *val[MAX_FIELDS];
    int n_keys;
} item;

static mynn_status bad(const item *it, const char *what)
{
    return mn_error(MYNN_ERR_ARG, "layer %d (%s): %s", it->index, it->kind, what);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (e == s || *e || errno || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* "3" or "3x5" */
static int parse_pair(const char *s, int *a, int *b)
{
    const char *x = strchr(s, 'x');
    if (!x) {
        if (parse_int(s, 1, 4096, a)) return -1;
        *b = *a;
        return 0;
    }
    char first[16];
    size_t n = (size_t)(x - s);
    if (n == 0 || n >= sizeof first) return -1;
    memcpy(first, s, n);
    first[n] = '\0';
    return parse_int(first, 1, 4096, a) || parse_int(x + 1, 1, 4096, b) ? -1 : 0;
}

static mynn_status activation_field(const item *it, const char *s, mynn_activation *act)
{
    if (mynn_activation_from_name(s, act) == MYNN_OK) return MYNN_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "unknown activation \"%.40s\" (identity, sigmoid, tanh, relu, "
             "leaky_relu, gelu, softmax)", s);
    return bad(it, msg);
}

/* Only keys among allowed (a NULL-terminated list) may appear. */
static mynn_status check_keys(const item *it, const char *const *allowed)
{
    for (int k = 0; k < it->n_keys; k++) {
        int ok = 0;
        for (int a = 0; allowed[a]; a++) ok |= strcmp(it->key[k], allowed[a]) == 0;
        if (!ok) {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown key \"%.32s\"", it->key[k]);
            return bad(it, msg);
        }
    }
    return MYNN_OK;
}

static const char *key_value(const item *it, const char *key)
{
    for (int k = 0; k < it->n_keys; k++)
        if (strcmp(it->key[k], key) == 0) return it->val[k];
    return NULL;
}

/* conv:F:K[xK2][:ACT][:stride=S][:pad=P|same]  (conv1d: K only) */
static mynn_status parse_conv(mynn_net *net, const item *it, int dims)
{
    static const char *const keys[] = {"stride", "pad", NULL};
    mynn_status s = check_keys(it, keys);
    if (s) return s;
    int filters, kh, kw, stride = 1, pad = 0;
    if (it->n_pos < 2 || it->n_pos > 3)
        return bad(it, dims == 1 ? "expected conv1d:FILTERS:K[:ACT][:stride=S][:pad=P|same]"
                                 : "expected conv:FILTERS:K[:ACT][:stride=S][:pad=P|same]");
    if (parse_int(it->pos[0], 1, 1 << 24, &filters)) return bad(it, "FILTERS must be a count >= 1");
    if (dims == 1 ? parse_int(it->pos[1], 1, 4096, &kw) : parse_pair(it->pos[1], &kh, &kw))
        return bad(it, dims == 1 ? "K must be a kernel size >= 1" : "K must be a kernel size >= 1 (or KxK)");
    mynn_activation act = MYNN_ACT_IDENTITY;
    if (it->n_pos == 3 && (s = activation_field(it, it->pos[2], &act))) return s;
    const char *v;
    if ((v = key_value(it, "stride")) && parse_int(v, 1, 4096, &stride))
        return bad(it, "stride must be an integer >= 1");
    if ((v = key_value(it, "pad"))) {
        if (strcmp(v, "same") == 0) pad = MYNN_PAD_SAME;
        else if (parse_int(v, 0, 4096, &pad)) return bad(it, "pad must be an integer >= 0 or same");
    }
    return dims == 1 ? mynn_add_conv1d(net, filters, kw, stride, pad, act)
                     : mynn_add_conv2d(net, filters, kh, kw, stride, pad, act);
}

static mynn_status parse_conv2d(mynn_net *net, const item *it) { return parse_conv(net, it, 2); }
static mynn_status parse_conv1d(mynn_net *net, const item *it) { return parse_conv(net, it, 1); }

/* maxpool:K[:stride=S] and the other pools */
static mynn_status parse_pool(mynn_net *net, const item *it, int dims, mynn_layer_kind kind)
{
    static const char *const keys[] = {"stride", NULL};
    mynn_status s = check_keys(it, keys);
    if (s) return s;
    int k, stride = 0;
    if (it->n_pos != 1 || parse_int(it->pos[0], 1, 4096, &k))
        return bad(it, "expected a window size K >= 1, as maxpool:2[:stride=S]");
    const char *v = key_value(it, "stride");
    if (v && parse_int(v, 1, 4096, &stride)) return bad(it, "stride must be an integer >= 1");
    return dims == 1 ? mynn_add_pool1d(net, kind, k, stride) : mynn_add_pool2d(net, kind, k, stride);
}

static mynn_status parse_maxpool(mynn_net *net, const item *it) { return parse_pool(net, it, 2, MYNN_LAYER_MAXPOOL); }
static mynn_status parse_avgpool(mynn_net *net, const item *it) { return parse_pool(net, it, 2, MYNN_LAYER_AVGPOOL); }
static mynn_status parse_maxpool1d(mynn_net *net, const item *it) { return parse_pool(net, it, 1, MYNN_LAYER_MAXPOOL); }
static mynn_status parse_avgpool1d(mynn_net *net, const item *it) { return parse_pool(net, it, 1, MYNN_LAYER_AVGPOOL); }

/* Kinds without fields: gap, flatten, batchnorm. */
static mynn_status no_fields(const item *it)
{
    if (it->n_pos || it->n_keys) return bad(it, "takes no settings");
    return MYNN_OK;
}

static mynn_status parse_gap(mynn_net *net, const item *it)
{
    mynn_status s = no_fields(it);
    return s ? s : mynn_add_global_avgpool(net);
}

static mynn_status parse_flatten(mynn_net *net, const item *it)
{
    mynn_status s = no_fields(it);
    return s ? s : mynn_add_flatten(net);
}

static mynn_status parse_batchnorm(mynn_net *net, const item *it)
{
    mynn_status s = no_fields(it);
    if (s) return s;
    if (net->n_layers == 0) return bad(it, "batch norm cannot be the first layer (normalise the inputs instead)");
    return mynn_add_batchnorm(net);
}

static mynn_status parse_dropout(mynn_net *net, const item *it)
{
    double rate = -1.0; /* parsed without the C locale: "0.2" everywhere */
    if (it->n_pos != 1 || it->n_keys || mn_parse_double_str(it->pos[0], &rate) != 0 ||
        !(rate >= 0.0 && rate < 1.0))
        return bad(it, "needs a rate in [0, 1), as dropout:0.2");
    return mynn_add_dropout(net, (float)rate);
}

/* UNITS[:ACT] */
static mynn_status parse_dense(mynn_net *net, const item *it)
{
    int units;
    if (parse_int(it->kind, 1, 1 << 24, &units))
        return mn_error(MYNN_ERR_ARG, "layer %d: \"%s\" is not a unit count (as 128:relu) or a layer kind "
                        "(conv, conv1d, maxpool, avgpool, maxpool1d, avgpool1d, gap, flatten, batchnorm, "
                        "dropout, or an activation)", it->index, it->kind);
    if (it->n_pos > 1 || it->n_keys)
        return mn_error(MYNN_ERR_ARG, "layer %d: expected UNITS[:ACTIVATION], as 128:relu", it->index);
    mynn_activation act = MYNN_ACT_IDENTITY;
    if (it->n_pos == 1) {
        if (mynn_activation_from_name(it->pos[0], &act) != MYNN_OK)
            return mn_error(MYNN_ERR_ARG,
                            "layer %d: unknown activation \"%s\" (identity, sigmoid, tanh, relu, "
                            "leaky_relu, gelu, softmax)", it->index, it->pos[0]);
    }
    return mynn_add_dense(net, units, act);
}

static const struct {
    const char *name;
    mynn_status (*parse)(mynn_net *net, const item *it);
} g_kinds[] = {
    {"conv", parse_conv2d},       {"conv2d", parse_conv2d},   {"conv1d", parse_conv1d},
    {"maxpool", parse_maxpool},   {"maxpool2d", parse_maxpool}, {"avgpool", parse_avgpool},
    {"avgpool2d", parse_avgpool}, {"maxpool1d", parse_maxpool1d}, {"avgpool1d", parse_avgpool1d},
    {"gap", parse_gap},           {"flatten", parse_flatten}, {"batchnorm", parse_batchnorm},
    {"dropout", parse_dropout},
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

/* Splits one item in place into its kind and fields. */
static mynn_status split_item(char *text, int index, const char *spec, item *it)
{
    memset(it, 0, sizeof *it);
    it->index = index;
    char *f = trim(text), *next;
    if (*f == '\0') return mn_error(MYNN_ERR_ARG, "layer %d: empty item in \"%s\"", index, spec);
    next = strchr(f, ':');
    if (next) *next++ = '\0';
    it->kind = trim(f);
    for (f = next; f; f = next) {
        next = strchr(f, ':');
        if (next) *next++ = '\0';
        f = trim(f);
        char *eq = strchr(f, '=');
        if (eq) {
            if (it->n_keys == MAX_FIELDS) return bad(it, "too many settings");
            *eq = '\0';
            it->key[it->n_keys] = trim(f);
            it->val[it->n_keys++] = trim(eq + 1);
        } else {
            if (it->n_keys) return bad(it, "positional settings must come before key=value ones");
            if (it->n_pos == MAX_FIELDS) return bad(it, "too many settings");
            it->pos[it->n_pos++] = f;
        }
    }
    return MYNN_OK;
}

static mynn_status add_item(mynn_net *net, const item *it)
{
    for (size_t k = 0; k < sizeof g_kinds / sizeof *g_kinds; k++)
        if (strcmp(it->kind, g_kinds[k].name) == 0) return g_kinds[k].parse(net, it);
    mynn_activation act;
    if (mynn_activation_from_name(it->kind, &act) == MYNN_OK) {
        if (it->n_pos || it->n_keys) return bad(it, "an activation layer takes no settings");
        return mynn_add_activation(net, act);
    }
    return parse_dense(net, it);
}

mynn_status mynn_add_layers(mynn_net *net, const char *spec)
{
    if (!net || !spec) return mn_error(MYNN_ERR_NULL, "mynn_add_layers: NULL argument");
    size_t len = strlen(spec);
    if (len == 0) return mn_error(MYNN_ERR_ARG, "layer list is empty");
    if (len >= MN_SPEC_MAX) return mn_error(MYNN_ERR_ARG, "layer list longer than %d characters", MN_SPEC_MAX);
    char buf[MN_SPEC_MAX];
    memcpy(buf, spec, len + 1);
    int index = net->n_layers + 1;
    for (char *text = buf, *next; text; text = next, index++) {
        next = strchr(text, ',');
        if (next) *next++ = '\0';
        item it;
        mynn_status s = split_item(text, index, spec, &it);
        if (!s) s = add_item(net, &it);
        if (s) return s;
    }
    return MYNN_OK;
}
