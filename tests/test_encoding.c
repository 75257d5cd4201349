/* Feature encodings of CSV data: named classes, categorical inputs, missing
 * values; learned from a file, stored in a model's metadata, read back and
 * applied unchanged to other files (unseen categories and classes). */
#include "mynn.h"
#include "network/network.h"
#include "check.h"

#include <unistd.h>

static char g_tmp[256];

static const char *tpath(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 512, "%s/%s", g_tmp, name);
    return b;
}

static const char *wtext(const char *name, const char *s)
{
    const char *p = tpath(name);
    FILE *f = fopen(p, "wb");
    if (!f) exit(2);
    fputs(s, f);
    fclose(f);
    return p;
}

static int msg_has(const char *needle) { return strstr(mynn_last_error(), needle) != NULL; }
#define CHECK_MSG(needle) CHECK(msg_has(needle), "message \"%s\" lacks \"%s\"", mynn_last_error(), needle)

static mynn_status load(mynn_dataset **ds, const char *path, const mynn_load_options *o)
{
    *ds = NULL;
    return mynn_dataset_load(ds, path, o, 0);
}

static int row_is(const mynn_dataset *ds, int r, const float *want)
{
    for (int j = 0; j < ds->n_inputs; j++)
        if (ds->x[(size_t)r * ds->n_inputs + j] != want[j]) return 0;
    return 1;
}

static void test_named_classes(void)
{
    mynn_dataset *ds;
    /* No header: a first row holding a class name is data. */
    CHECK_OK(load(&ds, wtext("iris.csv", "5.1,3.5,versicolor\n4.9,3.0,setosa\n6.3,3.3,virginica\n"
                                         "5.0,3.6,setosa\n"), NULL));
    if (ds) {
        CHECK(ds->n == 4 && ds->n_inputs == 2 && ds->n_classes == 3, "n %d in %d k %d", ds->n,
              ds->n_inputs, ds->n_classes);
        CHECK(ds->labels[0] == 1 && ds->labels[1] == 0 && ds->labels[2] == 2 && ds->labels[3] == 0,
              "labels %d %d %d %d", ds->labels[0], ds->labels[1], ds->labels[2], ds->labels[3]);
        CHECK(ds->y[0 * 3 + 1] == 1 && ds->y[2 * 3 + 2] == 1, "one-hot");
        const mynn_encoding *e = ds->encoding;
        CHECK(e && mynn_encoding_n_classes(e) == 3 && !strcmp(mynn_encoding_class_name(e, 0), "setosa") &&
                  !strcmp(mynn_encoding_class_name(e, 2), "virginica") &&
                  mynn_encoding_class_name(e, 3) == NULL && mynn_encoding_n_columns(e) == 2,
              "encoding");
        mynn_dataset_free(ds);
    }
    /* Header; quoted names with separators and quotes; byte order (upper case first). */
    CHECK_OK(load(&ds, wtext("q.csv", "a,name\n1,\"x,y\"\n2,\"say \"\"hi\"\"\"\n3,Zed\n4,x\n"), NULL));
    if (ds) {
        const mynn_encoding *e = ds->encoding;
        CHECK(ds->n == 4 && e && mynn_encoding_n_classes(e) == 4, "quoted: n %d", ds->n);
        if (e && mynn_encoding_n_classes(e) == 4) {
            CHECK(!strcmp(mynn_encoding_class_name(e, 0), "Zed") &&
                      !strcmp(mynn_encoding_class_name(e, 1), "say \"hi\"") &&
                      !strcmp(mynn_encoding_class_name(e, 2), "x") &&
                      !strcmp(mynn_encoding_class_name(e, 3), "x,y"),
                  "names %s|%s|%s|%s", mynn_encoding_class_name(e, 0), mynn_encoding_class_name(e, 1),
                  mynn_encoding_class_name(e, 2), mynn_encoding_class_name(e, 3));
            CHECK(ds->labels[0] == 3 && ds->labels[1] == 1 && ds->labels[2] == 0 && ds->labels[3] == 2,
                  "quoted labels");
        }
        mynn_dataset_free(ds);
    }
    /* Class indices stay as they were: no encoding. */
    CHECK_OK(load(&ds, wtext("num.csv", "1,2,0\n3,4,1\n"), NULL));
    if (ds) {
        CHECK(ds->encoding == NULL && ds->n_classes == 2, "numeric labels");
        mynn_dataset_free(ds);
    }
    /* More names than n_classes. */
    mynn_load_options o;
    mynn_load_options_default(&o);
    o.n_classes = 2;
    CHECK(load(&ds, wtext("three.csv", "1,a\n2,b\n3,c\n"), &o) == MYNN_ERR_FORMAT, "3 names > 2");
    CHECK_MSG("3 class names, more than n_classes 2");
}

