/* mynn eval MODEL DATA [--json]: accuracy, loss, MSE, MAE, confusion matrix
 * and per-class precision/recall of a saved model on labelled data. */
#include "cli.h"
#include "core/numparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mynn eval MODEL DATA [--json] [data options]\n"
    "\n"
    "Evaluate a saved model on labelled DATA (a folder of IDX files: its t10k\n"
    "pair).  Prints the number of samples, accuracy (with the count correct),\n"
    "the model's loss, the mean squared error against one-hot targets (FANN's\n"
    "MSE), the mean absolute error and, for classification, the confusion\n"
    "matrix (rows: true class, columns: predicted) with per-class precision\n"
    "and recall.\n"
    "  --json           one JSON object on one line instead\n"
    "%s"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void json_number(float v)
{
    char buf[MN_NUM_BUFSZ];
    if (!isfinite(v)) {
        fputs("null", stdout);
        return;
    }
    mn_format_float(buf, sizeof buf, v);
    fputs(buf, stdout);
}

/* The confusion matrix and per-class figures, rows and columns labelled
 * by class index or, with names, by name (names over 24 bytes cut). */
static void print_confusion(const int *conf, int kc, int w, const float *prec, const float *rec,
                            const mynn_encoding *enc)
{
    int lw = 6;
    char label[32];
    for (int c = 0; enc && c < kc; c++) {
        int n = (int)strlen(mynn_encoding_class_name(enc, c));
        if (n > lw) lw = n > 24 ? 24 : n;
        if (n + 1 > w) w = (n > 24 ? 24 : n) + 1;
    }
    printf("confusion matrix (rows: true class, columns: predicted):\n%*s", lw, "");
    for (int c = 0; c < kc; c++) {
        if (enc) snprintf(label, sizeof label, "%.24s", mynn_encoding_class_name(enc, c));
        else snprintf(label, sizeof label, "%d", c);
        printf("%*s", w, label);
    }
    putchar('\n');
    for (int r = 0; r < kc; r++) {
        if (enc) snprintf(label, sizeof label, "%.24s", mynn_encoding_class_name(enc, r));
        else snprintf(label, sizeof label, "%d", r);
        printf("%*s", lw, label);
        for (int c = 0; c < kc; c++) printf("%*d", w, conf[(size_t)r * kc + c]);
        putchar('\n');
    }
    printf("%*s  %9s  %7s\n", lw, "class", "precision", "recall");
    for (int c = 0; c < kc; c++) {
        if (enc) snprintf(label, sizeof label, "%.24s", mynn_encoding_class_name(enc, c));
        else snprintf(label, sizeof label, "%d", c);
        cli_printf("%*s  %9.4f  %7.4f\n", lw, label, (double)prec[c], (double)rec[c]);
    }
}

int cmd_eval(int argc, char **argv)
{
    cli_opt opts[] = {{"--json", 0, NULL}, CLI_DATA_OPTS, {NULL, 0, NULL}};
    const char *pos[2];
    int npos, rc = cli_parse("eval", argc, argv, opts, pos, 2, &npos);
    if (rc == CLI_HELP) {
        printf(help, cli_data_help);
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 2) {
        cli_error("eval: missing %s (usage: mynn eval MODEL DATA)", npos ? "DATA" : "MODEL and DATA");
        return CLI_USAGE;
    }
    mynn_load_options lo;
    if (cli_load_options(opts, &lo)) return CLI_USAGE;
    int json = cli_value(opts, "--json") != NULL;

    cli_model model = {0};
    mynn_encoding *enc = NULL;
    mynn_dataset *ds = NULL;
    int *conf = NULL;
    float *prec = NULL, *rec = NULL;
    rc = CLI_FAIL;
    if (cli_load_any_model(&model, pos[0], 256)) goto out;
    const mynn_net *net = model.shape;
    if ((rc = cli_load_for_model(&ds, pos[1], &lo, net, 1)) != CLI_OK) goto out;
    rc = CLI_FAIL;
    if (cli_model_encoding(net, pos[0], &enc)) goto out;
    int k = mynn_n_outputs(net);
    int kc = ds->labels ? (ds->n_classes > 0 ? ds->n_classes : (k == 1 ? 2 : k)) : 0;
    if (kc) {
        conf = calloc((size_t)kc * kc, sizeof *conf);
        prec = calloc((size_t)kc, sizeof *prec);
        rec = calloc((size_t)kc, sizeof *rec);
        if (!conf || !prec || !rec) {
            cli_error("out of memory");
            goto out;
        }
    }
    mynn_metrics m;
    if (cli_model_evaluate(&model, ds, &m, conf)) {
        cli_lib_error("%s", pos[1]);
        goto out;
    }
    long correct = 0;
    if (kc) {
        mynn_precision_recall(conf, kc, prec, rec);
        for (int c = 0; c < kc; c++) correct += conf[(size_t)c * kc + c];
    }
    const char *lname = mynn_loss_name(mynn_get_loss(net));
    if (json) {
        fputs("{\"model\":", stdout);
        json_string(pos[0]);
        fputs(",\"data\":", stdout);
        json_string(pos[1]);
        printf(",\"samples\":%d,\"loss_name\":\"%s\",\"loss\":", m.n, lname);
        json_number(m.loss);
        fputs(",\"mse\":", stdout);
        json_number(m.mse);
        fputs(",\"mae\":", stdout);
        json_number(m.mae);
        if (kc) {
            fputs(",\"accuracy\":", stdout);
            json_number(m.accuracy);
            printf(",\"correct\":%ld,\"classes\":%d,", correct, kc);
            if (mynn_encoding_n_classes(enc) == kc) {
                fputs("\"class_names\":[", stdout);
                for (int c = 0; c < kc; c++) {
                    if (c) putchar(',');
                    json_string(mynn_encoding_class_name(enc, c));
                }
                fputs("],", stdout);
            }
            fputs("\"confusion\":[", stdout);
            for (int r = 0; r < kc; r++) {
                fputs(r ? ",[" : "[", stdout);
                for (int c = 0; c < kc; c++) printf(c ? ",%d" : "%d", conf[(size_t)r * kc + c]);
                putchar(']');
            }
            fputs("],\"precision\":[", stdout);
            for (int c = 0; c < kc; c++) {
                if (c) putchar(',');
                json_number(prec[c]);
            }
            fputs("],\"recall\":[", stdout);
            for (int c = 0; c < kc; c++) {
                if (c) putchar(',');
                json_number(rec[c]);
            }
            putchar(']');
        }
        fputs("}\n", stdout);
    } else {
        printf("samples: %d\n", m.n);
        if (kc) cli_printf("accuracy: %.2f%% (%ld/%d correct)\n", 100.0 * m.accuracy, correct, m.n);
        cli_printf("loss (%s): %.6f\n", lname, (double)m.loss);
        cli_printf("mse: %.6f\n", (double)m.mse);
        cli_printf("mae: %.6f\n", (double)m.mae);
        if (kc) {
            int w = 5;
            for (int i = 0; i < kc * kc; i++) {
                int digits = snprintf(NULL, 0, "%d", conf[i]) + 1;
                if (digits > w) w = digits;
            }
            print_confusion(conf, kc, w, prec, rec, mynn_encoding_n_classes(enc) == kc ? enc : NULL);
        }
    }
    rc = CLI_OK;
out:
    free(conf);
    free(prec);
    free(rec);
    mynn_dataset_free(ds);
    mynn_encoding_free(enc);
    cli_model_free(&model);
    return rc;
}
