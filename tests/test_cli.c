/* The mynn command-line tool, run as a separate process (fork/exec) on small
 * synthetic data written to a temporary folder.  The tool's path comes from
 * $MYNN_TOOL (default build/mynn). */
#include "check.h"
#include "mynn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
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

/* Run argv (NULL-terminated; argv[0] a path or a command found in PATH) in
 * tmpdir with the "NAME=value" strings of env (NULL-terminated, may be
 * NULL) added to the environment; stdout and stderr captured. */
static result run_env(const char *const *env, const char *const *argv)
{
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
        for (int i = 0; env && env[i]; i++) {
            char name[128];
            const char *eq = strchr(env[i], '=');
            if (!eq || (size_t)(eq - env[i]) >= sizeof name) _exit(125);
            memcpy(name, env[i], (size_t)(eq - env[i]));
            name[eq - env[i]] = '\0';
            if (setenv(name, eq + 1, 1) != 0) _exit(125);
        }
        execvp(argv[0], (char *const *)argv);
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

/* The tool with the NULL-terminated arguments, in an environment with the
 * assignments of env added (NULL: none). */
static result vrun(const char *const *env, const char *arg0, va_list ap)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = tool;
    for (const char *a = arg0; a && argc < 63; a = va_arg(ap, const char *)) argv[argc++] = a;
    argv[argc] = NULL;
    return run_env(env, argv);
}

static result run(const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    result r = vrun(NULL, arg0, ap);
    va_end(ap);
    return r;
}

