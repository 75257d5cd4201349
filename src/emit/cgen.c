/* Writing C99 source: exact literals, arrays, activation functions (cgen.h). */
#include "cgen.h"
#include "core/core.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int mn_cgen_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > MN_CGEN_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

void mn_cgen_upper(char *dst, const char *name)
{
    size_t i = 0;
    for (; name[i] && i < MN_CGEN_NAME_MAX; i++)
        dst[i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
    dst[i] = '\0';
}

/* From the bits: 1.m × 2^(e-127), or 0.m × 2^-126 when subnormal.  The 23
 * mantissa bits shifted left once are exactly six hex digits. */
void mn_cgen_hexf(char *buf, size_t n, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    const char *sign = u >> 31 ? "-" : "";
    unsigned e = (u >> 23) & 0xFFu;
    unsigned long m = (unsigned long)(u & 0x7FFFFFu) << 1;
    if (e == 0 && m == 0) snprintf(buf, n, "%s0.0f", sign);
    else if (e == 0) snprintf(buf, n, "%s0x0.%06lxp-126f", sign, m);
    else snprintf(buf, n, "%s0x1.%06lxp%+df", sign, m, (int)e - 127);
}

/* The array's opening line; 8 values a line after it. */
static void open_array(mn_atomic *a, const char *type, const char *name, size_t n)
{
    mn_atomic_printf(a, "static const %s %s[%zu] = {", type, name, n ? n : 1);
    if (!n) mn_atomic_puts(a, "0");
}

static mynn_status close_array(mn_atomic *a)
{
    mn_atomic_puts(a, "\n};\n\n");
    return a->status;
}

mynn_status mn_cgen_floats(mn_atomic *a, const char *name, const float *v, size_t n)
{
    open_array(a, "float", name, n);
    char lit[MN_CGEN_FLOAT_BUFSZ];
    for (size_t i = 0; i < n && !a->status; i++) {
        mn_cgen_hexf(lit, sizeof lit, v[i]);
        mn_atomic_printf(a, "%s%s,", i % 6 ? " " : "\n    ", lit);
    }
    return close_array(a);
}

mynn_status mn_cgen_int8s(mn_atomic *a, const char *name, const signed char *v, size_t n)
{
    open_array(a, "signed char", name, n);
    for (size_t i = 0; i < n && !a->status; i++)
        mn_atomic_printf(a, "%s%d,", i % 16 ? " " : "\n    ", v[i]);
    return close_array(a);
}

mynn_status mn_cgen_int32s(mn_atomic *a, const char *name, const int *v, size_t n)
{
    open_array(a, "long", name, n);
    for (size_t i = 0; i < n && !a->status; i++)
        mn_atomic_printf(a, "%s%dL,", i % 8 ? " " : "\n    ", v[i]);
    return close_array(a);
}

/* The bodies: the library's expressions (activation.c), one value z = v[i]. */
static const char *const g_act_body[MYNN_ACT_COUNT] = {
    NULL,
    "        float z = v[i];\n"
    "        if (z >= 0.0f) {\n"
    "            v[i] = 1.0f / (1.0f + expf(-z));\n"
    "        } else {\n"
    "            float e = expf(z);\n"
    "            v[i] = e / (1.0f + e);\n"
    "        }\n",
    "        v[i] = tanhf(v[i]);\n",
    "        v[i] = v[i] > 0.0f ? v[i] : 0.0f;\n",
    "        v[i] = v[i] > 0.0f ? v[i] : 0.01f * v[i];\n",
    "        float z = v[i];\n"
    "        v[i] = 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));\n",
    NULL,
};

static const char g_softmax_fn[] =
    "/* softmax over the n values, the maximum subtracted first */\n"
    "static void act_softmax(float *v, int n)\n"
    "{\n"
    "    float m = v[0], s = 0.0f, inv;\n"
    "    int i;\n"
    "    for (i = 1; i < n; i++) m = v[i] > m ? v[i] : m;\n"
    "    for (i = 0; i < n; i++) {\n"
    "        v[i] = expf(v[i] - m);\n"
    "        s += v[i];\n"
    "    }\n"
    "    inv = 1.0f / s;\n"
    "    for (i = 0; i < n; i++) v[i] *= inv;\n"
    "}\n\n";

mynn_status mn_cgen_act_fn(mn_atomic *a, mynn_activation act)
{
    if (act == MYNN_ACT_SOFTMAX) return mn_atomic_puts(a, g_softmax_fn);
    if ((unsigned)act >= MYNN_ACT_COUNT || !g_act_body[act]) return a->status;
    mn_atomic_printf(a, "static void act_%s(float *v, int n)\n{\n    int i;\n"
                        "    for (i = 0; i < n; i++) {\n%s    }\n}\n\n",
                     mynn_activation_name(act), g_act_body[act]);
    return a->status;
}

mynn_status mn_cgen_act_call(mn_atomic *a, mynn_activation act, const char *v, int n)
{
    if (act != MYNN_ACT_IDENTITY)
        mn_atomic_printf(a, "    act_%s(%s, %d);\n", mynn_activation_name(act), v, n);
    return a->status;
}

mynn_status mn_cgen_act_steps(mn_atomic *a, mynn_activation act, const char *v, int steps, int n)
{
    if (act != MYNN_ACT_SOFTMAX || steps <= 1) return mn_cgen_act_call(a, act, v, steps * n);
    mn_atomic_printf(a, "    for (j = 0; j < %d; j++) act_softmax(%s + (long)j * %d, %d);\n", steps, v, n, n);
    return a->status;
}

size_t mn_cgen_act_code_bytes(mynn_activation act)
{
    switch (act) {
    case MYNN_ACT_SIGMOID: return 100 + 700;   /* expf */
    case MYNN_ACT_TANH: return 40 + 900;       /* tanhf (and its expf) */
    case MYNN_ACT_RELU:
    case MYNN_ACT_LEAKY_RELU: return 40;
    case MYNN_ACT_GELU: return 60 + 1500;      /* erff */
    case MYNN_ACT_SOFTMAX: return 120 + 700;   /* expf */
    default: return 0;
    }
}

mynn_status mn_cgen_path(char *buf, size_t n, const char *dir, const char *name, const char *ext)
{
    size_t len = strlen(dir);
    const char *sep = len && dir[len - 1] == '/' ? "" : "/";
    int k = snprintf(buf, n, "%s%s%s.%s", dir, sep, name, ext);
    if (k < 0 || (size_t)k >= n)
        return mn_error(MYNN_ERR_ARG, "export: path \"%.80s/%s.%s\" is too long", dir, name, ext);
    return MYNN_OK;
}
