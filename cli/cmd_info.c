/* mynn info MODEL: a summary of a saved model, in the manner of Keras'
 * summary(): layers, output shapes, settings, parameter counts, and the
 * "Connected to" column of a graph. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: mynn info MODEL\n"
    "\n"
    "Print a saved model's layers (index, kind and name, output shape,\n"
    "settings, parameters, and the layers it reads: \"input\" for the network\n"
    "input), the total parameter count, the loss, the input size, the input\n"
    "normalisation, how --optimizer auto chose its training (the candidates and\n"
    "their held-out losses) and the file's metadata; for an int8 model (mynn\n"
    "quantize) also how it was quantised and calibrated.\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

/* A node's output is shown flat when it is one value per channel (after
 * dense, flatten, global pooling), and whenever the whole net's input is. */
static int is_flat(const mynn_layer_info *li, int dims)
{
    return dims == 0 || (li->out_shape[1] == 1 && li->out_shape[2] == 1);
}

/* "input", "3", "3, 0" or the names of node i's inputs. */
static void connected_to(const mynn_net *net, int i, char *buf, size_t n)
{
    int ids[8], k = mynn_layer_inputs(net, i, ids, 8);
    size_t at = 0;
    buf[0] = '\0';
    for (int j = 0; j < k && j < 8 && at < n; j++) {
        const char *name = "";
        if (ids[j] != MYNN_INPUT) mynn_layer_describe(net, ids[j], NULL, 0, NULL, 0, &name);
        int w;
        if (ids[j] == MYNN_INPUT) w = snprintf(buf + at, n - at, "%sinput", j ? ", " : "");
        else if (*name) w = snprintf(buf + at, n - at, "%s%s", j ? ", " : "", name);
        else w = snprintf(buf + at, n - at, "%s%d", j ? ", " : "", ids[j]);
        if (w < 0) break;
        at += (size_t)w;
    }
}

static void rule(char c)
{
    for (int i = 0; i < 86; i++) putchar(c);
    putchar('\n');
}

/* Class names, categorical columns and imputation values, if any. */
static void print_encoding(const mynn_encoding *enc)
{
    if (!enc) return;
    int nc = mynn_encoding_n_classes(enc);
    if (nc) {
        printf("Classes: %d (", nc);
        for (int k = 0; k < nc; k++) printf(k ? ", %s" : "%s", mynn_encoding_class_name(enc, k));
        printf(")\n");
    }
    printf("Input columns: %d (encoded as %d inputs)\n", mynn_encoding_n_columns(enc),
           mynn_encoding_n_inputs(enc));
    for (int j = 0; j < mynn_encoding_n_columns(enc); j++) {
        int n = mynn_encoding_n_categories(enc, j);
        float fill;
        if (n) {
            printf("  column %d: categorical, %d categories (", j, n);
            for (int k = 0; k < n && k < 8; k++) printf(k ? ", %s" : "%s", mynn_encoding_category(enc, j, k));
            printf(n > 8 ? ", ...)\n" : ")\n");
        } else if (mynn_encoding_fill(enc, j, &fill)) {
            char num[32];
            cli_format_float(num, sizeof num, fill);
            printf("  column %d: numeric, missing values filled with %s\n", j, num);
        }
    }
}

/* How --optimizer auto chose (metadata "auto" and "auto_search"), if it did. */
static void print_auto(const mynn_net *net)
{
    const char *a = mynn_metadata(net, "auto"), *t = mynn_metadata(net, "auto_search");
    if (!a || !*a) return;
    printf("Trained by auto: %s\n", a);
    while (t && *t) {
        const char *end = strchr(t, '\n');
        int len = end ? (int)(end - t) : (int)strlen(t);
        printf("  %.*s\n", len, t);
        t = end ? end + 1 : NULL;
    }
}

int cmd_info(int argc, char **argv)
{
    cli_opt opts[] = {{NULL, 0, NULL}};
    const char *pos[1];
    int npos, rc = cli_parse("info", argc, argv, opts, pos, 1, &npos);
    if (rc == CLI_HELP) {
        fputs(help, stdout);
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 1) {
        cli_error("info: missing MODEL (usage: mynn info MODEL)");
        return CLI_USAGE;
    }
    cli_model model;
    if (cli_load_any_model(&model, pos[0], 1)) return CLI_FAIL;
    const mynn_net *net = model.shape;

    printf("Model: %s\n", pos[0]);
    rule('_');
    printf(" %-4s %-14s %-20s %-18s %8s  %s\n", "#", "Layer", "Output shape", "Settings", "Params",
           "Connected to");
    rule('=');
    size_t total = 0;
    int in_shape[3], dims = mynn_input_shape(net, in_shape);
    for (int i = 0; i < mynn_n_layers(net); i++) {
        mynn_layer_info li;
        const char *name = "";
        char shape[48], set[64], kind[48], from[96];
        if (mynn_layer_get_info(net, i, &li) || mynn_layer_describe(net, i, NULL, 0, set, sizeof set, &name)) continue;
        snprintf(kind, sizeof kind, *name ? "%s %s" : "%s", li.kind_name, name);
        if (li.out_steps) /* a sequence: (None, T, F), PyTorch's batch_first */
            snprintf(shape, sizeof shape, "(None, %d, %d)", li.out_steps,
                     li.out_shape[0] * li.out_shape[1] * li.out_shape[2]);
        else
            cli_shape_text(shape, sizeof shape, li.out_shape, is_flat(&li, dims), dims);
        connected_to(net, i, from, sizeof from);
        printf(" %-4d %-14s %-20s %-18s %8zu  %s\n", i, kind, shape, set, li.n_params, from);
        total += li.n_params;
    }
    rule('=');
    if (model.q)
        cli_printf("Total params: %zu (int8 weights, float32 biases and scales)\n", total);
    else
        cli_printf("Total params: %zu (%.1f KiB as float32)\n", total, total * 4.0 / 1024.0);
    char ins[48];
    cli_shape_text(ins, sizeof ins, in_shape, dims == 0, dims);
    printf("Inputs: %d %s\n", mynn_n_inputs(net), ins);
    printf("Outputs: %d\n", mynn_n_outputs(net));
    printf("Loss: %s\n", mynn_loss_name(mynn_get_loss(net)));
    const char *norm = mynn_metadata(net, "normalize");
    printf("Normalisation: %s\n", norm && *norm ? norm : "none");
    if (model.q) {
        printf("Quantization: %s\n", mynn_metadata(net, "quantization"));
        printf("Calibration: %s\n", mynn_metadata(net, "calibration"));
    }
    mynn_encoding *enc = NULL;
    if (cli_model_encoding(net, pos[0], &enc)) {
        cli_model_free(&model);
        return CLI_FAIL;
    }
    print_encoding(enc);
    mynn_encoding_free(enc);
    print_auto(net);
    static const char *const keys[] = {"format", "format_version", "layers", "description",
                                       "created_by", "dataset", NULL};
    int any = 0;
    for (int i = 0; keys[i]; i++) {
        const char *v = mynn_metadata(net, keys[i]);
        if (!v || !*v) continue;
        printf(any ? "  %s: %s\n" : "Metadata:\n  %s: %s\n", keys[i], v);
        any = 1;
    }
    cli_model_free(&model);
    return CLI_OK;
}