/* run() with one environment assignment ("NAME=value"). */
static result run_with(const char *assign, const char *arg0, ...)
{
    const char *env[2] = {assign, NULL};
    va_list ap;
    va_start(ap, arg0);
    result r = vrun(env, arg0, ap);
    va_end(ap);
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
    const char *cmds[] = {"train", "eval", "predict", "info", "export"};
    for (int i = 0; i < 5; i++) {
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
    result r = run("train", "blobs.csv", "--layers", "16:relu,3:softmax", "--optimizer", "adam",
                   "--epochs", "40", "--lr", "0.02",
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

/* An iris-like CSV: four measurements and the species name last. */
static void write_iris(const char *name, int n, const char *extra_row)
{
    static const char *const species[3] = {"setosa", "versicolor", "virginica"};
    static const double c[3][4] = {{5.0, 3.4, 1.5, 0.2}, {5.9, 2.8, 4.3, 1.3}, {6.6, 3.0, 5.6, 2.0}};
    FILE *f = fopen(path_in(name), "w");
    if (!f) return;
    fputs("sepal_length,sepal_width,petal_length,petal_width,species\n", f);
    unsigned s = 777;
    for (int i = 0; i < n; i++) {
        int k = (i * 7) % 3;
        double v[4];
        for (int j = 0; j < 4; j++) {
            s = s * 1103515245u + 12345u;
            v[j] = c[k][j] + (((s >> 8) % 1000) / 1000.0 - 0.5) * 0.4;
        }
        fprintf(f, "%.2f,%.2f,%.2f,%.2f,%s\n", v[0], v[1], v[2], v[3], species[k]);
    }
    if (extra_row) fputs(extra_row, f);
    fclose(f);
}

static void test_named_classes(void)
{
    write_iris("iris.csv", 150, NULL);
    result r = run("train", "iris.csv", "--layers", "8:tanh,3:softmax", "--epochs", "60", "--lr", "0.02",
                   "--batch", "8", "--save", "iris.st", "--test", "iris.csv", "--threads", "1", NULL);
    CHECK(r.rc == 0 && number_after(r.out, "test accuracy: ") >= 95.0, "iris rc %d: %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("predict", "iris.st", "iris.csv", NULL);
    CHECK(r.rc == 0 && !strncmp(r.out, "class,p_setosa,p_versicolor,p_virginica\nsetosa,", 47) &&
              count_lines(r.out) == 151,
          "predict: %.80s %s", r.out, r.err);
    result_free(&r);
    r = run("eval", "iris.st", "iris.csv", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "    setosa versicolor  virginica\n") && strstr(r.out, "\n    setosa         50") &&
              strstr(r.out, "\nvirginica ") == NULL && strstr(r.out, "\n virginica "),
          "eval: %s %s", r.out, r.err);
    result_free(&r);
    r = run("eval", "iris.st", "iris.csv", "--json", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "\"class_names\":[\"setosa\",\"versicolor\",\"virginica\"]"), "json: %s", r.out);
    result_free(&r);
    r = run("info", "iris.st", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "Classes: 3 (setosa, versicolor, virginica)"), "info: %s", r.out);
    result_free(&r);
    /* A class the model never saw: one line naming the line and the value. */
    write_iris("iris_new.csv", 3, "5.0,3.0,1.0,0.5,setosaa\n");
    r = run("eval", "iris.st", "iris_new.csv", NULL);
    CHECK(r.rc == 1 && count_lines(r.err) == 1 &&
              strstr(r.err, "iris_new.csv:5: column 5: class \"setosaa\" is not one of the model's 3 classes"),
          "unseen class: rc %d %s", r.rc, r.err);
    result_free(&r);
    /* predict ignores the label column, so the file predicts. */
    r = run("predict", "iris.st", "iris_new.csv", NULL);
    CHECK(r.rc == 0 && count_lines(r.out) == 5, "predict with unseen label: rc %d %s", r.rc, r.err);
    result_free(&r);
}

/* Categorical and missing values round-trip through the model file. */
static void test_categorical_missing(void)
{
    char text[16384] = "size,colour,weight,kind\n";
    static const char *const colours[3] = {"red", "green", "blue"};
    for (int i = 0; i < 120; i++) {
        int k = i % 2;
        char line[96];
        const char *w = i % 13 == 5 ? "NA" : i % 13 == 7 ? "" : NULL;
        char wv[16];
        snprintf(wv, sizeof wv, "%d.%d", 1 + 3 * k, i % 10);
        snprintf(line, sizeof line, "%d.%d,%s,%s,%s\n", 2 + k, i % 7, colours[(k + (i % 5 == 0)) % 3],
                 w ? w : wv, k ? "big" : "small");
        strcat(text, line);
    }
    write_file("cm.csv", text);
    result r = run("train", "cm.csv", "--layers", "6:tanh,2:softmax", "--epochs", "40", "--batch", "8",
                   "--save", "cm.st", "--quiet", NULL);
    CHECK(r.rc == 1 && strstr(r.err, "cm.csv:7: column 3: missing value \"NA\" (use --missing drop, mean or median)"),
          "missing by default: rc %d %s", r.rc, r.err);
    result_free(&r);
    r = run("train", "cm.csv", "--layers", "6:tanh,2:softmax", "--epochs", "40", "--batch", "8", "--missing",
            "mean", "--save", "cm.st", "--quiet", "--test", "cm.csv", NULL);
    CHECK(r.rc == 0 && number_after(r.out, "test accuracy: ") >= 95.0, "mean: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("info", "cm.st", NULL);
    const char *fill = strstr(r.out, "column 2: numeric, missing values filled with ");
    CHECK(r.rc == 0 && strstr(r.out, "column 1: categorical, 3 categories (blue, green, red)") && fill,
          "info: %s", r.out);
    char fv[32] = "";
    if (fill) sscanf(fill + strlen("column 2: numeric, missing values filled with "), "%31s", fv);
    result_free(&r);
    /* NA predicts as the saved mean; an unseen colour as all zeros, with one warning. */
    char a[256], b[256];
    snprintf(a, sizeof a, "size,colour,weight\n3.1,blue,NA\n2.2,purple,1.5\n");
    snprintf(b, sizeof b, "size,colour,weight\n3.1,blue,%s\n2.2,purple,1.5\n", fv);
    write_file("cm_a.csv", a);
    write_file("cm_b.csv", b);
    r = run("predict", "cm.st", "cm_a.csv", NULL);
    result r2 = run("predict", "cm.st", "cm_b.csv", NULL);
    CHECK(r.rc == 0 && r2.rc == 0 && !strcmp(r.out, r2.out) && count_lines(r.out) == 3 &&
              !strncmp(r.out, "class,p_big,p_small\nbig,", 24),
          "imputed: %s vs %s (%s)", r.out, r2.out, r.err);
    CHECK(count_lines(r.err) == 1 &&
              strstr(r.err, "mynn: warning: cm_a.csv:3: column 2: unseen category \"purple\" encoded as all zeros"),
          "warning: %s", r.err);
    result_free(&r);
    result_free(&r2);
    r = run("predict", "cm.st", "cm_a.csv", "--strict", NULL);
    CHECK(r.rc == 1 && count_lines(r.err) == 1 && strstr(r.err, "category \"purple\" was not seen in training"),
          "strict: rc %d %s", r.rc, r.err);
    result_free(&r);
    r = run("export", "cm.st", "cm.onnx", NULL);
    CHECK(r.rc == 1 && count_lines(r.err) == 1 && !exists("cm.onnx") &&
              strstr(r.err, "cm.st: the model one-hot encodes categorical columns of its CSV data"),
          "export with an encoding: rc %d %s", r.rc, r.err);
    result_free(&r);
    r = run("train", "cm.csv", "--layers", "2:softmax", "--missing", "sometimes", NULL);
    CHECK(r.rc == 2 && strstr(r.err, "--missing: \"sometimes\" must be error, drop, mean or median"), "%s", r.err);
    result_free(&r);
    r = run("train", "cm.csv", "--layers", "2:softmax", "--categorical", "1,,2", NULL);
    CHECK(r.rc == 2 && strstr(r.err, "--categorical: \"1,,2\""), "%s", r.err);
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

/* --val with a data file instead of a fraction, driving early stopping. */
static void test_val_file(void)
{
    write_blobs("vtrain.csv", 90, 1);
    write_blobs("vval.csv", 30, 1);
    result r = run("train", "vtrain.csv", "--val", "vval.csv", "--patience", "3", "--layers",
                   "8:relu,3:softmax", "--epochs", "30", "--batch", "8", "--threads", "1",
                   "--log", "vlog.csv", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "val_acc"), "rc %d: %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("train", "vtrain.csv", "--val", "nothere.csv", "--layers", "3:softmax", NULL);
    CHECK(r.rc == 1 && strstr(r.err, "nothere.csv"), "missing --val file: rc %d %s", r.rc, r.err);
    result_free(&r);
    r = run("train", "vtrain.csv", "--val", "1.5", "--layers", "3:softmax", NULL);
    CHECK(r.rc == 2, "--val 1.5: rc %d %s", r.rc, r.err);
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
    const char *argv[48], **args = argv + 1;
    int n = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 46; a = va_arg(ap, const char *)) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    argv[0] = tool;
    result r = run_env(NULL, argv);
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
    expect_fail(1, "bad.csv:3", "o.st", "train", "bad.csv", "--layers", L, "--categorical", "none",
                "--save", "o.st", NULL);
    expect_fail(2, "swish", "o.st", "train", "ok.csv", "--layers", "4:swish,3:softmax", "--save", "o.st", NULL);
    expect_fail(2, "--optimizer", "o.st", "train", "ok.csv", "--layers", L, "--optimizer", "adamax", "--save",
                "o.st", NULL);
    expect_fail(2, "--loss", "o.st", "train", "ok.csv", "--layers", L, "--loss", "hinge", "--save", "o.st", NULL);
    expect_fail(2, "--clip-norm: not with lbfgs", "o.st", "train", "ok.csv", "--layers", L, "--optimizer", "lbfgs",
                "--clip-norm", "1", "--save", "o.st", NULL);
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


/* ---- hostile input and faults ------------------------------------------ */

/* Byte-identical files (both must exist). */
static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = slurp(path_in(a), &na), *y = slurp(path_in(b), &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* The CSV text without its last column (a log's seconds). */
static char *drop_last_column(const char *csv)
{
    char *o = malloc(strlen(csv) + 1), *w = o;
    if (!o) return NULL;
    for (const char *line = csv; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        const char *cut = end;
        while (cut > line && cut[-1] != ',') cut--;
        if (cut > line) cut--;   /* the comma itself */
        memcpy(w, line, (size_t)(cut - line));
        w += cut - line;
        *w++ = '\n';
        line = *end ? end + 1 : end;
    }
    *w = '\0';
    return o;
}

/* --recipe fann on a FANN .data file (symmetric -1/1 targets), as a FANN user would. */
static void test_recipe_fann(void)
{
    char text[4096] = "64 2 1\n";
    for (int rep = 0; rep < 16; rep++) strcat(text, "-1 -1\n-1\n-1 1\n1\n1 -1\n1\n1 1\n-1\n");
    write_file("xor.data", text);
    result r = run("train", "xor.data", "--recipe", "fann", "--layers", "4:tanh,1:tanh", "--epochs", "300",
                   "--desired-error", "0.0001", "--save", "fx.st", "--quiet", "--seed", "3", NULL);
    CHECK(r.rc == 0, "recipe rc %d: %s", r.rc, r.err);
    result_free(&r);
    r = run("predict", "fx.st", "xor.data", NULL);
    /* A tanh output: rows y0; the signs of the four patterns are - + + -. */
    int ok = r.rc == 0 && !strncmp(r.out, "y0\n", 3);
    const char *p = r.out + 3;
    static const int sign[4] = {-1, 1, 1, -1};
    for (int i = 0; ok && i < 4; i++) {
        double v = atof(p);
        ok = v * sign[i] > 0.5;
        p = strchr(p, '\n') + 1;
    }
    CHECK(ok, "xor predictions: %.120s %s", r.out, r.err);
    result_free(&r);
    /* One-hot classes that FANN fits to MSE 0: it stops there (desired
     * error 0, as fann_train_on_data), and the first line names FANN's
     * trainer, not mynn's optimizer. */
    write_blobs("fblobs.csv", 90, 1);
    r = run("train", "fblobs.csv", "--recipe", "fann", "--layers", "16:tanh,3:sigmoid", "--epochs", "300",
            "--threads", "1", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "FANN iRprop- (tanh error function, steepness 0.5 hidden, 0.5 output; "
                                     "stops at MSE <= 0), FANN's MSE\n") &&
              !strstr(r.out, "lbfgs") && !strstr(r.out, "auto") &&
              strstr(r.out, "stopped after epoch ") && strstr(r.out, "(FANN's desired error: MSE 0 <= 0)") &&
              !strstr(r.out, "epoch 300/300"),
          "recipe stop: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("train", "fblobs.csv", "--recipe", "fann", "--layers", "16:tanh,3:sigmoid", "--epochs", "300",
            "--desired-error", "off", "--threads", "1", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "no desired error)") && strstr(r.out, "epoch 300/300") &&
              !strstr(r.out, "stopped after"),
          "desired error off: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    expect_fail(2, "--desired-error: \"never\" must be a number >= 0", NULL, "train", "fblobs.csv", "--recipe",
                "fann", "--layers", "16:tanh,3:sigmoid", "--desired-error", "never", NULL);
    expect_fail(2, "--lr: not part of --recipe fann", NULL, "train", "xor.data", "--recipe", "fann",
                "--layers", "4:tanh,1:tanh", "--lr", "0.1", NULL);
    expect_fail(1, "activation relu is not one of FANN's", "o.st", "train", "xor.data", "--recipe", "fann",
                "--layers", "4:relu,1:tanh", "--save", "o.st", NULL);
    expect_fail(2, "--steepness: only with --recipe fann", NULL, "train", "xor.data", "--layers",
                "4:tanh,1:tanh", "--steepness", "1", NULL);
    expect_fail(2, "--init: with --recipe fann", NULL, "train", "xor.data", "--recipe", "fann",
                "--layers", "4:tanh,1:tanh", "--init", "he", NULL);
}

/* The number before " iterations" in the "auto: chose" line, or -1. */
static int chosen_iterations(const char *out)
{
    const char *p = strstr(out, "auto: chose "), *it = p ? strstr(p, " iterations") : NULL;
    if (!it) return -1;
    while (it > p && it[-1] != ' ') it--;
    return atoi(it);
}

/* --optimizer auto (the default): the library's search on held-out rows
 * (L-BFGS's decays, above 5000 rows Adam's too), its choice printed
 * before the refit's epochs and kept in the model (mynn info), the same
 * for any thread count; --weight-decay and --epochs fix theirs; an
 * optimizer's own setting (--lr) turns the search off (issue 14's rule). */
static void test_auto_optimizer(void)
{
    write_blobs("tiny.csv", 5, 1);   /* nothing to hold out */
    result r = run("train", "tiny.csv", "--layers", "8:tanh,3:softmax", "--threads", "1", "--epochs", "5", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "51 parameters, auto (choosing on held-out rows), ce loss\n") &&
              strstr(r.out, "auto: chose lbfgs, weight decay 1e-3, 5 iterations (too few rows to hold any out: 5 rows)\n"),
          "tiny: %s %s", r.out, r.err);
    result_free(&r);
    r = run("train", "--help", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "auto (default)") && strstr(r.out, "held-out rows"), "help: %s", r.out);
    result_free(&r);
    write_blobs("small.csv", 300, 1);
    r = run("train", "small.csv", "--layers", "8:tanh,3:softmax", "--threads", "2", "--save", "auto2.st", NULL);
    int iters = chosen_iterations(r.out);
    char epoch1[64];
    snprintf(epoch1, sizeof epoch1, "\nepoch 1/%d  loss", iters);
    CHECK(r.rc == 0 && strstr(r.out, "auto: chose lbfgs, weight decay ") && iters >= 1 && strstr(r.out, epoch1) &&
              strstr(r.out, "; 8 candidates on 60 held-out rows, the best 3 by 5-fold cross-validation, ") &&
              strstr(r.out, "auto: chose") < strstr(r.out, epoch1),
          "small: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("train", "small.csv", "--layers", "8:tanh,3:softmax", "--threads", "1", "--save", "auto1.st", NULL);
    CHECK(r.rc == 0 && same_file("auto1.st", "auto2.st"), "the model depends on the threads: %s", r.err);
    result_free(&r);
    r = run("info", "auto2.st", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "Trained by auto: lbfgs, weight decay ") &&
              strstr(r.out, "  60 of 300 training rows held out (stratified, seed 1), the best 3 then by 5-fold "
                            "cross-validation; refit on all 300 rows\n") &&
              strstr(r.out, "  * lbfgs, weight decay ") && strstr(r.out, "    lbfgs, weight decay 0.1: val loss "),
          "info: %s %s", r.out, r.err);
    result_free(&r);
    /* Fixed settings: the decay (one candidate), the epochs. */
    r = run("train", "small.csv", "--layers", "8:tanh,3:softmax", "--weight-decay", "0", "--threads", "1", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "auto: chose lbfgs, weight decay 0, ") &&
              strstr(r.out, "; 1 candidate on 60 held-out rows, by 5-fold cross-validation, "),
          "decay given: %s %s", r.out, r.err);
    result_free(&r);
    r = run("train", "small.csv", "--layers", "8:tanh,3:softmax", "--epochs", "7", "--threads", "1", NULL);
    CHECK(r.rc == 0 && chosen_iterations(r.out) == 7 && strstr(r.out, "epoch 1/7  loss"), "epochs given: %s %s",
          r.out, r.err);
    result_free(&r);
    /* An optimizer's own setting: no search, issue 14's rule. */
    r = run("train", "small.csv", "--layers", "8:tanh,3:softmax", "--lr", "0.5", "--epochs", "3", "--threads", "1", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "51 parameters, lbfgs (auto, weight decay 0.0003; no search: --lr given), ce loss") &&
              !strstr(r.out, "auto: chose"),
          "--lr: %s %s", r.out, r.err);
    result_free(&r);
    r = run("train", "small.csv", "--layers", "8:tanh,3:softmax", "--optimizer", "lbfgs", "--epochs", "300",
            "--threads", "1", "--save", "lb.st", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "lbfgs, ce loss") && strstr(r.out, "converged after epoch ") &&
              !strstr(r.out, "epoch 300/300") && !strstr(r.out, "auto"),
          "lbfgs: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("info", "lb.st", NULL);
    CHECK(r.rc == 0 && !strstr(r.out, "Trained by auto"), "explicit lbfgs: %s", r.out);
    result_free(&r);
    /* Above 5000 rows Adam's candidates too (2 epochs each to be quick);
     * the split comes first: 5001 rows less 10% are L-BFGS's alone. */
    write_blobs("big.csv", 5001, 1);
    r = run("train", "big.csv", "--layers", "8:tanh,3:softmax", "--epochs", "2", "--threads", "2", "--save", "big.st",
            NULL);
    CHECK(r.rc == 0 && strstr(r.out, "; 5 candidates on 1001 held-out rows, "), "big: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("info", "big.st", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "adam, weight decay 1e-3: val loss ") && strstr(r.out, "lbfgs, weight decay 1e-4: "),
          "big info: %s", r.out);
    result_free(&r);
    r = run("train", "big.csv", "--layers", "8:tanh,3:softmax", "--epochs", "2", "--val", "0.1", "--threads",
            "2", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "; 8 candidates on 901 held-out rows, ") && !strstr(r.out, "cross-validation"),
          "big with --val: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
}