static void test_categorical(void)
{
    mynn_dataset *ds;
    mynn_load_options o;
    mynn_load_options_default(&o);
    CHECK_OK(load(&ds, wtext("cat.csv", "size,color,y\n1,red,0\n2,blue,1\n3,red,0\n4,\"green\",1\n"), &o));
    if (ds) {
        CHECK(ds->n == 4 && ds->n_inputs == 4 && ds->n_classes == 2, "n %d inputs %d", ds->n, ds->n_inputs);
        const float r0[] = {1, 0, 0, 1}, r1[] = {2, 1, 0, 0}, r3[] = {4, 0, 1, 0};
        CHECK(row_is(ds, 0, r0) && row_is(ds, 1, r1) && row_is(ds, 3, r3), "one-hot rows");
        const mynn_encoding *e = ds->encoding;
        CHECK(e && mynn_encoding_n_columns(e) == 2 && mynn_encoding_n_inputs(e) == 4 &&
                  mynn_encoding_n_categories(e, 0) == 0 && mynn_encoding_n_categories(e, 1) == 3 &&
                  !strcmp(mynn_encoding_category(e, 1, 0), "blue") && mynn_encoding_n_classes(e) == 0,
              "encoding");
        mynn_dataset_free(ds);
    }
    /* Listed columns: numbers there are categories too. */
    o.categorical = "0";
    CHECK_OK(load(&ds, wtext("listed.csv", "10,5,0\n20,6,1\n10,7,0\n"), &o));
    if (ds) {
        const float r0[] = {1, 0, 5}, r1[] = {0, 1, 6};
        CHECK(ds->n_inputs == 3 && row_is(ds, 0, r0) && row_is(ds, 1, r1), "listed: %d inputs", ds->n_inputs);
        CHECK(ds->encoding && !strcmp(mynn_encoding_category(ds->encoding, 0, 1), "20"), "category 20");
        mynn_dataset_free(ds);
    }
    o.categorical = "none";
    CHECK(load(&ds, tpath("cat.csv"), &o) == MYNN_ERR_FORMAT, "none");
    CHECK_MSG("cat.csv:2: column 2: \"red\" is not a number");
    o.categorical = "2";
    CHECK(load(&ds, tpath("cat.csv"), &o) == MYNN_ERR_ARG, "label listed");
    CHECK_MSG("categorical column 2 is not an input column");
    o.categorical = "x";
    CHECK(load(&ds, tpath("cat.csv"), &o) == MYNN_ERR_ARG, "bad list");
    CHECK_MSG("expected auto, none or 0-based column numbers");
}

