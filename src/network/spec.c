/* The one-argument description of a network, as mynn_add_layers documents:
 *
 *   conv:32:3:relu:pad=1,maxpool:2,flatten,128:relu,dropout:0.3,10:softmax
 *   res(conv:32:3:pad=same,batchnorm,relu,conv:32:3:pad=same,batchnorm):relu
 *   cat(conv:16:1 | conv:16:3:pad=same | maxpool:3:stride=1:pad=1)
 *
 *   spec    := seq
 *   seq     := elem (',' elem)*                  each elem reads the one before
 *   elem    := item | block
 *   block   := ('res' | 'cat' | '') '(' seq ('|' seq)* ')' ['x' N] (':' FIELD)*
 *   item    := KIND (':' FIELD)*                 positional fields, then key=value
 *
 * res(A | B) is the sum of A and B applied to the block's input (B absent:
 * the input itself, an identity shortcut), an add node; cat(A | B | ...)
 * their concatenation, a concat node; a block's fields after ')' are its
 * join node's (res(...):relu); (A)xN and res(...)xN repeat the block N
 * times, each reading the one before.  Two keys work on any item: as=NAME
 * names the node, from=REF[+REF...] sets its inputs (default: the node
 * before), a REF being a name, a node index (0-based, as in the model
 * file's tensor names; negative: counted back from this node, -1 the one
 * before) or "input".  The kind of an item parses its own fields
 * (src/layers/<kind>.c, through the registry).
 *
 * Printing (mn_net_spec) writes the flat form: one item per node in
 * order, with from= where a node reads other than the node before, so the
 * model file's architecture maps one item to one node, layers.<i>. */
#include "core/core.h"
#include "network.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MN_SPEC_MAX 65536
#define MAX_DEPTH 32
#define MAX_REPEAT 10000
#define ITEM_MAX 512
#define MAX_KEYS (MN_ITEM_FIELDS + 2)

typedef struct parser {
    mynn_net *net;
    const char *text;
    size_t pos;
    int depth;
} parser;

/* ---- errors ------------------------------------------------------------------ */

static mynn_status column_error(const parser *p, size_t at, const char *fmt, ...) MN_PRINTF(3, 4);
static mynn_status column_error(const parser *p, size_t at, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    (void)p;
    return mn_error(MYNN_ERR_ARG, "layers: column %zu: %s", at + 1, what);
}

static char peek(const parser *p) { return p->text[p->pos]; }

static void skip_space(parser *p)
{
    while (isspace((unsigned char)peek(p))) p->pos++;
}

/* ---- one item ---------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

/* A name given with as=: a C-like identifier, not "input". */
static int name_ok(const char *s)
{
    if (!*s || strlen(s) >= sizeof ((mn_layer *)0)->name || !(isalpha((unsigned char)*s) || *s == '_')) return 0;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_') return 0;
    return strcmp(s, "input") != 0;
}

static int find_name(const mynn_net *net, const char *name)
{
    for (int i = 0; i < net->n_layers; i++)
        if (strcmp(net->layers[i].name, name) == 0) return i;
    return -2;
}

/* One REF of from=: a name, an index (negative: back from node id), or "input". */
static mynn_status parse_ref(const mynn_net *net, const mn_item *it, const char *ref, int id, int *out)
{
    if (strcmp(ref, "input") == 0) {
        *out = MN_NET_INPUT;
        return MYNN_OK;
    }
    if (isdigit((unsigned char)*ref) || *ref == '-') {
        int v;
        if (mn_item_int(ref, -MN_MAX_NODES, MN_MAX_NODES, &v))
            return mn_item_error(it, "from=%s: \"%s\" is not a layer index", ref, ref);
        *out = v < 0 ? id + v : v;
        if (*out < 0 || *out >= id) {
            if (id == 0) return mn_item_error(it, "from=%s: no layer comes before this one (only input)", ref);
            return mn_item_error(it, "from=%s: no layer %s comes before this one (from= numbers layers from 0, "
                                 "as mynn info's #: 0..%d, or -1..-%d back, or input)", ref, ref, id - 1, id);
        }
        return MYNN_OK;
    }
    *out = find_name(net, ref);
    if (*out < 0) return mn_item_error(it, "from=%s: no earlier layer is named \"%s\"", ref, ref);
    return MYNN_OK;
}

/* from=REF[+REF...] into src. */
static mynn_status parse_from(const mynn_net *net, const mn_item *it, char *refs, int *src, int *n_src)
{
    *n_src = 0;
    for (char *r = refs, *next; r; r = next) {
        next = strchr(r, '+');
        if (next) *next++ = '\0';
        r = trim(r);
        if (*n_src == MN_MAX_INPUTS) return mn_item_error(it, "from= names more than %d inputs", MN_MAX_INPUTS);
        mynn_status s = parse_ref(net, it, r, net->n_layers, &src[(*n_src)++]);
        if (s) return s;
    }
    return MYNN_OK;
}