/* Non-zero if the NUL-free string s occurs in buf[0..n). */
static int has_bytes(const char *buf, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(buf + i, s, k)) return 1;
    return 0;
}

/* mynn export: the format from the extension or --format, the same bytes
 * as mynn_export_onnx, and one-line errors that leave no file behind. */
static void test_export(void)
{
    write_blobs("ex.csv", 60, 1);
    result r = run("train", "ex.csv", "--layers", "6:gelu,dropout:0.1,3:softmax", "--epochs", "2",
                   "--normalize", "standard", "--save", "ex.safetensors", "--quiet", NULL);
    CHECK(r.rc == 0, "train rc %d: %s", r.rc, r.err);
    result_free(&r);
    r = run("export", "ex.safetensors", "ex.onnx", NULL);
    CHECK(r.rc == 0 && !*r.out && !*r.err, "export rc %d: %s%s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("export", "ex.safetensors", "ex.model", "--format", "onnx", NULL);
    CHECK(r.rc == 0, "export --format onnx rc %d: %s", r.rc, r.err);
    result_free(&r);

    mynn_net *net = NULL;
    char lib_path[600];
    snprintf(lib_path, sizeof lib_path, "%s", path_in("lib.onnx"));
    CHECK_OK(mynn_load(&net, path_in("ex.safetensors"), 1));
    if (net) CHECK_OK(mynn_export_onnx(net, lib_path));
    mynn_free(net);
    size_t n_cli = 0, n_fmt = 0, n_lib = 0;
    char *cli = slurp(path_in("ex.onnx"), &n_cli), *fmt = slurp(path_in("ex.model"), &n_fmt);
    char *lib = slurp(lib_path, &n_lib);
    CHECK(cli && lib && fmt && n_cli > 100 && n_cli == n_lib && n_fmt == n_lib && !memcmp(cli, lib, n_lib) &&
          !memcmp(fmt, lib, n_lib), "export: %zu / %zu bytes, library %zu", n_cli, n_fmt, n_lib);
    free(cli);
    free(fmt);
    free(lib);

    /* A CNN (CSV rows as 1 x 2 x 2 images): its input is [N, 1, 2, 2]. */
    write_file("img.csv", "0,1,2,3,0\n3,2,1,0,1\n1,1,2,2,0\n2,2,1,1,1\n");
    r = run("train", "img.csv", "--shape", "1x2x2", "--layers", "conv:3:2:relu:pad=1,batchnorm,maxpool:2,flatten,2:softmax",
            "--epochs", "2", "--batch", "2", "--quiet", "--save", "img.safetensors", NULL);
    CHECK(r.rc == 0, "train CNN rc %d: %s", r.rc, r.err);
    result_free(&r);
    r = run("export", "img.safetensors", "img.onnx", NULL);
    CHECK(r.rc == 0 && exists("img.onnx"), "export CNN rc %d: %s", r.rc, r.err);
    result_free(&r);
    char *img = slurp(path_in("img.onnx"), &n_cli);
    CHECK(img && has_bytes(img, n_cli, "BatchNormalization") && has_bytes(img, n_cli, "MaxPool"),
          "CNN export lacks its nodes");
    free(img);

    expect_fail(2, "cannot tell the format of \"ex.bin\"", "ex.bin", "export", "ex.safetensors", "ex.bin", NULL);
    expect_fail(2, "unknown format \"tflite\" (onnx", "ex2.onnx", "export", "ex.safetensors", "ex2.onnx",
                "--format", "tflite", NULL);
    expect_fail(2, "missing OUT", NULL, "export", "ex.safetensors", NULL);
    expect_fail(2, "missing MODEL and OUT", NULL, "export", NULL);
    expect_fail(2, "unexpected argument", NULL, "export", "ex.safetensors", "a.onnx", "b.onnx", NULL);
    expect_fail(1, "nope.safetensors", "ex3.onnx", "export", "nope.safetensors", "ex3.onnx", NULL);
    expect_fail(1, "folder", NULL, "export", "ex.safetensors", "no/such/dir.onnx", NULL);
    expect_fail(1, "ex.csv", "ex4.onnx", "export", "ex.csv", "ex4.onnx", NULL);
}

/* Killed for real (SIGKILL right after a checkpoint), resumed: the saved
 * model is byte-identical to an uninterrupted run's.  Dropout, Adam, a
 * validation set with patience, 2 threads; killed twice. */
static void test_resume_after_kill(void)
{
    write_blobs("rk.csv", 120, 1);
#define RK_ARGS "train", "rk.csv", "--layers", "16:relu,dropout:0.3,16:relu,dropout:0.1,3:softmax", \
        "--epochs", "6", "--batch", "16", "--lr", "0.01", "--val", "0.25", "--patience", "10",      \
        "--seed", "5", "--threads", "2", "--optimizer", "adam"
    result r = run(RK_ARGS, "--save", "rk_full.st", "--log", "rk_full.csv", NULL);
    CHECK(r.rc == 0, "uninterrupted: rc %d %s", r.rc, r.err);
    result_free(&r);

    r = run_with("MYNN_TEST_KILL_AFTER_EPOCH=2", RK_ARGS, "--save", "rk.st", "--checkpoint", "rk_ck", NULL);
    CHECK(r.rc == 128 + 9, "not killed after epoch 2: rc %d %s", r.rc, r.err);
    CHECK(strstr(r.out, "epoch 1/6") && !strstr(r.out, "epoch 3/6"), "killed run: %s", r.out);
    CHECK(!exists("rk.st") && exists("rk_ck/checkpoint.safetensors"), "after the kill");
    result_free(&r);
    r = run_with("MYNN_TEST_KILL_AFTER_EPOCH=4", RK_ARGS, "--save", "rk.st", "--checkpoint", "rk_ck", "--resume",
                 NULL);
    CHECK(r.rc == 128 + 9, "not killed after epoch 4: rc %d %s", r.rc, r.err);
    CHECK(strstr(r.out, "epoch 3/6") && !strstr(r.out, "epoch 2/6"), "first resumed run: %s", r.out);
    result_free(&r);
    r = run(RK_ARGS, "--save", "rk.st", "--log", "rk_log.csv", "--checkpoint", "rk_ck", "--resume", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "epoch 5/6") && !strstr(r.out, "epoch 4/6"), "resume: rc %d %s %s", r.rc,
          r.out, r.err);
    result_free(&r);
    CHECK(exists("rk.st") && same_file("rk.st", "rk_full.st"), "resumed model differs from the uninterrupted one");
    /* The resumed log holds epochs 5 and 6, as the uninterrupted one does. */
    char *full = slurp(path_in("rk_full.csv"), NULL), *part = slurp(path_in("rk_log.csv"), NULL);
    char *a = full ? drop_last_column(full) : NULL, *b = part ? drop_last_column(part) : NULL;
    const char *tail = a;
    for (int i = 0; tail && i < 5; i++) tail = strchr(tail, '\n') ? strchr(tail, '\n') + 1 : tail;
    const char *body = b ? strchr(b, '\n') : NULL;
    CHECK(body && tail && !strcmp(body + 1, tail), "logs: %s vs %s", b ? b : "", a ? a : "");
    free(full);
    free(part);
    free(a);
    free(b);
    /* auto: a resumed run searches again, to the same choice, and goes on
     * with its final training from the checkpoint. */
    r = run("train", "rk.csv", "--layers", "8:tanh,3:softmax", "--seed", "5", "--threads", "2", "--save",
            "ra_full.st", NULL);
    CHECK(r.rc == 0, "auto uninterrupted: rc %d %s", r.rc, r.err);
    result_free(&r);
    r = run_with("MYNN_TEST_KILL_AFTER_EPOCH=3", "train", "rk.csv", "--layers", "8:tanh,3:softmax", "--seed", "5",
                 "--threads", "2", "--save", "ra.st", "--checkpoint", "ra_ck", NULL);
    CHECK(r.rc == 128 + 9 && strstr(r.out, "auto: chose "), "auto not killed after epoch 3: rc %d %s", r.rc, r.out);
    result_free(&r);
    r = run("train", "rk.csv", "--layers", "8:tanh,3:softmax", "--seed", "5", "--threads", "2", "--save", "ra.st",
            "--checkpoint", "ra_ck", "--resume", NULL);
    CHECK(r.rc == 0 && !strstr(r.out, "\nepoch 3/") && strstr(r.out, "\nepoch 4/"), "auto resumed: rc %d %s %s",
          r.rc, r.out, r.err);
    CHECK(exists("ra.st") && same_file("ra.st", "ra_full.st"), "auto: the resumed model differs");
    result_free(&r);
    /* Resuming a finished run only saves. */
    r = run(RK_ARGS, "--save", "rk2.st", "--checkpoint", "rk_ck", "--resume", "--quiet", NULL);
    CHECK(r.rc == 0 && same_file("rk2.st", "rk_full.st"), "resume of a finished run: rc %d %s", r.rc, r.err);
    result_free(&r);

    /* Other settings, missing checkpoint, --resume alone. */
    expect_fail(1, "batch size", "rk3.st", RK_ARGS, "--batch", "8", "--checkpoint", "rk_ck", "--resume", "--save",
                "rk3.st", NULL);
    expect_fail(1, "no checkpoint", "rk3.st", RK_ARGS, "--checkpoint", "rk_none", "--resume", "--save", "rk3.st",
                NULL);
    CHECK(!exists("rk_none"), "--resume created its folder");
    expect_fail(2, "--resume", NULL, RK_ARGS, "--resume", NULL);
    write_file("rk_file", "x");
    expect_fail(1, "not a folder", NULL, RK_ARGS, "--checkpoint", "rk_file", NULL);
#undef RK_ARGS
}

