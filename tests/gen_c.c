/* Compiling and running generated C code in the tests (gen_c.h). */
#include "gen_c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gen_c_cc[2] = {"gcc", "clang"};

int gen_c_have(const char *cc)
{
    char cmd[100];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cc);
    if (system(cmd) == 0) return 1;
    printf("  %s not installed: its compile is skipped\n", cc);
    return 0;
}

static const char g_driver[] =
    "#include \"m.h\"\n#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
    "int main(int argc, char **argv)\n{\n"
    "    int n = argc > 1 ? atoi(argv[1]) : 0, i;\n"
    "    float *x = malloc(sizeof(float) * M_N_INPUTS * n), *y = malloc(sizeof(float) * M_N_OUTPUTS * n);\n"
    "    static float scratch[M_SCRATCH_FLOATS], one[M_N_OUTPUTS];\n"
    "    FILE *f = fopen(\"in.bin\", \"rb\");\n"
    "    if (!x || !y || !f || fread(x, sizeof(float), (size_t)M_N_INPUTS * n, f) != (size_t)M_N_INPUTS * n) return 2;\n"
    "    fclose(f);\n"
    "    if (m_predict_batch(x, n, y) != 0) return 3;\n"
    "    if (m_predict_scratch(x, one, scratch) != 0) return 3;\n"
    "    for (i = 0; i < M_N_OUTPUTS; i++) if (one[i] != y[i]) return 4;\n"
    "    x[0] = NAN;\n"
    "    if (m_predict(x, one) != -1) return 5;\n"
    "    f = fopen(\"out.bin\", \"wb\");\n"
    "    if (!f || fwrite(y, sizeof(float), (size_t)M_N_OUTPUTS * n, f) != (size_t)M_N_OUTPUTS * n) return 6;\n"
    "    fclose(f);\n    free(x);\n    free(y);\n    return 0;\n}\n";

int gen_c_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

int gen_c_read(const char *path, void *p, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t r = fread(p, 1, n, f);
    fclose(f);
    return r == n ? 0 : -1;
}

/* The stream's driver: every sample from m_reset through its M_N_STEPS
 * steps, each step's outputs written; m_step_scratch must agree with
 * m_step (outputs and state), a NaN step must return -1 and change
 * nothing, and one more step after the last must return argv[2]. */
static const char g_step_driver[] =
    "#include \"m.h\"\n#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    "int main(int argc, char **argv)\n{\n"
    "    int n = argc > 2 ? atoi(argv[1]) : 0, after = argc > 2 ? atoi(argv[2]) : 0, i, t;\n"
    "    long per = (long)M_N_STEPS * M_STEP_OUTPUTS;\n"
    "    float *x = malloc(sizeof(float) * M_N_INPUTS * n), *y = malloc(sizeof(float) * per * n);\n"
    "    static float state[M_STATE_FLOATS + 1], st2[M_STATE_FLOATS + 1], copy[M_STATE_FLOATS + 1];\n"
    "    static float scratch[M_SCRATCH_FLOATS], one[M_STEP_OUTPUTS], bad[M_STEP_INPUTS];\n"
    "    FILE *f = fopen(\"in.bin\", \"rb\");\n"
    "    if (M_N_STEPS * M_STEP_INPUTS != M_N_INPUTS) return 7;\n"
    "    if (!x || !y || !f || fread(x, sizeof(float), (size_t)M_N_INPUTS * n, f) != (size_t)M_N_INPUTS * n) return 2;\n"
    "    fclose(f);\n"
    "    for (i = 0; i < n; i++) {\n"
    "        m_reset(state);\n"
    "        memset(st2, 0, sizeof st2);\n"
    "        for (t = 0; t < M_N_STEPS; t++) {\n"
    "            const float *xt = x + (long)i * M_N_INPUTS + (long)t * M_STEP_INPUTS;\n"
    "            float *yt = y + i * per + (long)t * M_STEP_OUTPUTS;\n"
    "            if (m_step(xt, state, yt) != 0 || m_step_scratch(xt, st2, one, scratch) != 0) return 3;\n"
    "            if (memcmp(one, yt, sizeof one) || memcmp(state, st2, sizeof state)) return 4;\n"
    "        }\n"
    "        memcpy(copy, state, sizeof copy);\n"
    "        memcpy(bad, x, sizeof bad);\n"
    "        bad[M_STEP_INPUTS - 1] = NAN;\n"
    "        if (m_step(bad, state, one) != -1 || memcmp(copy, state, sizeof copy)) return 5;\n"
    "        if (m_step(x, state, one) != after) return 6;\n"
    "    }\n"
    "    f = fopen(\"out.bin\", \"wb\");\n"
    "    if (!f || fwrite(y, sizeof(float), (size_t)per * n, f) != (size_t)per * n) return 6;\n"
    "    fclose(f);\n    free(x);\n    free(y);\n    return 0;\n}\n";

/* Writes x and the driver, compiles it with m.c by cc: 0, or < 0 (logged). */
static int build(const char *dir, const char *cc, const char *driver, const float *x, int n, int d)
{
    char path[512], cmd[1400];
    snprintf(path, sizeof path, "%s/in.bin", dir);
    if (gen_c_write(path, x, sizeof(float) * (size_t)n * d)) return -1;
    snprintf(path, sizeof path, "%s/driver.c", dir);
    if (gen_c_write(path, driver, strlen(driver))) return -1;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm -f drv out.bin && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 "
             /* no FMA contraction (clang fuses by default on Arm): the ref GEMM does not fuse */
             "-ffp-contract=off "
             "driver.c m.c -o drv -lm > cc.log 2>&1", dir, cc);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s/cc.log' | head -20 >&2", dir);
        if (system(cmd) != 0) fprintf(stderr, "  (no compiler log)\n");
        return -2;
    }
    return 0;
}

/* Compile dir's m.c with cc and run it on x [n × d]; y [n × k]. 0 on success. */
int gen_c_compile_run(const char *dir, const char *cc, const float *x, int n, int d, int k, float *y)
{
    char path[512], cmd[1400];
    int b = build(dir, cc, g_driver, x, n, d);
    if (b) return b;
    snprintf(cmd, sizeof cmd, "cd '%s' && ./drv %d", dir, n);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "  %s: the driver failed (%d)\n", cc, rc);
        return -3;
    }
    snprintf(path, sizeof path, "%s/out.bin", dir);
    return gen_c_read(path, y, sizeof(float) * (size_t)n * k);
}


int gen_c_compile_run_steps(const char *dir, const char *cc, const float *x, int n, int d, int after, long k,
                            float *y)
{
    char path[512], cmd[1400];
    int b = build(dir, cc, g_step_driver, x, n, d);
    if (b) return b;
    snprintf(cmd, sizeof cmd, "cd '%s' && ./drv %d %d", dir, n, after);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "  %s: the stream driver failed (%d)\n", cc, rc);
        return -3;
    }
    snprintf(path, sizeof path, "%s/out.bin", dir);
    return gen_c_read(path, y, sizeof(float) * (size_t)n * k);
}