/* Splits text in place into it (kind, positional fields, key=value
 * fields), taking out the keys as= and from= that any item may carry. */
static mynn_status split_item(char *text, int index, mn_item *it, char **as, char **from)
{
    memset(it, 0, sizeof *it);
    it->index = index;
    *as = *from = NULL;
    char *f = text, *next = strchr(f, ':');
    if (next) *next++ = '\0';
    it->kind = trim(f);
    for (f = next; f; f = next) {
        next = strchr(f, ':');
        if (next) *next++ = '\0';
        f = trim(f);
        char *eq = strchr(f, '=');
        if (!eq) {
            if (it->n_keys || *as || *from) return mn_item_error(it, "positional settings must come before key=value ones");
            if (it->n_pos == MN_ITEM_FIELDS) return mn_item_error(it, "too many settings");
            it->pos[it->n_pos++] = f;
            continue;
        }
        *eq = '\0';
        char *key = trim(f), *val = trim(eq + 1);
        if (strcmp(key, "as") == 0) *as = val;
        else if (strcmp(key, "from") == 0) *from = val;
        else if (it->n_keys == MN_ITEM_FIELDS) return mn_item_error(it, "too many settings");
        else {
            it->key[it->n_keys] = key;
            it->val[it->n_keys++] = val;
        }
    }
    return MYNN_OK;
}

/* "conv, conv2d, conv1d, maxpool, ..., or an activation": every kind's
 * spec names, from the registry (an activation's names as one). */
static void kind_names(char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < mn_kind_count(); k++) {
        const mn_kind *kind = mn_kind_at(k);
        if (kind->id == MYNN_LAYER_ACTIVATION) continue;
        for (const char *const *name = kind->spec_names; name && *name && at < n; name++) {
            int w = snprintf(buf + at, n - at, "%s, ", *name);
            if (w > 0) at += (size_t)w;
        }
    }
    if (at < n) snprintf(buf + at, n - at, "or an activation");
}

/* The node an item describes, reading src (or its from=), appended;
 * n_src 0: from= must say. */
static mynn_status add_item(mynn_net *net, const char *text, size_t len, const int *src, int n_src, int allow_from)
{
    char buf[ITEM_MAX];
    const int index = net->n_layers + 1;
    if (len >= sizeof buf) return mn_error(MYNN_ERR_ARG, "layer %d: item longer than %d characters", index, ITEM_MAX - 1);
    memcpy(buf, text, len);
    buf[len] = '\0';
    mn_item it;
    char *as, *from;
    mynn_status s = split_item(buf, index, &it, &as, &from);
    if (s) return s;
    if (!*it.kind) return mn_error(MYNN_ERR_ARG, "layer %d: empty item", index);
    const mn_kind *kind = mn_kind_for_item(it.kind);
    if (!kind) {
        char names[400];
        kind_names(names, sizeof names);
        return mn_error(MYNN_ERR_ARG, "layer %d: \"%s\" is not a unit count (as 128:relu) or a layer kind (%s)",
                        index, it.kind, names);
    }
    mn_layer l = mn_new_layer(kind);
    if ((s = kind->parse(&l, &it))) return s;
    if (as) {
        if (!name_ok(as))
            return mn_item_error(&it, "as=%s: a name is a letter or _ then letters, digits or _ (at most %d), "
                                 "not \"input\"", as, (int)sizeof l.name - 1);
        if (find_name(net, as) >= 0) return mn_item_error(&it, "as=%s: layer %d has that name already", as,
                                                          find_name(net, as) + 1);
        snprintf(l.name, sizeof l.name, "%s", as);
    }
    int from_src[MN_MAX_INPUTS];
    if (from) {
        if (!allow_from) return mn_item_error(&it, "from= is given by the inputs here");
        if ((s = parse_from(net, &it, from, from_src, &n_src))) return s;
        src = from_src;
    }
    return mn_net_append(net, &l, src, n_src);
}

/* ---- the grammar ---------------------------------------------------------- */

static mynn_status parse_seq(parser *p, int in, int *out, const char *where);

/* The end of the item at p->pos: the next ',', '|' or ')'; a '(' inside
 * is an error (blocks are res(...), cat(...) and (...)). */
static mynn_status item_end(parser *p, size_t *end)
{
    size_t e = p->pos;
    while (p->text[e] && !strchr(",|)", p->text[e])) {
        if (p->text[e] == '(')
            return column_error(p, e, "'(' after \"%.*s\": a block is res(...), cat(...) or (...)",
                                (int)(e - p->pos < 40 ? e - p->pos : 40), p->text + p->pos);
        e++;
    }
    *end = e;
    return MYNN_OK;
}