/* A diverging run: exit 1, one line naming epoch and batch, and the
 * existing model and log files untouched. */
static void test_divergence(void)
{
    write_blobs("dv.csv", 90, 1);
    write_file("dv.st", "previous model\n");
    write_file("dv_log.csv", "previous log\n");
    result r = run("train", "dv.csv", "--layers", "64:relu,3", "--loss", "mse", "--optimizer", "sgd", "--lr", "1e3",
                   "--normalize", "none", "--save", "dv.st", "--log", "dv_log.csv", NULL);
    CHECK(r.rc == 1, "rc %d: %s", r.rc, r.err);
    CHECK(count_lines(r.err) == 1 && strstr(r.err, "diverged") && strstr(r.err, "at epoch ") &&
          strstr(r.err, ", batch "), "stderr: %s", r.err);
    result_free(&r);
    char *m = slurp(path_in("dv.st"), NULL), *l = slurp(path_in("dv_log.csv"), NULL);
    CHECK(m && !strcmp(m, "previous model\n"), "model file changed");
    CHECK(l && !strcmp(l, "previous log\n"), "log file changed");
    free(m);
    free(l);
    CHECK(tmp_files_left() == 0, "temporary files left");
}

/* NaN / inf cells: an error naming file:line:column, or dropped rows with
 * --skip-nonfinite (train, eval, predict). */
