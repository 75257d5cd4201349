/* The exported C code (float and int8) of a Fashion-MNIST MLP on a
 * Cortex-M4: compiled with arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb
 * -mfloat-abi=hard -mfpu=fpv4-sp-d16 (-std=c99 -Wall -Wextra -Wpedantic
 * -Werror for the generated files), linked with newlib's rdimon semihosting
 * and embedded/mps2-an386/ (vector table, linker script, harness), run on
 * qemu-system-arm -M mps2-an386 on the first 300 test images: every class
 * must match the host's and every output be within 1e-5 of it (only libm's
 * expf differs: newlib's against glibc's).  Prints flash/RAM
 * (arm-none-eabi-size) and emulated instructions per inference (QEMU
 * -icount: instructions, not a device's cycles).  Skips when the Arm
 * tools or Fashion-MNIST are absent.  MYNN_M4_MODEL=file.safetensors runs
 * that float model instead of a small one trained here.  The same for a
 * small CNN's float export (MYNN_M4_CNN_MODEL for another), and a
 * residual CNN's (a graph: identity and projection shortcuts, a concat)
 * float and int8 exports (MYNN_M4_RES_MODEL for another); and a
 * sequence model, an LSTM reading the image's rows, through fm_f_predict
 * and row by row through fm_f_step (MYNN_M4_ROWS_MODEL for another). */
#include "check.h"
#include "mynn.h"
#include "kernels/gemm_internal.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FM_DIR "/usr/share/datasets/fashion-mnist"
#define BOARD "embedded/mps2-an386"
#define N_IMG 300

static char tmpdir[256];

static int have(const char *tool)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static void write_data(const char *dir, const mynn_dataset *ds, const float *hf, const float *hq, int k)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data.h", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "#define DATA_N %d\n#define DATA_N_INPUTS %d\n#define DATA_N_OUTPUTS %d\n"
               "extern const unsigned char data_images[];\n"
               "extern const float data_host_float[], data_host_int8[];\n", N_IMG, ds->n_inputs, k);
    fclose(f);
    snprintf(path, sizeof path, "%s/data.c", dir);
    f = fopen(path, "w");
    fprintf(f, "#include \"data.h\"\nconst unsigned char data_images[] = {");
    for (long i = 0; i < (long)N_IMG * ds->n_inputs; i++)
        fprintf(f, "%s%d,", i % 32 ? "" : "\n", (int)ds->x[i]);
    const float *h[2] = {hf, hq};
    for (int m = 0; m < 2; m++) {
        fprintf(f, "\n};\nconst float data_host_%s[] = {", m ? "int8" : "float");
        for (long i = 0; i < (long)N_IMG * k; i++) fprintf(f, "%s%af,", i % 6 ? " " : "\n", (double)h[m][i]);
    }
    fprintf(f, "\n};\n");
    fclose(f);
}

/* text + data and bss of an object or image, from arm-none-eabi-size. */
static int size_of(const char *file, long *flash, long *ram)
{
    char cmd[700], line[512];
    snprintf(cmd, sizeof cmd, "arm-none-eabi-size '%s' | tail -n 1", file);
    FILE *p = popen(cmd, "r");
    long text = 0, data = 0, bss = 0;
    int ok = p && fgets(line, sizeof line, p) && sscanf(line, "%ld %ld %ld", &text, &data, &bss) == 3;
    if (p) pclose(p);
    *flash = text + data;
    *ram = data + bss;
    return ok ? 0 : -1;
}