/* The ')' closing the '(' at open, or an error naming open's column. */
static mynn_status matching(const parser *p, size_t open, size_t *close)
{
    int depth = 0;
    for (size_t e = open; p->text[e]; e++) {
        if (p->text[e] == '(') depth++;
        else if (p->text[e] == ')' && --depth == 0) {
            *close = e;
            return MYNN_OK;
        }
    }
    return column_error(p, open, "'(' is never closed");
}

enum { GROUP, RES, CAT };

/* The branches of one block from just after its '(' to its ')', reading
 * in; the join (add, concat) from fields; p->pos ends after the ')'. */
static mynn_status block_once(parser *p, int kind, size_t open, const char *fields, int in, int *out)
{
    static const char *const names[] = {"(...)", "res(...)", "cat(...)"};
    int outs[MN_MAX_INPUTS], nb = 0;
    p->pos = open + 1;
    for (;;) {
        skip_space(p);
        if (peek(p) == '|' || peek(p) == ')') return column_error(p, p->pos, "empty branch in %s", names[kind]);
        if (nb == MN_MAX_INPUTS) return column_error(p, p->pos, "%s has more than %d branches", names[kind], MN_MAX_INPUTS);
        mynn_status s = parse_seq(p, in, &outs[nb++], names[kind]);
        if (s) return s;
        skip_space(p);
        if (peek(p) == ')') break;
        if (peek(p) != '|') return column_error(p, p->pos, "expected ',', '|' or ')'");
        p->pos++;
    }
    p->pos++;
    if (kind == GROUP) {
        if (nb != 1) return column_error(p, open, "a group (...) has one branch (res(...) and cat(...) have more)");
        *out = outs[0];
        return MYNN_OK;
    }
    if (kind == RES && nb > 2)
        return column_error(p, open, "res(...) has a block and at most one shortcut, got %d branches", nb);
    if (kind == CAT && nb < 2) return column_error(p, open, "cat(...) needs two or more branches");
    if (kind == RES && nb == 1) outs[nb++] = in;   /* the identity shortcut */
    char join[ITEM_MAX];
    int n = snprintf(join, sizeof join, "%s%s", kind == RES ? "add" : "concat", fields);
    mynn_status s = add_item(p->net, join, (size_t)n < sizeof join ? (size_t)n : sizeof join - 1, outs, nb, 0);
    if (s) return s;
    *out = p->net->n_layers - 1;
    return MYNN_OK;
}

/* A block at p->pos (its name, if any, already read: kind), '(' at open. */
static mynn_status parse_block(parser *p, int kind, size_t open, int in, int *out)
{
    if (++p->depth > MAX_DEPTH) return column_error(p, open, "blocks nested deeper than %d", MAX_DEPTH);
    size_t close = 0;
    mynn_status s = matching(p, open, &close);
    if (s) return s;
    /* after ')': xN, then the join's fields up to the next ',', '|' or ')' */
    p->pos = close + 1;
    long reps = 1;
    skip_space(p);
    if (peek(p) == 'x' && isdigit((unsigned char)p->text[p->pos + 1])) {
        char *e;
        errno = 0;
        reps = strtol(p->text + p->pos + 1, &e, 10);
        if (errno || reps < 1 || reps > MAX_REPEAT)
            return column_error(p, p->pos, "a block repeats 1..%d times", MAX_REPEAT);
        p->pos = (size_t)(e - p->text);
    }
    char fields[ITEM_MAX] = "";
    skip_space(p);
    size_t fstart = p->pos, fend = fstart;
    if ((s = item_end(p, &fend))) return s;
    while (fend > fstart && isspace((unsigned char)p->text[fend - 1])) fend--;
    if (fend > fstart) {
        if (p->text[fstart] != ':' || kind == GROUP)
            return column_error(p, fstart, "unexpected \"%.*s\" after ')' (a block ends with xN, and res(...) "
                                "and cat(...) with :FIELDS of their join)",
                                (int)(fend - fstart < 40 ? fend - fstart : 40), p->text + fstart);
        if (fend - fstart >= sizeof fields) return column_error(p, fstart, "fields too long");
        memcpy(fields, p->text + fstart, fend - fstart);
        fields[fend - fstart] = '\0';
    }
    for (long r = 0; r < reps; r++) {
        if (p->net->n_layers >= MN_MAX_NODES)
            return column_error(p, open, "the description makes more than %d layers", MN_MAX_NODES);
        if ((s = block_once(p, kind, open, fields, in, out))) return s;
        in = *out;
    }
    p->pos = fend;
    p->depth--;
    return MYNN_OK;
}

