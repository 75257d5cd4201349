/* The mynn command-line tool, run as a separate process (fork/exec) on small
 * synthetic data written to a temporary folder.  The tool's path comes from
 * $MYNN_TOOL (default build/mynn). */
#include "check.h"
#include "mynn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *tool;
static char tmpdir[256];

typedef struct result {
    int rc;          /* exit status, or 128 + signal */
    char *out, *err;
} result;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (cap - n < 2) {
            char *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
            }
            buf = p;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Run the tool with the NULL-terminated arguments; stdout and stderr captured. */
static result run(const char *arg0, ...)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = tool;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < 63; a = va_arg(ap, const char *)) argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    char op[300], ep[300];
    snprintf(op, sizeof op, "%s/.stdout", tmpdir);
    snprintf(ep, sizeof ep, "%s/.stderr", tmpdir);
    result r = {-1, NULL, NULL};
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || chdir(tmpdir) != 0) _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        close(fo);
        close(fe);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    if (pid > 0 && waitpid(pid, &st, 0) == pid)
        r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    r.out = slurp(op, NULL);
    r.err = slurp(ep, NULL);
    if (!r.out) r.out = calloc(1, 1);
    if (!r.err) r.err = calloc(1, 1);
    return r;
}

static const char *path_in(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
    return buf[i];
}

static int exists(const char *name) { return access(path_in(name), F_OK) == 0; }

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* No temporary files (from an atomic writer) left in the folder. */
static int tmp_files_left(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp") != NULL;
    if (d) closedir(d);
    return n;
}

/* Three well-separated 2-D blobs, with a header and the label last. */
static void write_blobs(const char *name, int n, int with_label)
{
    FILE *f = fopen(path_in(name), "w");
    if (!f) return;
    fputs(with_label ? "x1,x2,label\n" : "x1,x2\n", f);
    unsigned s = 12345;
    static const double cx[3] = {0, 6, 0}, cy[3] = {0, 6, 6};
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        s = s * 1103515245u + 12345u;
        double dx = ((s >> 8) % 1000) / 1000.0 - 0.5;
        s = s * 1103515245u + 12345u;
        double dy = ((s >> 8) % 1000) / 1000.0 - 0.5;
        if (with_label) fprintf(f, "%.3f,%.3f,%d\n", cx[c] + dx, cy[c] + dy, c);
        else fprintf(f, "%.3f,%.3f\n", cx[c] + dx, cy[c] + dy);
    }
    fclose(f);
}

/* The number after "prefix" in s, or -1. */
static double number_after(const char *s, const char *prefix)
{
    const char *p = s ? strstr(s, prefix) : NULL;
    return p ? atof(p + strlen(prefix)) : -1.0;
}

/* Rows of predict's CSV whose class column equals the labels of the blobs. */
static int count_correct(const char *csv)
{
    int correct = 0, row = 0;
    const char *p = strchr(csv, '\n');
    while (p && p[1]) {
        p++;
        correct += atoi(p) == row % 3;
        row++;
        p = strchr(p, '\n');
    }
    return correct;
}

static void test_help_version(void)
{
    result r = run("--version", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "mynn 0.1.0"), "rc %d out %s", r.rc, r.out);
    result_free(&r);
    const char *cmds[] = {"train", "eval", "predict", "info"};
    for (int i = 0; i < 4; i++) {
        r = run(cmds[i], "--help", NULL);
        CHECK(r.rc == 0 && strstr(r.out, "usage: mynn") && !*r.err, "%s --help: rc %d", cmds[i], r.rc);
        result_free(&r);
    }
    r = run("-h", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "Commands:"), "rc %d", r.rc);
    result_free(&r);
}