static void test_nonfinite(void)
{
    write_blobs("nf_ok.csv", 30, 1);
    result r = run("train", "nf_ok.csv", "--layers", "8:relu,3:softmax", "--epochs", "2", "--save", "nf.st", "--quiet",
                   NULL);
    CHECK(r.rc == 0, "rc %d %s", r.rc, r.err);
    result_free(&r);
    write_file("nf.csv", "x1,x2,label\n0.1,0.2,0\n6.1,nan,1\n0.3,6.2,2\n-inf,1,0\n6,6,1\n0.2,5.9,2\n");
    write_file("nf.data", "3 2 1\n0 1\n1\nINF 1\n0\n1 0\n1\n");
    expect_fail(1, "nf.csv:3: column 2", "o.st", "train", "nf.csv", "--layers", "4:relu,3:softmax", "--save", "o.st",
                NULL);
    expect_fail(1, "--skip-nonfinite", NULL, "train", "nf.csv", "--layers", "4:relu,3:softmax", NULL);
    expect_fail(1, "nf.csv:3: column 2", NULL, "eval", "nf.st", "nf.csv", NULL);
    expect_fail(1, "nf.csv:3: column 2", "p.csv", "predict", "nf.st", "nf.csv", "--out", "p.csv", NULL);
    expect_fail(1, "nf.data:4: column 1", NULL, "train", "nf.data", "--layers", "2,1", NULL);

    r = run("train", "nf.csv", "--layers", "4:relu,3:softmax", "--skip-nonfinite", "--epochs", "1", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "training on 4 samples"), "train --skip-nonfinite: rc %d %s %s", r.rc, r.out,
          r.err);
    result_free(&r);
    r = run("eval", "nf.st", "nf.csv", "--skip-nonfinite", "--json", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "\"samples\":4,"), "eval --skip-nonfinite: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("predict", "nf.st", "nf.csv", "--skip-nonfinite", NULL);
    CHECK(r.rc == 0 && count_lines(r.out) == 5, "predict --skip-nonfinite: rc %d %s %s", r.rc, r.out, r.err);
    result_free(&r);
    r = run("train", "nf.data", "--layers", "2,1", "--skip-nonfinite", "--epochs", "1", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "training on 2 samples"), "FANN --skip-nonfinite: rc %d %s %s", r.rc, r.out,
          r.err);
    result_free(&r);
}