/* One element (an item or a block) reading in. */
static mynn_status parse_elem(parser *p, int in, int *out)
{
    skip_space(p);
    size_t start = p->pos, w = start;
    while (isalpha((unsigned char)p->text[w])) w++;
    size_t open = w;
    while (isspace((unsigned char)p->text[open])) open++;
    if (p->text[open] == '(') {
        size_t n = w - start;
        int kind = n == 0 ? GROUP : n == 3 && !strncmp(p->text + start, "res", 3) ? RES
                 : n == 3 && !strncmp(p->text + start, "cat", 3) ? CAT : -1;
        if (kind < 0)
            return column_error(p, start, "unknown block \"%.*s(\" (res(...), cat(...) or (...))",
                                (int)(n < 40 ? n : 40), p->text + start);
        return parse_block(p, kind, open, in, out);
    }
    size_t end = p->pos;
    mynn_status s = item_end(p, &end);
    if (s) return s;
    s = add_item(p->net, p->text + start, end - start, &in, 1, 1);
    if (s) return s;
    p->pos = end;
    *out = p->net->n_layers - 1;
    return MYNN_OK;
}

/* elem (',' elem)*, up to a '|', ')' or the end; where names the
 * enclosing block for messages (NULL: the top level). */
static mynn_status parse_seq(parser *p, int in, int *out, const char *where)
{
    for (;;) {
        skip_space(p);
        char c = peek(p);
        if (c == '\0' || c == ',' || c == '|' || c == ')') {
            if (where) return column_error(p, p->pos, "empty item in %s", where);
            return mn_error(MYNN_ERR_ARG, "layer %d: empty item in \"%.200s\"", p->net->n_layers + 1, p->text);
        }
        mynn_status s = parse_elem(p, in, &in);
        if (s) return s;
        skip_space(p);
        if (peek(p) != ',') break;
        p->pos++;
    }
    *out = in;
    return MYNN_OK;
}

mynn_status mynn_add_layers(mynn_net *net, const char *spec)
{
    if (!net || !spec) return mn_error(MYNN_ERR_NULL, "mynn_add_layers: NULL argument");
    size_t len = strlen(spec);
    if (len == 0) return mn_error(MYNN_ERR_ARG, "layer list is empty");
    if (len >= MN_SPEC_MAX) return mn_error(MYNN_ERR_ARG, "layer list longer than %d characters", MN_SPEC_MAX - 1);
    if (net->max_batch) return mn_error(MYNN_ERR_STATE, "cannot add a layer to a network already built");
    parser p = {net, spec, 0, 0};
    int out;
    mynn_status s = parse_seq(&p, mn_net_tail(net), &out, NULL);
    if (s) return s;
    skip_space(&p);
    if (peek(&p) == ')') return column_error(&p, p.pos, "')' without a matching '('");
    if (peek(&p) == '|') return column_error(&p, p.pos, "'|' outside res(...) or cat(...)");
    return MYNN_OK;
}

mynn_status mynn_add_node(mynn_net *net, const char *item, const int *inputs, int n_inputs, int *id)
{
    if (id) *id = -1;
    if (!net || !item || (n_inputs && !inputs)) return mn_error(MYNN_ERR_NULL, "mynn_add_node: NULL argument");
    if (net->max_batch) return mn_error(MYNN_ERR_STATE, "cannot add a layer to a network already built");
    if (strpbrk(item, ",|()"))
        return mn_error(MYNN_ERR_ARG, "mynn_add_node: \"%.80s\" is not one item (no ',', '|' or parentheses)", item);
    int tail = mn_net_tail(net);
    mynn_status s = add_item(net, item, strlen(item), n_inputs ? inputs : &tail, n_inputs ? n_inputs : 1, 0);
    if (!s && id) *id = net->n_layers - 1;
    return s;
}

/* ---- printing ---------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n + 1);
    b->n += n;
}

char *mn_net_spec(const mynn_net *net)
{
    sbuf b = {0};
    put(&b, "");
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        char item[ITEM_MAX];
        l->kind->print(l, item, sizeof item);
        if (i) put(&b, ",");
        put(&b, item);
        if (l->name[0]) {
            put(&b, ":as=");
            put(&b, l->name);
        }
        if (l->n_src == 1 && l->src[0] == i - 1) continue;   /* the node before (node 0: the input) */
        put(&b, ":from=");
        for (int j = 0; j < l->n_src; j++) {
            char ref[24];
            if (l->src[j] == MN_NET_INPUT) snprintf(ref, sizeof ref, "%sinput", j ? "+" : "");
            else snprintf(ref, sizeof ref, "%s%d", j ? "+" : "", l->src[j]);
            put(&b, ref);
        }
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