static void test_missing(void)
{
    const char *p = wtext("miss.csv", "1,2,0\n,4,1\nNA,6,0\n7,?,1\nnan,20,0\n");
    mynn_dataset *ds;
    mynn_load_options o;
    mynn_load_options_default(&o);
    CHECK(load(&ds, p, &o) == MYNN_ERR_FORMAT, "error by default");
    CHECK_MSG("miss.csv:2: column 1: empty cell");
    CHECK(load(&ds, wtext("na.csv", "1,2,0\nNA,4,1\n"), &o) == MYNN_ERR_FORMAT, "NA");
    CHECK_MSG("na.csv:2: column 1: missing value \"NA\" (set missing to drop, mean or median)");
    o.missing = MYNN_MISSING_DROP;
    CHECK_OK(load(&ds, p, &o));
    if (ds) {
        CHECK(ds->n == 1 && ds->x[0] == 1 && ds->x[1] == 2 && ds->encoding == NULL, "drop: n %d", ds->n);
        mynn_dataset_free(ds);
    }
    /* Mean: column 1 of 1, 7 -> 4; column 2 of 2, 4, 6, 20 -> 8.  Median: 4 and 5. */
    const float fills[2][2] = {{4, 8}, {4, 5}};
    for (int m = 0; m < 2; m++) {
        o.missing = m ? MYNN_MISSING_MEDIAN : MYNN_MISSING_MEAN;
        CHECK_OK(load(&ds, p, &o));
        if (!ds) continue;
        const float r1[] = {fills[m][0], 4}, r3[] = {7, fills[m][1]}, r4[] = {fills[m][0], 20};
        CHECK(ds->n == 5 && row_is(ds, 1, r1) && row_is(ds, 2, (float[]){fills[m][0], 6}) &&
                  row_is(ds, 3, r3) && row_is(ds, 4, r4),
              "%s rows", mynn_missing_name(o.missing));
        float f0 = -1, f1 = -1;
        CHECK(ds->encoding && mynn_encoding_fill(ds->encoding, 0, &f0) &&
                  mynn_encoding_fill(ds->encoding, 1, &f1) && f0 == fills[m][0] && f1 == fills[m][1],
              "%s fills %g %g", mynn_missing_name(o.missing), (double)f0, (double)f1);
        mynn_dataset_free(ds);
    }
    /* A label is never imputed; a column with no value has no mean. */
    o.missing = MYNN_MISSING_MEAN;
    CHECK(load(&ds, wtext("nolab.csv", "1,2,0\n3,4,?\n"), &o) == MYNN_ERR_FORMAT, "label missing");
    CHECK_MSG("nolab.csv:2: column 3: missing value \"?\" (labels and targets are never imputed");
    CHECK(load(&ds, wtext("allmiss.csv", "NA,2,0\n?,4,1\n"), &o) == MYNN_ERR_FORMAT, "all missing");
    CHECK_MSG("allmiss.csv: column 1: every value is missing");
    /* A model trained with drop does not drop at prediction unless asked. */
    o.missing = MYNN_MISSING_DROP;
    CHECK_OK(load(&ds, wtext("dropnames.csv", "1,2,a\n,4,b\n5,6,b\n"), &o));
    if (ds) {
        CHECK(ds->n == 2 && ds->encoding && mynn_encoding_n_classes(ds->encoding) == 2, "drop + names");
        mynn_load_options a;
        mynn_load_options_default(&a);
        a.encoding = ds->encoding;
        mynn_dataset *t = NULL;
        CHECK(load(&t, wtext("dropapply.csv", "1,NA,a\n3,4,b\n"), &a) == MYNN_ERR_FORMAT, "no silent drop");
        CHECK_MSG("dropapply.csv:1: column 2: missing value \"NA\" (set missing to drop, mean or median)");
        a.missing = MYNN_MISSING_DROP;
        CHECK_OK(load(&t, tpath("dropapply.csv"), &a));
        if (t) {
            CHECK(t->n == 1 && t->labels[0] == 1, "asked to drop");
            mynn_dataset_free(t);
        }
        mynn_dataset_free(ds);
    }
    o.missing = MYNN_MISSING_MEAN;
    /* A missing category under mean: all zeros. */
    CHECK_OK(load(&ds, wtext("catmiss.csv", "1,red,0\n2,,1\n3,blue,0\n"), &o));
    if (ds) {
        const float r1[] = {2, 0, 0};
        CHECK(ds->n_inputs == 3 && row_is(ds, 1, r1), "missing category");
        mynn_dataset_free(ds);
    }
}

/* A net whose inputs and outputs fit the encoding of ds. */
static mynn_net *net_for(const mynn_dataset *ds)
{
    mynn_net *net = NULL;
    char spec[32];
    snprintf(spec, sizeof spec, "3:tanh,%d:softmax", ds->n_outputs);
    if (mynn_create(&net, ds->n_inputs) || mynn_add_layers(net, spec) ||
        mynn_set_loss(net, MYNN_LOSS_CE) || mynn_build(net, 8, MYNN_INIT_AUTO, 1)) {
        mynn_free(net);
        return NULL;
    }
    return net;
}