static void test_blobs_workflow(void)
{
    write_blobs("blobs.csv", 150, 1);
    result r = run("train", "blobs.csv", "--layers", "16:relu,3:softmax", "--epochs", "40", "--lr", "0.02",
                   "--batch", "16", "--test", "blobs.csv", "--val", "0.2", "--save", "blobs.safetensors",
                   "--log", "blobs_log.csv", "--plot", "blobs.svg", "--threads", "1", NULL);
    CHECK(r.rc == 0, "train rc %d: %s", r.rc, r.err);
    CHECK(number_after(r.out, "test accuracy: ") == 100.0, "output: %s", r.out);
    CHECK(strstr(r.out, "epoch 40/40  loss ") != NULL, "no plain epoch lines: %s", r.out);
    result_free(&r);

    char *log = slurp(path_in("blobs_log.csv"), NULL);
    const char *hdr = "epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,seconds\n";
    CHECK(log && !strncmp(log, hdr, strlen(hdr)),
          "log header: %.80s", log ? log : "(none)");
    CHECK(log && count_lines(log) == 41, "log lines: %d", log ? count_lines(log) : -1);
    free(log);

    char *svg = slurp(path_in("blobs.svg"), NULL);
    CHECK(svg && !strncmp(svg, "<svg", 4) && strstr(svg, "</svg>") && strstr(svg, "Accuracy") &&
          strstr(svg, "validation"), "svg: %.60s", svg ? svg : "(none)");
    free(svg);
    if (access("/usr/bin/rsvg-convert", X_OK) == 0) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "/usr/bin/rsvg-convert -o '%s' '%s' 2>/dev/null", path_in("blobs.png"),
                 path_in("blobs.svg"));
        CHECK(system(cmd) == 0 && exists("blobs.png"), "rsvg-convert failed");
    } else {
        printf("  (rsvg-convert absent: SVG not rendered)\n");
    }

    r = run("eval", "blobs.safetensors", "blobs.csv", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "accuracy: 100.00% (150/150 correct)") && strstr(r.out, "confusion matrix") &&
          strstr(r.out, "precision"), "eval rc %d: %s%s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("eval", "blobs.safetensors", "blobs.csv", "--json", NULL);
    CHECK(r.rc == 0 && r.out[0] == '{' && count_lines(r.out) == 1 && strstr(r.out, "\"correct\":150") &&
          strstr(r.out, "\"confusion\":[[50,0,0],[0,50,0],[0,0,50]]"), "json: %s", r.out);
    result_free(&r);

    r = run("predict", "blobs.safetensors", "blobs.csv", "--out", "pred.csv", NULL);
    CHECK(r.rc == 0 && !*r.out, "predict rc %d: %s", r.rc, r.err);
    result_free(&r);
    char *pred = slurp(path_in("pred.csv"), NULL);
    CHECK(pred && !strncmp(pred, "class,p0,p1,p2\n", 15), "pred header: %.40s", pred ? pred : "");
    CHECK(pred && count_lines(pred) == 151, "pred rows: %d", pred ? count_lines(pred) : -1);
    CHECK(pred && count_correct(pred) == 150, "predict agrees with eval: %d", pred ? count_correct(pred) : -1);
    free(pred);

    /* Unlabelled input (as many columns as the model has inputs) to stdout. */
    write_blobs("blobs_x.csv", 30, 0);
    r = run("predict", "blobs.safetensors", "blobs_x.csv", NULL);
    CHECK(r.rc == 0 && count_lines(r.out) == 31 && count_correct(r.out) == 30, "rc %d: %s %s", r.rc, r.out, r.err);
    result_free(&r);

    r = run("info", "blobs.safetensors", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "Total params: 99") && strstr(r.out, "softmax") &&
          strstr(r.out, "Loss: ce") && strstr(r.out, "Normalisation: scale") && strstr(r.out, "Inputs: 2"),
          "info: %s", r.out);
    result_free(&r);

    /* Go on from the saved model, standard normalisation, SGD + cosine. */
    r = run("train", "blobs.csv", "--from", "blobs.safetensors", "--epochs", "2", "--optimizer", "sgd",
            "--momentum", "0.9", "--nesterov", "--schedule", "cosine", "--normalize", "standard", "--quiet",
            "--test", "blobs.csv", NULL);
    CHECK(r.rc == 0 && number_after(r.out, "test accuracy: ") >= 90.0 && !strstr(r.out, "epoch 1/"),
          "--from rc %d: %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("train", "blobs.csv", "--from", "blobs.safetensors", "--layers", "8:relu,3:softmax", NULL);
    CHECK(r.rc == 2 && count_lines(r.err) == 1, "mismatching --layers: rc %d %s", r.rc, r.err);
    result_free(&r);
}