/* The tool calls setlocale(LC_ALL, ""): under a comma-decimal locale every
 * file it reads and writes, and its JSON, are byte for byte those of the C
 * locale (the log's seconds column aside). */
static void test_locale(void)
{
    const char *loc = "de_DE.UTF-8";
    if (!setlocale(LC_ALL, loc)) SKIP("locale %s not installed (localedef -i de_DE -f UTF-8 de_DE.UTF-8)", loc);
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    setlocale(LC_ALL, "C");
    if (strcmp(probe, "1,5")) SKIP("%s does not use a decimal comma", loc);

    /* Decimals in the data; a dropout rate in the architecture. */
    write_blobs("loc.csv", 90, 1);
    write_file("loc.data", "4 2 1\n0.5 1.25\n1\n1.5 0.75\n0\n0.25 1e-1\n1\n2.5 -0.5\n0\n");
    const char *names[2] = {"C", "de"};
    for (int k = 0; k < 2; k++) {
        char env[64], f[6][64];
        snprintf(env, sizeof env, "LC_ALL=%s", k ? loc : "C");
        const char *e[2] = {env, NULL};
        const char *n = names[k];
        snprintf(f[0], 64, "loc_%s.st", n);
        snprintf(f[1], 64, "loc_%s_log.csv", n);
        snprintf(f[2], 64, "loc_%s.svg", n);
        snprintf(f[3], 64, "loc_%s_pred.csv", n);
        snprintf(f[4], 64, "loc_%s_fann.st", n);
        snprintf(f[5], 64, "loc_%s_fpred.csv", n);
        const char *train[] = {tool, "train", "loc.csv", "--layers", "8:tanh,dropout:0.25,3:softmax", "--epochs", "3",
                               "--lr", "0.05", "--momentum", "0.5", "--optimizer", "sgd", "--val", "0.2",
                               "--test", "loc.csv", "--normalize", "standard", "--threads", "1", "--save", f[0],
                               "--log", f[1], "--plot", f[2], NULL};
        result r = run_env(e, train);
        CHECK(r.rc == 0, "%s: train rc %d %s", env, r.rc, r.err);
        const char *acc = strstr(r.out, "test accuracy: ");
        CHECK(acc && strchr(acc, '.') && strchr(acc, '.') < strchr(acc, '%'), "%s: %s", env, r.out);
        result_free(&r);
        const char *pred[] = {tool, "predict", f[0], "loc.csv", "--out", f[3], NULL};
        r = run_env(e, pred);
        CHECK(r.rc == 0, "%s: predict rc %d %s", env, r.rc, r.err);
        result_free(&r);
        const char *ftrain[] = {tool, "train", "loc.data", "--layers", "3:sigmoid,dropout:0.25,1", "--epochs", "2",
                                "--batch", "2", "--threads", "1", "--save", f[4], "--quiet", NULL};
        r = run_env(e, ftrain);
        CHECK(r.rc == 0, "%s: FANN train rc %d %s", env, r.rc, r.err);
        result_free(&r);
        const char *fpred[] = {tool, "predict", f[4], "loc.data", "--out", f[5], NULL};
        r = run_env(e, fpred);
        CHECK(r.rc == 0, "%s: FANN predict rc %d %s", env, r.rc, r.err);
        result_free(&r);
    }
    CHECK(same_file("loc_C.st", "loc_de.st"), "model files differ between locales");
    CHECK(same_file("loc_C.svg", "loc_de.svg"), "plots differ between locales");
    CHECK(same_file("loc_C_pred.csv", "loc_de_pred.csv"), "predictions differ between locales");
    CHECK(same_file("loc_C_fann.st", "loc_de_fann.st"), "FANN-trained models differ between locales");
    CHECK(same_file("loc_C_fpred.csv", "loc_de_fpred.csv"), "FANN predictions differ between locales");
    char *la = slurp(path_in("loc_C_log.csv"), NULL), *lb = slurp(path_in("loc_de_log.csv"), NULL);
    char *ca = la ? drop_last_column(la) : NULL, *cb = lb ? drop_last_column(lb) : NULL;
    CHECK(ca && cb && count_lines(ca) == 4 && !strcmp(ca, cb), "logs differ:\n%s\n%s", la ? la : "", lb ? lb : "");
    free(la);
    free(lb);
    free(ca);
    free(cb);
    char *model = slurp(path_in("loc_de.st"), NULL);
    CHECK(model && strstr(model + 8, "dropout:0.25"), "rate not written as 0.25");
    free(model);

    /* eval --json and the plain text: identical. */
    char *out[2][2];
    for (int k = 0; k < 2; k++) {
        char env[64];
        snprintf(env, sizeof env, "LC_ALL=%s", k ? loc : "C");
        result r = run_with(env, "eval", "loc_C.st", "loc.csv", "--json", NULL);
        CHECK(r.rc == 0, "%s: eval rc %d %s", env, r.rc, r.err);
        out[k][0] = r.out;
        free(r.err);
        r = run_with(env, "eval", "loc_C.st", "loc.csv", NULL);
        out[k][1] = r.out;
        free(r.err);
        r = run_with(env, "info", "loc_C.st", NULL);
        CHECK(r.rc == 0 && strstr(r.out, "rate 0.25") && strstr(r.out, "KiB"), "%s: info %s", env, r.out);
        result_free(&r);
    }
    CHECK(!strcmp(out[0][0], out[1][0]), "JSON differs:\n%s%s", out[0][0], out[1][0]);
    CHECK(!strcmp(out[0][1], out[1][1]), "eval text differs:\n%s%s", out[0][1], out[1][1]);
    for (int k = 0; k < 2; k++) {
        free(out[k][0]);
        free(out[k][1]);
    }
}