static mynn_net *get_model(const mynn_dataset *train)
{
    mynn_net *net = NULL;
    const char *path = getenv("MYNN_M4_MODEL");
    if (path && *path) {
        CHECK_OK(mynn_load(&net, path, 256));
        printf("  model: %s\n", path);
        return net;
    }
    CHECK_OK(mynn_create(&net, 784));
    CHECK_OK(mynn_add_layers(net, "64:relu,32:relu,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 1));
    float shift[784] = {0}, scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    CHECK_OK(mynn_set_input_transform(net, "scale", shift, scale));
    mynn_dataset tr = *train;
    tr.n = 10000;
    tr.owned = 0;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 1;
    CHECK_OK(mynn_fit(net, &tr, NULL, &o));
    printf("  model: 784-64-32-10 relu, 1 epoch on 10000 images\n");
    return net;
}

/* Small CNN (MYNN_M4_CNN_MODEL: that one instead): batch norms that fold
 * into the convolutions, pooling, 1 epoch on 10000 images. */
static mynn_net *get_cnn(const mynn_dataset *train)
{
    mynn_net *net = NULL;
    const char *path = getenv("MYNN_M4_CNN_MODEL");
    if (path && *path) {
        CHECK_OK(mynn_load(&net, path, 256));
        printf("  model: %s\n", path);
        return net;
    }
    CHECK_OK(mynn_create(&net, 784));
    CHECK_OK(mynn_set_input_shape(net, 1, 28, 28));
    CHECK_OK(mynn_add_layers(net, "conv:4:3:pad=1,batchnorm,relu,maxpool:2,conv:8:3:pad=1,batchnorm,relu,"
                                  "maxpool:2,flatten,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 1));
    float shift[784] = {0}, scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    CHECK_OK(mynn_set_input_transform(net, "scale", shift, scale));
    mynn_dataset tr = *train;
    tr.n = 10000;
    tr.owned = 0;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 1;
    CHECK_OK(mynn_fit(net, &tr, NULL, &o));
    printf("  model: CNN conv 4, batch norm, pool, conv 8, batch norm, pool, 10; 1 epoch on 10000 images\n");
    return net;
}

/* A residual CNN (MYNN_M4_RES_MODEL: that one instead): a stem, a block
 * with an identity shortcut, a strided block with a 1x1 projection
 * shortcut (batch norms folding inside both branches), an inception-style
 * concat of a 1x1 conv and a padded max pool; 1 epoch on 10000 images. */
static mynn_net *get_res_cnn(const mynn_dataset *train)
{
    mynn_net *net = NULL;
    const char *path = getenv("MYNN_M4_RES_MODEL");
    if (path && *path) {
        CHECK_OK(mynn_load(&net, path, 256));
        printf("  model: %s\n", path);
        return net;
    }
    CHECK_OK(mynn_create(&net, 784));
    CHECK_OK(mynn_set_input_shape(net, 1, 28, 28));
    CHECK_OK(mynn_add_layers(net, "conv:4:3:pad=1,batchnorm,relu,maxpool:2,"
                                  "res(conv:4:3:pad=same,batchnorm,relu,conv:4:3:pad=same,batchnorm):relu,"
                                  "res(conv:8:3:stride=2:pad=1,batchnorm,relu,conv:8:3:pad=same,batchnorm | "
                                  "conv:8:1:stride=2,batchnorm):relu,"
                                  "cat(conv:4:1:relu | maxpool:3:stride=1:pad=1),flatten,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 1));
    float shift[784] = {0}, scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    CHECK_OK(mynn_set_input_transform(net, "scale", shift, scale));
    mynn_dataset tr = *train;
    tr.n = 10000;
    tr.owned = 0;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 1;
    CHECK_OK(mynn_fit(net, &tr, NULL, &o));
    printf("  model: residual CNN (stem, identity block, strided projection block, 1x1 conv | padded max pool "
           "concatenated), 10; 1 epoch on 10000 images\n");
    return net;
}

/* Fashion-MNIST's rows as a sequence (MYNN_M4_ROWS_MODEL: that one
 * instead): each image 28 steps of 28 pixels, an LSTM of 32 and a softmax
 * over its last state; 1 epoch on 3000 images (the board compares with
 * the host, so accuracy does not matter). */
static mynn_net *get_rows_lstm(const mynn_dataset *train)
{
    mynn_net *net = NULL;
    const char *path = getenv("MYNN_M4_ROWS_MODEL");
    if (path && *path) {
        CHECK_OK(mynn_load(&net, path, 256));
        printf("  model: %s\n", path);
        return net;
    }
    CHECK_OK(mynn_create(&net, 784));
    CHECK_OK(mynn_set_input_shape_1d(net, 28, 28));
    CHECK_OK(mynn_add_layers(net, "lstm:32,10:softmax"));
    CHECK_OK(mynn_set_loss(net, MYNN_LOSS_CE));
    CHECK_OK(mynn_build(net, 64, MYNN_INIT_AUTO, 1));
    float shift[784] = {0}, scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    CHECK_OK(mynn_set_input_transform(net, "scale", shift, scale));
    mynn_dataset tr = *train;
    tr.n = 3000;
    tr.owned = 0;
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    o.epochs = 1;
    CHECK_OK(mynn_fit(net, &tr, NULL, &o));
    printf("  model: rows LSTM (28 steps of 28) lstm:32,10:softmax; 1 epoch on 3000 images\n");
    return net;
}

/* The exported header declares a step function (fm_f_step). */
static int streams(const char *dir)
{
    char path[600], line[300];
    snprintf(path, sizeof path, "%s/fm_f.h", dir);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) found = strncmp(line, "#define FM_F_STATE_FLOATS", 25) == 0;
    if (f) fclose(f);
    return found;
}

/* Skips (0) unless the tools, the data and the board files are there. */
static int can_run(void)
{
    if (ck_emulated()) {
        printf("  SKIP: under emulation (the firmware and its reference run on the host)\n");
        return 0;
    }
    if (!have("arm-none-eabi-gcc") || !have("qemu-system-arm")) {
        printf("  SKIP: arm-none-eabi-gcc or qemu-system-arm not installed (gcc-arm-none-eabi, "
               "libnewlib-arm-none-eabi, qemu-system-arm)\n");
        return 0;
    }
    if (access(FM_DIR, R_OK) != 0) {
        printf("  SKIP: Fashion-MNIST not installed in %s\n", FM_DIR);
        return 0;
    }
    if (access(BOARD "/main.c", R_OK) != 0) {
        printf("  SKIP: run from the source tree (%s not found)\n", BOARD);
        return 0;
    }
    return 1;
}

/* net (and q, unless NULL: then the harness is built with FM_FLOAT_ONLY)
 * exported into tmpdir/sub, built into firmware with the test images and
 * the host's outputs, run on the board; every class must match. */
static void board_round(mynn_net *net, mynn_qnet *q, const mynn_dataset *test, const char *sub)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, sub);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    int k = mynn_n_outputs(net);
    float *hf = malloc(sizeof(float) * N_IMG * k), *hq = calloc((size_t)N_IMG * k, sizeof(float));
    mn_gemm_set_engine("ref");   /* the generated code's summation order */
    CHECK_OK(mynn_predict(net, test->x, N_IMG, hf));
    mn_gemm_set_engine(NULL);
    if (q) CHECK_OK(mynn_qnet_predict(q, test->x, N_IMG, hq));
    CHECK_OK(mynn_export_c(net, dir, "fm_f"));
    if (q) CHECK_OK(mynn_qexport_c(q, dir, "fm_q"));
    write_data(dir, test, hf, hq, k);
    int stream = streams(dir);   /* the harness runs fm_f_step too: one more line */

    char cwd[1024], board[1200];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    snprintf(board, sizeof board, "%s/%s", cwd, BOARD);
    const char *cc = "arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2";
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -c fm_f.c %s && "
             "%s -std=c99 -Wall -Wextra -Werror %s -I. -c '%s/main.c' '%s/startup.c' data.c && "
             "%s --specs=rdimon.specs -T '%s/an386.ld' main.o startup.o data.o fm_f.o %s "
             "-o fw.elf -lm > cc.log 2>&1 || { cat cc.log >&2; exit 1; }",
             dir, cc, q ? "fm_q.c" : "", cc, q ? "" : "-DFM_FLOAT_ONLY", board, board, cc, board,
             q ? "fm_q.o" : "");
    int rc = system(cmd);
    CHECK(rc == 0, "cross-compiling or linking failed");
    if (rc) goto out;
    long ff, rf, fq = 0, rq = 0, fe, re;
    char obj[600];
    snprintf(obj, sizeof obj, "%s/fm_f.o", dir);
    CHECK(size_of(obj, &ff, &rf) == 0, "size fm_f.o");
    if (q) {
        snprintf(obj, sizeof obj, "%s/fm_q.o", dir);
        CHECK(size_of(obj, &fq, &rq) == 0, "size fm_q.o");
    }
    snprintf(obj, sizeof obj, "%s/fw.elf", dir);
    CHECK(size_of(obj, &fe, &re) == 0, "size fw.elf");
    if (q)
        printf("  arm-none-eabi-size: float model %ld bytes flash, %ld RAM; int8 model %ld flash, %ld RAM;\n"
               "  whole firmware (both, 300 images, newlib) %ld flash, %ld RAM (+ stack)\n", ff, rf, fq, rq,
               fe, re);
    else
        printf("  arm-none-eabi-size: float model %ld bytes flash, %ld RAM;\n"
               "  whole firmware (300 images, newlib) %ld flash, %ld RAM (+ stack)\n", ff, rf, fe, re);
    struct timespec t0, t1;
    fflush(stdout);   /* the board's lines (printed by the shell) after ours */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = sh("cd '%s' && timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none "
            "-serial none -icount shift=0 -semihosting-config enable=on,target=native "
            "-kernel fw.elf > run.log 2>&1; rc=$?; cat run.log | sed 's/^/  /'; exit $rc%s",
            dir, "");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(rc == 0, "the emulated run failed or a class differs (exit %d)", rc);
    char path[600], line[300];
    snprintf(path, sizeof path, "%s/run.log", dir);
    FILE *f = fopen(path, "r");
    int lines = 0;
    while (f && fgets(line, sizeof line, f)) {
        int m, n;
        float d;
        unsigned long ticks;
        char kind[16];
        if (sscanf(line, "%15[^:]: %d/%d classes match the host, max |diff| %g, %lu ticks", kind, &m, &n,
                   &d, &ticks) != 5)
            continue;
        lines++;
        CHECK(m == N_IMG && n == N_IMG, "%s: %d/%d classes match", kind, m, n);
        CHECK(d <= 1e-5f, "%s: outputs %g from the host's", kind, d);
        printf("  %s: about %lu emulated instructions per inference (SysTick x 40 under -icount)\n", kind,
               ticks * 40);
    }
    if (f) fclose(f);
    CHECK(lines == 1 + !!q + stream, "expected %d result lines from the board", 1 + !!q + stream);
    printf("  emulator wall time: %.2f s for %d inferences of each model (host time, not device time)\n",
           secs, N_IMG);
out:
    free(hf);
    free(hq);
}

static void test_cortex_m4(void)
{
    if (!can_run()) SKIP("see above");
    mynn_dataset *train = NULL, *test = NULL;
    CHECK_OK(mynn_dataset_load(&train, FM_DIR, NULL, 0));
    CHECK_OK(mynn_dataset_load(&test, FM_DIR, NULL, 1));
    if (!train || !test) return;
    mynn_net *net = get_model(train);
    mynn_qnet *q = NULL;
    CHECK_OK(mynn_quantize(&q, net, train->x, 5000, NULL));
    if (net && q) board_round(net, q, test, "mlp");
    mynn_qnet_free(q);
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
}

/* The float export of a CNN (conv, folded batch norm, pooling). */
static void test_cortex_m4_cnn(void)
{
    if (!can_run()) SKIP("see above");
    mynn_dataset *train = NULL, *test = NULL;
    CHECK_OK(mynn_dataset_load(&train, FM_DIR, NULL, 0));
    CHECK_OK(mynn_dataset_load(&test, FM_DIR, NULL, 1));
    if (!train || !test) return;
    mynn_net *net = get_cnn(train);
    if (net) board_round(net, NULL, test, "cnn");
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
}

/* A graph: the float and the int8 export of a residual CNN. */
static void test_cortex_m4_residual(void)
{
    if (!can_run()) SKIP("see above");
    mynn_dataset *train = NULL, *test = NULL;
    CHECK_OK(mynn_dataset_load(&train, FM_DIR, NULL, 0));
    CHECK_OK(mynn_dataset_load(&test, FM_DIR, NULL, 1));
    if (!train || !test) return;
    mynn_net *net = get_res_cnn(train);
    mynn_qnet *q = NULL;
    if (net) CHECK_OK(mynn_quantize(&q, net, train->x, 2000, NULL));
    if (net && q) board_round(net, q, test, "rescnn");
    mynn_qnet_free(q);
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
}

/* A sequence model: the float export of the rows LSTM, through
 * fm_f_predict and, a row at a time, fm_f_step. */
static void test_cortex_m4_rows_lstm(void)
{
    if (!can_run()) SKIP("see above");
    mynn_dataset *train = NULL, *test = NULL;
    CHECK_OK(mynn_dataset_load(&train, FM_DIR, NULL, 0));
    CHECK_OK(mynn_dataset_load(&test, FM_DIR, NULL, 1));
    if (!train || !test) return;
    mynn_net *net = get_rows_lstm(train);
    if (net) board_round(net, NULL, test, "rows_lstm");
    mynn_free(net);
    mynn_dataset_free(train);
    mynn_dataset_free(test);
}

int main(void)
{
    CK_BEGIN("test_cortexm");
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mynn_m4_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    mynn_set_threads(1);
    RUN(test_cortex_m4);
    RUN(test_cortex_m4_cnn);
    RUN(test_cortex_m4_residual);
    RUN(test_cortex_m4_rows_lstm);
    if (!ck_failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "test_cortexm: could not remove %s\n", tmpdir);
    } else {
        printf("  files kept in %s\n", tmpdir);
    }
    return CK_END();
}