static void test_xor(void)
{
    char text[2048] = "";
    for (int rep = 0; rep < 16; rep++) strcat(text, "0,0,0\n0,1,1\n1,0,1\n1,1,0\n");
    write_file("xor.csv", text);
    result r = run("train", "xor.csv", "--layers", "8:tanh,2:softmax", "--epochs", "150", "--lr", "0.05",
                   "--batch", "8", "--save", "xor.safetensors", "--threads", "1", NULL);
    CHECK(r.rc == 0, "rc %d: %s", r.rc, r.err);
    result_free(&r);
    r = run("eval", "xor.safetensors", "xor.csv", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "accuracy: 100.00%"), "xor eval: %s %s", r.out, r.err);
    result_free(&r);
}

static void test_fann_and_regression(void)
{
    /* FANN data, one-hot outputs: a 2-class problem. */
    char text[8192] = "40 2 2\n";
    for (int i = 0; i < 40; i++) {
        char line[64];
        int c = i % 2;
        snprintf(line, sizeof line, "%d.%d %d.%d\n%d %d\n", c * 4, i % 7, c * 4, (i * 3) % 7, 1 - c, c);
        strcat(text, line);
    }
    write_file("two.data", text);
    result r = run("train", "two.data", "--layers", "4:relu,2:softmax", "--epochs", "60", "--lr", "0.02",
                   "--batch", "4", "--test", "two.data", "--save", "two.safetensors", NULL);
    CHECK(r.rc == 0 && number_after(r.out, "test accuracy: ") == 100.0, "fann rc %d: %s %s", r.rc, r.out, r.err);
    result_free(&r);

    /* Regression: y = 2a - b, target column with --targets 1. */
    char reg[8192] = "a,b,y\n";
    for (int i = 0; i < 60; i++) {
        char line[64];
        double a = (i % 10) / 10.0, b = (i % 7) / 7.0;
        snprintf(line, sizeof line, "%.4f,%.4f,%.4f\n", a, b, 2 * a - b);
        strcat(reg, line);
    }
    write_file("reg.csv", reg);
    r = run("train", "reg.csv", "--targets", "1", "--label", "2", "--layers", "8:tanh,1", "--epochs", "100",
            "--lr", "0.01", "--batch", "8", "--save", "reg.safetensors", "--test", "reg.csv", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "test loss: "), "regression rc %d: %s %s", r.rc, r.out, r.err);
    CHECK(number_after(r.out, "test loss: ") < 0.05, "regression loss: %s", r.out);
    result_free(&r);
    r = run("predict", "reg.safetensors", "reg.csv", "--targets", "1", "--label", "2", NULL);
    CHECK(r.rc == 0 && !strncmp(r.out, "y0\n", 3) && count_lines(r.out) == 61, "predict: %.40s %s", r.out, r.err);
    result_free(&r);
}

/* One bad invocation: exit code, exactly one line on stderr (containing
 * want, when given), and the output file not created. */
static void expect_fail(int want_rc, const char *want, const char *out_file, const char *a0, ...)
{
    const char *args[32];
    int n = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *)) args[n++] = a;
    va_end(ap);
    for (int i = n; i < 32; i++) args[i] = NULL;
    result r = run(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8],
                   args[9], args[10], args[11], args[12], args[13], args[14], args[15], NULL);
    char cmdline[512] = "";
    for (int i = 0; i < n; i++) {
        strncat(cmdline, args[i], sizeof cmdline - strlen(cmdline) - 2);
        strcat(cmdline, " ");
    }
    CHECK(r.rc == want_rc, "mynn %s: rc %d, wanted %d (%s)", cmdline, r.rc, want_rc, r.err);
    CHECK(count_lines(r.err) == 1 && !strncmp(r.err, "mynn: ", 6), "mynn %s: stderr \"%s\"", cmdline, r.err);
    if (want) CHECK(strstr(r.err, want) != NULL, "mynn %s: \"%s\" lacks \"%s\"", cmdline, r.err, want);
    if (out_file) CHECK(!exists(out_file), "mynn %s: %s was created", cmdline, out_file);
    CHECK(tmp_files_left() == 0, "mynn %s: temporary files left", cmdline);
    result_free(&r);
}