/* Saving into a missing folder, and over a file-size limit (ulimit -f): an
 * error line, and no file created or changed. */
static void test_save_faults(void)
{
    write_blobs("sf.csv", 60, 1);
    expect_fail(1, "sf_nodir", "sf_nodir", "train", "sf.csv", "--layers", "8:relu,3:softmax", "--save",
                "sf_nodir/m.st", NULL);
    expect_fail(1, "sf_nodir", "sf_nodir", "train", "sf.csv", "--layers", "8:relu,3:softmax", "--log",
                "sf_nodir/log.csv", NULL);

    /* A 1539-parameter model (about 6.5 KB), and a previous one to keep. */
    const char *L = "256:relu,3:softmax";
    result r = run("train", "sf.csv", "--layers", L, "--epochs", "1", "--seed", "2", "--save", "sf.st", "--quiet", NULL);
    CHECK(r.rc == 0, "rc %d %s", r.rc, r.err);
    result_free(&r);
    size_t n0 = 0;
    char *before = slurp(path_in("sf.st"), &n0);
    CHECK(before && n0 > 6000, "model of %zu bytes", n0);
    /* ulimit -f counts 512-byte blocks in dash and POSIX shells (1024 in
     * bash's own mode): 4 blocks is 2 or 4 KiB, less than the model. */
    const char *argv[] = {"sh", "-c", "ulimit -f 4 && exec \"$0\" \"$@\"", tool, "train", "sf.csv", "--layers", L,
                          "--epochs", "1", "--seed", "3", "--save", "sf.st", "--log", "sf_log.csv", "--quiet", NULL};
    r = run_env(NULL, argv);
    CHECK(r.rc == 1, "over the file-size limit: rc %d (%s)", r.rc, r.err);
    CHECK(count_lines(r.err) == 1 && strstr(r.err, "mynn: --save") && strstr(r.err, "File too large"),
          "stderr: %s", r.err);
    result_free(&r);
    size_t n1 = 0;
    char *after = slurp(path_in("sf.st"), &n1);
    CHECK(before && after && n0 == n1 && !memcmp(before, after, n0), "the previous model changed");
    CHECK(!exists("sf_log.csv"), "log written after a failed save");
    CHECK(tmp_files_left() == 0, "temporary files left");
    free(before);
    free(after);
}

/* A CSV of 16-pixel "images" (4×4): the class is which quadrant is bright. */
static void write_quadrants(const char *name, int n)
{
    FILE *f = fopen(path_in(name), "w");
    if (!f) return;
    unsigned s = 12345;
    for (int i = 0; i < n; i++) {
        int q = i % 4;
        for (int p = 0; p < 16; p++) {
            int row = p / 4, col = p % 4, in_q = (row / 2) * 2 + col / 2 == q;
            s = s * 1103515245u + 12345u;
            fprintf(f, "%d,", (in_q ? 180 : 40) + (int)(s >> 16) % 50);
        }
        fprintf(f, "%d\n", q);
    }
    fclose(f);
}

/* CNNs from the tool: --shape on CSV, the model keeps the shape for eval
 * and predict, mynn info prints each layer's output shape; bad layer
 * descriptions and shapes are one line and exit 2. */
static void test_cnn_csv(void)
{
    write_quadrants("quad.csv", 200);
    result r = run("train", "quad.csv", "--shape", "1x4x4", "--layers",
                   "conv:4:3:relu:pad=same,batchnorm,maxpool:2,flatten,4:softmax", "--epochs", "30",
                   "--lr", "0.01", "--save", "cnn.safetensors", "--quiet", NULL);
    CHECK(r.rc == 0, "rc %d: %s", r.rc, r.err);
    result_free(&r);
    r = run("eval", "cnn.safetensors", "quad.csv", NULL);
    CHECK(r.rc == 0, "eval rc %d: %s", r.rc, r.err);
    CHECK(number_after(r.out, "accuracy: ") >= 95.0, "eval: %s", r.out);
    result_free(&r);
    r = run("info", "cnn.safetensors", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "(None, 4, 4, 4)") && strstr(r.out, "(None, 4, 2, 2)") &&
          strstr(r.out, "(None, 16)") && strstr(r.out, "batchnorm"), "info: %s", r.out);
    result_free(&r);
    r = run("predict", "cnn.safetensors", "quad.csv", "--shape", "1x4x4", "--out", "quad_pred.csv", NULL);
    CHECK(r.rc == 0, "predict rc %d: %s", r.rc, r.err);
    result_free(&r);

    const char *L = "conv:4:3,flatten,4:softmax";
    expect_fail(2, "--shape", NULL, "train", "quad.csv", "--shape", "4by4", "--layers", L, NULL);
    expect_fail(2, "shape 1x3x3 has 9 values, but the data has 16 inputs", "o.st", "train", "quad.csv",
                "--shape", "1x3x3", "--layers", L, "--save", "o.st", NULL);
    expect_fail(2, "layer 1 (conv): input 1×4×4 needs kernel ≤ 4, got 5", "o.st", "train", "quad.csv",
                "--shape", "1x4x4", "--layers", "conv:4:5,4:softmax", "--save", "o.st", NULL);
    expect_fail(2, "stride", "o.st", "train", "quad.csv", "--shape", "1x4x4", "--layers",
                "conv:4:3:stride=0,4:softmax", "--save", "o.st", NULL);
    expect_fail(2, "window", "o.st", "train", "quad.csv", "--shape", "1x4x4", "--layers",
                "conv:4:3,maxpool:3,4:softmax", "--save", "o.st", NULL);
    expect_fail(2, "batch norm cannot be the first layer", "o.st", "train", "quad.csv", "--layers",
                "batchnorm,4:softmax", "--save", "o.st", NULL);
    expect_fail(2, "\"pool\"", "o.st", "train", "quad.csv", "--layers", "pool:2,4:softmax", "--save", "o.st", NULL);
    expect_fail(2, "unknown key \"dilation\"", "o.st", "train", "quad.csv", "--layers",
                "conv:4:3:dilation=2,4:softmax", "--save", "o.st", NULL);
    expect_fail(2, "does not match the model's input shape 1x4x4", "p.csv", "predict", "cnn.safetensors",
                "quad.csv", "--shape", "4x2x2", "--out", "p.csv", NULL);
}

/* Fashion-MNIST with a small CNN: one epoch reaches >= 85%, and the saved
 * model evaluates to the same accuracy. */
