/* mynn predict MODEL DATA [--out FILE]: one CSV row of model outputs per
 * input sample ("class,p0,...,pK-1" for classifiers, "y0,..." otherwise). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: mynn predict MODEL DATA [--out FILE] [data options]\n"
    "\n"
    "Run a saved model on DATA and write a CSV with a header row and one row\n"
    "per sample: \"class,p0,...,p<K-1>\" (the arg-max class and every output;\n"
    "a model trained on class names writes the name and \"class,p_<name>,...\")\n"
    "for a model with a softmax or sigmoid output layer (one sigmoid output:\n"
    "class 1 when p0 > 0.5), \"y0,...,y<K-1>\" otherwise.  DATA may hold its\n"
    "label column (--label, default the last; ignored) or not: its column\n"
    "count decides.  A folder of IDX files: its t10k images.\n"
    "  --out FILE       write to FILE (atomically) instead of standard output\n"
    "%s"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

enum { CHUNK = 4096 };

/* "class,p0,..." or, with class names, "class,p_setosa,..." (one sigmoid
 * output: its probability of the second class); "y0,..." for regression. */
static void write_header(cli_out *o, int classify, int k, const mynn_encoding *enc)
{
    int named = mynn_encoding_n_classes(enc) > 0;
    if (classify) cli_out_puts(o, "class");
    for (int j = 0; j < k; j++) {
        if (classify || j) cli_out_puts(o, ",");
        const char *name = named ? mynn_encoding_class_name(enc, k == 1 ? 1 : j) : NULL;
        char *cell = name ? malloc(strlen(name) + 3) : NULL;
        if (cell) {
            strcpy(cell, "p_");
            strcat(cell, name);
            cli_out_csv_cell(o, cell);
            free(cell);
        } else {
            cli_out_printf(o, "%c%d", classify ? 'p' : 'y', j);
        }
    }
    cli_out_puts(o, "\n");
}

int cmd_predict(int argc, char **argv)
{
    cli_opt opts[] = {{"--out", 1, NULL}, CLI_DATA_OPTS, {NULL, 0, NULL}};
    const char *pos[2];
    int npos, rc = cli_parse("predict", argc, argv, opts, pos, 2, &npos);
    if (rc == CLI_HELP) {
        printf(help, cli_data_help);
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 2) {
        cli_error("predict: missing %s (usage: mynn predict MODEL DATA [--out FILE])",
                  npos ? "DATA" : "MODEL and DATA");
        return CLI_USAGE;
    }
    mynn_load_options lo;
    if (cli_load_options(opts, &lo)) return CLI_USAGE;
    const char *out_path = cli_value(opts, "--out");

    cli_model model = {0};
    mynn_encoding *enc = NULL;
    mynn_dataset *ds = NULL;
    float *y = NULL;
    cli_out *o = NULL;
    rc = CLI_FAIL;
    if (out_path && cli_check_writable("--out", out_path)) goto out;
    if (cli_load_any_model(&model, pos[0], 256)) goto out;
    const mynn_net *net = model.shape;
    if ((rc = cli_load_for_model(&ds, pos[1], &lo, net, 0)) != CLI_OK) goto out;
    rc = CLI_FAIL;
    int d = mynn_n_inputs(net), k = mynn_n_outputs(net);
    mynn_activation act = cli_output_activation(net);
    int classify = act == MYNN_ACT_SOFTMAX || act == MYNN_ACT_SIGMOID;
    y = malloc((size_t)CHUNK * k * sizeof *y);
    if (!y) {
        cli_error("out of memory");
        goto out;
    }
    if (cli_model_encoding(net, pos[0], &enc)) goto out;
    if (cli_out_open(&o, "--out", out_path)) goto out;
    write_header(o, classify, k, enc);
    for (int first = 0; first < ds->n; first += CHUNK) {
        int n = ds->n - first < CHUNK ? ds->n - first : CHUNK;
        if (cli_model_predict(&model, ds->x + (size_t)first * d, n, y)) {
            cli_lib_error("%s", pos[1]);
            cli_out_abort(o);
            o = NULL;
            goto out;
        }
        for (int r = 0; r < n; r++) {
            const float *a = y + (size_t)r * k;
            if (classify) {
                int best = 0;
                if (k == 1) best = a[0] > 0.5f;
                else
                    for (int j = 1; j < k; j++)
                        if (a[j] > a[best]) best = j;
                if (mynn_encoding_n_classes(enc)) cli_out_csv_cell(o, mynn_encoding_class_name(enc, best));
                else cli_out_printf(o, "%d", best);
            }
            for (int j = 0; j < k; j++) {
                if (classify || j) cli_out_puts(o, ",");
                cli_out_float(o, a[j]);
            }
            cli_out_puts(o, "\n");
        }
    }
    rc = cli_out_commit(o);
    o = NULL;
out:
    cli_out_abort(o);
    free(y);
    mynn_dataset_free(ds);
    mynn_encoding_free(enc);
    cli_model_free(&model);
    return rc;
}