static void test_errors(void)
{
    write_blobs("ok.csv", 30, 1);
    write_file("empty.csv", "");
    write_file("bad.csv", "1,2,0\n3,4,1\n5,abc,0\n");
    const char *L = "4:relu,3:softmax";
    expect_fail(2, "unknown command", NULL, "frobnicate", NULL);
    expect_fail(2, NULL, NULL, NULL);
    expect_fail(2, "--frob", "o.st", "train", "ok.csv", "--layers", L, "--frob", "--save", "o.st", NULL);
    expect_fail(2, "needs a value", NULL, "train", "ok.csv", "--layers", NULL);
    expect_fail(1, "missing.csv", "o.st", "train", "missing.csv", "--layers", L, "--save", "o.st", NULL);
    expect_fail(1, "empty.csv", "o.st", "train", "empty.csv", "--layers", L, "--save", "o.st", NULL);
    expect_fail(1, "bad.csv:3", "o.st", "train", "bad.csv", "--layers", L, "--save", "o.st", NULL);
    expect_fail(2, "swish", "o.st", "train", "ok.csv", "--layers", "4:swish,3:softmax", "--save", "o.st", NULL);
    expect_fail(2, "--optimizer", "o.st", "train", "ok.csv", "--layers", L, "--optimizer", "adamax", "--save",
                "o.st", NULL);
    expect_fail(2, "--loss", "o.st", "train", "ok.csv", "--layers", L, "--loss", "hinge", "--save", "o.st", NULL);
    expect_fail(2, "--lr: \"-1\" must be a number > 0", "o.st", "train", "ok.csv", "--layers", L, "--lr", "-1",
                "--save", "o.st", NULL);
    expect_fail(2, "--lr", "o.st", "train", "ok.csv", "--layers", L, "--lr", "fast", NULL);
    expect_fail(2, "--batch", "o.st", "train", "ok.csv", "--layers", L, "--batch", "0", "--save", "o.st", NULL);
    expect_fail(2, "--epochs", "o.st", "train", "ok.csv", "--layers", L, "--epochs", "0", "--save", "o.st", NULL);
    expect_fail(2, "--threads", "o.st", "train", "ok.csv", "--layers", L, "--threads", "0", NULL);
    expect_fail(2, "--val", NULL, "train", "ok.csv", "--layers", L, "--val", "1.5", NULL);
    expect_fail(2, "--layers", NULL, "train", "ok.csv", NULL);
    expect_fail(1, "classes", "o.st", "train", "ok.csv", "--layers", "4:relu,2:softmax", "--save", "o.st", NULL);
    expect_fail(1, "diverged", "o.st", "train", "ok.csv", "--layers", "64:relu,3", "--loss", "mse",
                "--optimizer", "sgd", "--lr", "1e30", "--normalize", "none", "--save", "o.st", "--log", "o.csv",
                NULL);
    CHECK(!exists("o.csv"), "diverged training wrote its log");

    /* A model, then a truncated copy of it. */
    result r = run("train", "ok.csv", "--layers", L, "--epochs", "1", "--save", "good.safetensors", "--quiet", NULL);
    CHECK(r.rc == 0, "rc %d %s", r.rc, r.err);
    result_free(&r);
    size_t len = 0;
    char *model = slurp(path_in("good.safetensors"), &len);
    CHECK(model && len > 100, "model size %zu", len);
    if (model) {
        FILE *f = fopen(path_in("cut.safetensors"), "wb");
        if (f) {
            fwrite(model, 1, len - 13, f);
            fclose(f);
        }
    }
    free(model);
    expect_fail(1, "cut.safetensors", "p.csv", "predict", "cut.safetensors", "ok.csv", "--out", "p.csv", NULL);
    expect_fail(1, "cut.safetensors", NULL, "eval", "cut.safetensors", "ok.csv", NULL);
    expect_fail(1, "cut.safetensors", NULL, "info", "cut.safetensors", NULL);
    expect_fail(1, "ok.csv", NULL, "info", "ok.csv", NULL);
    expect_fail(1, "nothere", "p.csv", "predict", "nothere.safetensors", "ok.csv", "--out", "p.csv", NULL);
    expect_fail(1, "bad.csv:3", "p.csv", "predict", "good.safetensors", "bad.csv", "--out", "p.csv", NULL);
    write_file("wide.csv", "1,2,3,4,5\n6,7,8,9,0\n");
    expect_fail(1, "wide.csv", "p.csv", "predict", "good.safetensors", "wide.csv", "--out", "p.csv", NULL);
    expect_fail(2, "eval", NULL, "eval", "good.safetensors", NULL);
    expect_fail(1, "folder", "p.csv", "predict", "good.safetensors", "ok.csv", "--out", "nodir/p.csv", NULL);
}