static void test_round_trip(void)
{
    mynn_dataset *tr = NULL, *ds = NULL;
    mynn_load_options o;
    mynn_load_options_default(&o);
    o.missing = MYNN_MISSING_MEDIAN;
    CHECK_OK(load(&tr, wtext("train.csv", "w,color,kind\n1,red,cat\n2,blue,dog\n3,red,\"say \"\"hi\"\"\"\n"
                                          "NA,blue,cat\n"), &o));
    if (!tr) return;
    mynn_net *net = net_for(tr), *back = NULL;
    CHECK(net != NULL, "net");
    if (!net) goto out;
    CHECK(mynn_set_encoding(net, NULL) == MYNN_OK, "remove");
    CHECK_OK(mynn_set_encoding(net, tr->encoding));
    CHECK(!strcmp(mynn_metadata(net, "class_names"), "[\"cat\",\"dog\",\"say \\\"hi\\\"\"]"),
          "class_names %s", mynn_metadata(net, "class_names"));
    CHECK(!strcmp(mynn_metadata(net, "input_encoding"),
                  "[{\"type\":\"numeric\",\"fill\":\"2\"},{\"type\":\"categorical\",\"categories\":"
                  "[\"blue\",\"red\"]}]"),
          "input_encoding %s", mynn_metadata(net, "input_encoding"));
    CHECK(!strcmp(mynn_metadata(net, "missing"), "median"), "missing");
    CHECK_OK(mynn_save(net, tpath("m.safetensors")));
    CHECK_OK(mynn_load(&back, tpath("m.safetensors"), 8));
    mynn_encoding *e = NULL;
    if (back) CHECK_OK(mynn_get_encoding(back, &e));
    CHECK(e && mynn_encoding_n_classes(e) == 3 && mynn_encoding_n_inputs(e) == 3, "read back");
    if (!e) goto out;

    mynn_load_options a;
    mynn_load_options_default(&a);
    a.encoding = e;
    /* Missing value imputed with the saved median; unseen category zeros. */
    CHECK_OK(load(&ds, wtext("test.csv", "w,color,kind\n?,red,dog\n5,green,cat\n"), &a));
    if (ds) {
        const float r0[] = {2, 0, 1}, r1[] = {5, 0, 0};
        CHECK(ds->n == 2 && ds->n_inputs == 3 && row_is(ds, 0, r0) && row_is(ds, 1, r1), "applied");
        CHECK(ds->labels && ds->labels[0] == 1 && ds->labels[1] == 0 && ds->n_classes == 3, "labels");
        CHECK(ds->n_unseen == 1 && strstr(ds->unseen_first, "test.csv:3: column 2: unseen category \"green\""),
              "unseen %d %s", ds->n_unseen, ds->unseen_first);
        CHECK(ds->encoding == NULL, "no new encoding");
        mynn_dataset_free(ds);
    }
    a.strict = 1;
    CHECK(load(&ds, tpath("test.csv"), &a) == MYNN_ERR_FORMAT, "strict");
    CHECK_MSG("test.csv:3: column 2: category \"green\" was not seen in training");
    a.strict = 0;
    CHECK(load(&ds, wtext("cls.csv", "1,red,cat\n2,red,bird\n"), &a) == MYNN_ERR_FORMAT, "unseen class");
    CHECK_MSG("cls.csv:2: column 3: class \"bird\" is not one of the model's 3 classes");
    /* Without the label column; with it but skipped unread (predict). */
    CHECK_OK(load(&ds, wtext("nolabel.csv", "1,red\n2,blue\n"), &a));
    if (ds) {
        CHECK(ds->n == 2 && ds->n_inputs == 3 && ds->labels == NULL && ds->n_outputs == 0, "no labels");
        mynn_dataset_free(ds);
    }
    a.no_labels = 1;
    CHECK_OK(load(&ds, tpath("cls.csv"), &a));
    if (ds) {
        CHECK(ds->n == 2 && ds->n_inputs == 3 && ds->labels == NULL, "labels skipped");
        mynn_dataset_free(ds);
    }
    CHECK(load(&ds, wtext("wide.csv", "1,2,3,4\n"), &a) == MYNN_ERR_FORMAT, "columns");
    CHECK_MSG("wide.csv: 4 columns, but the model's encoding takes 2 input columns");

    /* Damaged or mismatched metadata. */
    CHECK_OK(mn_net_set_meta(back, "class_names", "[\"b\",\"a\",\"c\"]"));
    mynn_encoding *bad = (mynn_encoding *)1;
    CHECK(mynn_get_encoding(back, &bad) == MYNN_ERR_FORMAT && bad == NULL, "unsorted");
    CHECK_MSG("names must be distinct and sorted");
    CHECK_OK(mn_net_set_meta(back, "class_names", "[\"a\",\"b\"]"));
    CHECK(mynn_get_encoding(back, &bad) == MYNN_ERR_FORMAT, "2 names, 3 outputs");
    CHECK_OK(mn_net_set_meta(back, "input_encoding", "[{\"type\":\"numeric\",\"fill\":\"x\"}]"));
    CHECK(mynn_get_encoding(back, &bad) == MYNN_ERR_FORMAT, "bad fill");
    CHECK_MSG("fill is not a finite number");
    CHECK(mynn_set_encoding(back, e) == MYNN_OK, "set again");
    mynn_net *small = NULL;
    mynn_create(&small, 2);
    mynn_add_layers(small, "3:softmax");
    CHECK(mynn_set_encoding(small, e) == MYNN_ERR_SHAPE, "width");
    mynn_free(small);
    mynn_encoding_free(e);
out:
    mynn_free(net);
    mynn_free(back);
    mynn_dataset_free(tr);
}

int main(void)
{
    CK_BEGIN("test_encoding");
    snprintf(g_tmp, sizeof g_tmp, "/tmp/mynn_enc_XXXXXX");
    if (!mkdtemp(g_tmp)) return 2;
    RUN(test_named_classes);
    RUN(test_categorical);
    RUN(test_missing);
    RUN(test_round_trip);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return CK_END();
}
