/* mynn quantize MODEL --calib DATA --out FILE: post-training int8
 * quantisation (mynn_quantize), saved as an int8 model file that eval,
 * predict, info and export read. */
#include "cli.h"

#include <string.h>
#include <sys/stat.h>

static const char help[] =
    "usage: mynn quantize MODEL --calib DATA --out FILE [options] [data options]\n"
    "\n"
    "Quantise a saved float model to int8: each dense and conv layer's weights\n"
    "get one scale per output (symmetric, |q| <= 127), its input one scale\n"
    "chosen from the calibration data; sums are exact in int32; a batch norm\n"
    "after a conv or dense layer is folded into it.  The result is a\n"
    "safetensors file about 4x smaller that eval, predict, info and export\n"
    "accept.\n"
    "  --calib DATA     calibration samples (labels, if any, are ignored; a\n"
    "                   folder of IDX files: its train images)\n"
    "  --out FILE       the int8 model to write (atomically)\n"
    "  --samples N      use the first N samples of DATA (default 10000)\n"
    "  --stat S         max (default): a layer input's scale is max|x|/127;\n"
    "                   percentile: the --percentile of |x| instead (clips the rest)\n"
    "  --percentile P   for --stat percentile, in (50, 100] (default 99.99)\n"
    "%s"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

/* The calibration inputs: a folder's training images, a file's rows (label
 * columns dropped as predict does). */
static int load_calib(mynn_dataset **ds, const char *path, const mynn_load_options *lo,
                      const mynn_net *net)
{
    if (!cli_is_dir(path)) return cli_load_for_model(ds, path, lo, net, 0);
    if (cli_load_data(ds, path, lo, 0)) return CLI_FAIL;
    if ((*ds)->n_inputs != mynn_n_inputs(net)) {
        cli_error("%s: %d inputs, but the model takes %d", path, (*ds)->n_inputs, mynn_n_inputs(net));
        mynn_dataset_free(*ds);
        *ds = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int cmd_quantize(int argc, char **argv)
{
    cli_opt opts[] = {{"--calib", 1, NULL}, {"--out", 1, NULL}, {"--samples", 1, NULL},
                      {"--stat", 1, NULL}, {"--percentile", 1, NULL}, CLI_DATA_OPTS,
                      {NULL, 0, NULL}};
    const char *pos[1];
    int npos, rc = cli_parse("quantize", argc, argv, opts, pos, 1, &npos);
    if (rc == CLI_HELP) {
        printf(help, cli_data_help);
        return CLI_OK;
    }
    if (rc) return rc;
    const char *calib = cli_value(opts, "--calib"), *out = cli_value(opts, "--out"), *v;
    if (npos < 1 || !calib || !out) {
        cli_error("quantize: missing %s (usage: mynn quantize MODEL --calib DATA --out FILE)",
                  npos < 1 ? "MODEL" : !calib ? "--calib DATA" : "--out FILE");
        return CLI_USAGE;
    }
    mynn_quant_options qo;
    mynn_quant_options_default(&qo);
    int samples = 10000;
    if ((v = cli_value(opts, "--samples")) && cli_int("--samples", v, 1, 1 << 24, &samples))
        return CLI_USAGE;
    if ((v = cli_value(opts, "--stat"))) {
        if (!strcmp(v, "max")) qo.stat = MYNN_CALIB_MAX;
        else if (!strcmp(v, "percentile")) qo.stat = MYNN_CALIB_PERCENTILE;
        else {
            cli_error("--stat: \"%s\" must be max or percentile", v);
            return CLI_USAGE;
        }
    }
    if ((v = cli_value(opts, "--percentile"))) {
        if (qo.stat != MYNN_CALIB_PERCENTILE) {
            cli_error("--percentile needs --stat percentile");
            return CLI_USAGE;
        }
        if (cli_float("--percentile", v, 50.0, 1, &qo.percentile)) return CLI_USAGE;
        if (qo.percentile > 100.0f) {
            cli_error("--percentile: \"%s\" must be a number in (50, 100]", v);
            return CLI_USAGE;
        }
    }
    mynn_load_options lo;
    if (cli_load_options(opts, &lo)) return CLI_USAGE;

    mynn_net *net = NULL;
    mynn_dataset *ds = NULL;
    mynn_qnet *q = NULL;
    rc = CLI_FAIL;
    if (cli_check_writable("--out", out)) goto done;
    if (mynn_file_is_int8(pos[0])) {
        cli_error("%s: already an int8 model", pos[0]);
        goto done;
    }
    if (cli_load_model(&net, pos[0], 256)) goto done;
    if (load_calib(&ds, calib, &lo, net)) goto done;
    int n = ds->n < samples ? ds->n : samples;
    if (mynn_quantize(&q, net, ds->x, n, &qo) != MYNN_OK) {
        cli_lib_error("quantize: %s", pos[0]);
        goto done;
    }
    if (mynn_qnet_save(q, out) != MYNN_OK) {
        cli_lib_error("quantize: %s", out);
        goto done;
    }
    long fs = file_size(pos[0]), qs = file_size(out);
    cli_printf("int8 model: %s (%ld bytes; the float file: %ld bytes), calibrated on %d samples "
               "(%s)\n", out, qs, fs, n,
               qo.stat == MYNN_CALIB_MAX ? "max" : "percentile");
    rc = CLI_OK;
done:
    mynn_qnet_free(q);
    mynn_dataset_free(ds);
    mynn_free(net);
    return rc;
}