/* Fashion-MNIST: two epochs reach >= 84%, and the saved model's predictions
 * agree with eval exactly (same count correct). */
static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    if (access(dir, R_OK) != 0) SKIP("%s absent", dir);
    if (ck_sanitized()) SKIP("too slow under sanitizers");
    char images[700];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", dir);
    if (access(images, R_OK) != 0) SKIP("%s absent", images);
    /* A library built without zlib cannot read .gz: test on decompressed copies. */
    mynn_dataset *probe = NULL;
    if (mynn_dataset_load(&probe, images, NULL, 0) != MYNN_OK && strstr(mynn_last_error(), "zlib")) {
        static char copy[600];
        snprintf(copy, sizeof copy, "%s/fm", tmpdir);
        char cmd[2400];
        snprintf(cmd, sizeof cmd,
                 "mkdir -p '%s' && for f in train-images-idx3-ubyte train-labels-idx1-ubyte "
                 "t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do gzip -dc '%s'/$f.gz > '%s'/$f || exit 1; done",
                 copy, dir, copy);
        if (system(cmd) != 0) SKIP("built without zlib and gzip -dc failed");
        printf("  (built without zlib: using decompressed copies)\n");
        dir = copy;
        snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte", dir);
    }
    mynn_dataset_free(probe);
    result r = run("train", dir, "--layers", "128:relu,10:softmax", "--epochs", "2", "--batch", "64", "--save",
                   "m.safetensors", NULL);
    CHECK(r.rc == 0, "rc %d: %s", r.rc, r.err);
    double acc = number_after(r.out, "test accuracy: ");
    CHECK(acc >= 84.0, "test accuracy %.2f%%: %s", acc, r.out);
    result_free(&r);

    r = run("eval", "m.safetensors", images, "--json", NULL);
    CHECK(r.rc == 0, "eval rc %d: %s", r.rc, r.err);
    int correct = (int)number_after(r.out, "\"correct\":");
    double eval_acc = number_after(r.out, "\"accuracy\":") * 100.0;
    CHECK(fabs(eval_acc - acc) < 0.006, "eval %.2f%% vs train %.2f%%", eval_acc, acc);
    result_free(&r);

    r = run("predict", "m.safetensors", images, "--out", "fm_pred.csv", NULL);
    CHECK(r.rc == 0, "predict rc %d: %s", r.rc, r.err);
    result_free(&r);
    /* The true labels, through the library's own loader. */
    mynn_dataset *ds = NULL;
    CHECK_OK(mynn_dataset_load(&ds, images, NULL, 0));
    char *pred = slurp(path_in("fm_pred.csv"), NULL);
    int rows = 0, agree = 0;
    CHECK(pred && !strncmp(pred, "class,p0,", 9), "predict header");
    for (const char *q = pred ? strchr(pred, '\n') : NULL; ds && ds->labels && q && q[1]; q = strchr(q + 1, '\n')) {
        if (rows < ds->n) agree += atoi(q + 1) == ds->labels[rows];
        rows++;
    }
    CHECK(ds && rows == ds->n && rows == 10000, "predict rows %d", rows);
    CHECK(agree == correct, "predict: %d correct, eval: %d", agree, correct);
    CHECK(correct >= 8400, "correct %d", correct);
    free(pred);
    mynn_dataset_free(ds);
}

int main(void)
{
    CK_BEGIN("test_cli");
    tool = getenv("MYNN_TOOL");
    if (!tool || !*tool) tool = "build/mynn";
    static char abs_tool[4096];
    if (tool[0] != '/' && getcwd(abs_tool, sizeof abs_tool - strlen(tool) - 2)) {
        strcat(abs_tool, "/");
        strcat(abs_tool, tool);
        tool = abs_tool;
    }
    if (access(tool, X_OK) != 0) {
        fprintf(stderr, "test_cli: %s: not an executable (build it, or set MYNN_TOOL)\n", tool);
        return 1;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mynn_cli_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_help_version);
    RUN(test_blobs_workflow);
    RUN(test_xor);
    RUN(test_fann_and_regression);
    RUN(test_errors);
    RUN(test_fashion_mnist);
    if (!ck_failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "test_cli: could not remove %s\n", tmpdir);
    } else {
        printf("  files kept in %s\n", tmpdir);
    }
    return CK_END();
}