static void test_fashion_mnist_cnn(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char images[700];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", dir);
    if (access(images, R_OK) != 0) SKIP("%s absent", images);
    if (ck_sanitized()) SKIP("too slow under sanitizers");
    if (ck_emulated()) SKIP("too slow under emulation");
    mynn_dataset *probe = NULL;
    int readable = mynn_dataset_load(&probe, images, NULL, 0) == MYNN_OK;
    mynn_dataset_free(probe);
    if (!readable) SKIP("%s: %s", images, mynn_last_error());
    result r = run("train", dir, "--layers", "conv:16:3:relu:pad=1,maxpool:2,flatten,64:relu,10:softmax",
                   "--epochs", "1", "--batch", "64", "--save", "cnn_fm.safetensors", NULL);
    CHECK(r.rc == 0, "rc %d: %s", r.rc, r.err);
    double acc = number_after(r.out, "test accuracy: ");
    CHECK(acc >= 85.0, "test accuracy %.2f%%: %s", acc, r.out);
    result_free(&r);
    r = run("eval", "cnn_fm.safetensors", images, "--json", NULL);
    CHECK(r.rc == 0, "eval rc %d: %s", r.rc, r.err);
    double eval_acc = number_after(r.out, "\"accuracy\":") * 100.0;
    CHECK(fabs(eval_acc - acc) < 0.006, "eval %.2f%% vs train %.2f%%", eval_acc, acc);
    result_free(&r);
}

/* Fashion-MNIST: two epochs reach >= 84%, and the saved model's predictions
 * agree with eval exactly (same count correct). */
static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    if (access(dir, R_OK) != 0) SKIP("%s absent", dir);
    if (ck_sanitized()) SKIP("too slow under sanitizers");
    if (ck_emulated()) SKIP("too slow under emulation");
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

/* --text: a small language model trained, saved and generating; the
 * errors of text data and of generate. */
static void test_text(void)
{
    char text[4096] = "";
    for (int i = 0; i < 60; i++) strcat(text, i % 2 ? "the cat sat. " : "a dog ran. ");
    write_file("story.txt", text);
    write_file("empty.txt", "");
    write_file("short.txt", "abc");
    write_file("bad.txt", "ok\xff\n");
    const char *L = "embedding:vocab:8,gru:16:seq,vocab:softmax";
    result r = run("train", "story.txt", "--text", "--seq", "16", "--layers", L, "--optimizer", "adam", "--lr",
                   "0.02", "--epochs", "8", "--batch", "8", "--val", "0.2", "--save", "lm.st", "--quiet", NULL);
    CHECK(r.rc == 0 && exists("lm.st"), "train --text: rc %d (%s)", r.rc, r.err);
    result_free(&r);
    r = run("generate", "lm.st", "--prompt", "the ", "--length", "40", "--seed", "3", NULL);
    result r2 = run("generate", "lm.st", "--prompt", "the ", "--length", "40", "--seed", "3", NULL);
    CHECK(r.rc == 0 && r.out && strlen(r.out) == 45 && !strncmp(r.out, "the ", 4), "generate: rc %d \"%s\" (%s)",
          r.rc, r.out ? r.out : "", r.err);
    CHECK(r.out && r2.out && !strcmp(r.out, r2.out), "the same seed, the same text");
    result_free(&r);
    result_free(&r2);
    r = run("generate", "lm.st", "--prompt", "the ", "--length", "12", "--temperature", "0", NULL);
    CHECK(r.rc == 0 && r.out && strstr(r.out, "the cat sat."), "greedy: \"%s\"", r.out ? r.out : "");
    result_free(&r);
    r = run("info", "lm.st", NULL);
    CHECK(r.rc == 0 && strstr(r.out, "(None, 16, 13)"), "info: %s", r.out);
    result_free(&r);
    expect_fail(2, "--prompt: character \"x\" (U+0078) at byte 2", NULL, "generate", "lm.st", "--prompt", "aax",
                NULL);
    expect_fail(1, "empty.txt: the text is empty", "o.st", "train", "empty.txt", "--text", "--layers", L,
                "--save", "o.st", NULL);
    expect_fail(1, "--seq 64 is longer than the text", "o.st", "train", "short.txt", "--text", "--layers", L,
                "--save", "o.st", NULL);
    expect_fail(1, "bad.txt: byte 2 (0xff) is not valid UTF-8", "o.st", "train", "bad.txt", "--text", "--layers",
                L, "--save", "o.st", NULL);
    expect_fail(2, "--seq: only with --text", "o.st", "train", "story.txt", "--seq", "4", "--layers", L,
                "--save", "o.st", NULL);
    r = run("train", "bad.txt", "--text", "bytes", "--seq", "2", "--layers", L, "--epochs", "1", "--quiet",
            "--save", "b.st", NULL);
    CHECK(r.rc == 0, "--text bytes reads any bytes: rc %d (%s)", r.rc, r.err);
    result_free(&r);
    write_blobs("blobs.csv", 30, 1);
    r = run("train", "blobs.csv", "--layers", "4:relu,3:softmax", "--epochs", "1", "--quiet", "--save", "m.st", NULL);
    result_free(&r);
    expect_fail(1, "has no text vocabulary", NULL, "generate", "m.st", NULL);
    /* token ids in a CSV: an embedding's input is not normalised by default */
    char ids[2048] = "";
    for (int i = 0; i < 60; i++) {
        char row[32];
        snprintf(row, sizeof row, "%d,%d,%d,%d\n", i % 5, (i / 5) % 5, (i * 3) % 5, (i % 5) > 2);
        strcat(ids, row);
    }
    write_file("ids.csv", ids);
    r = run("train", "ids.csv", "--layers", "embedding:5:3,gru:4,2:softmax", "--epochs", "2", "--quiet", "--save",
            "ids.st", NULL);
    CHECK(r.rc == 0, "embedding on CSV ids: rc %d (%s)", r.rc, r.err);
    result_free(&r);
    expect_fail(1, "reads token ids from the input", "o.st", "train", "ids.csv", "--layers",
                "embedding:5:3,gru:4,2:softmax", "--normalize", "standard", "--save", "o.st", NULL);
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
    RUN(test_named_classes);
    RUN(test_categorical_missing);
    RUN(test_recipe_fann);
    RUN(test_export);
    RUN(test_xor);
    RUN(test_val_file);
    RUN(test_fann_and_regression);
    RUN(test_errors);
    RUN(test_auto_optimizer);
    RUN(test_resume_after_kill);
    RUN(test_divergence);
    RUN(test_nonfinite);
    RUN(test_text);
    RUN(test_locale);
    RUN(test_save_faults);
    RUN(test_fashion_mnist);
    RUN(test_cnn_csv);
    RUN(test_fashion_mnist_cnn);
    if (!ck_failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "test_cli: could not remove %s\n", tmpdir);
    } else {
        printf("  files kept in %s\n", tmpdir);
    }
    return CK_END();
}
