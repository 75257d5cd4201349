/* IDX files (MNIST, Fashion-MNIST): images (magic 0x00000803, n × rows ×
 * cols unsigned bytes) with their labels (0x00000801, n unsigned bytes),
 * plain or gzip-compressed.  Pixels become floats 0..255 unchanged. */
#include "io/io.h"
#include "core/core.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && memcmp(s + a - b, suf, b) == 0;
}

/* The labels file beside images file img: *out a new string. */
static mynn_status labels_path(const char *img, char **out)
{
    static const char *const pat[][2] = {
        {"images-idx3-ubyte", "labels-idx1-ubyte"},
        {"images.idx3-ubyte", "labels.idx1-ubyte"},
    };
    const char *base = strrchr(img, '/');
    base = base ? base + 1 : img;
    const char *hit = NULL;
    int k;
    for (k = 0; k < 2 && !hit; k++) hit = strstr(base, pat[k][0]);
    *out = NULL;
    if (!hit)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: cannot find its labels file (the name does not contain "
                        "\"images-idx3-ubyte\"); rename it or load with no_labels",
                        img);
    k--;
    size_t len = strlen(img), plen = strlen(pat[k][0]), pre = (size_t)(hit - img);
    char *a = malloc(len + 4), *b = malloc(len + 4);
    if (!a || !b) {
        free(a);
        free(b);
        return mn_error(MYNN_ERR_NOMEM, "out of memory");
    }
    memcpy(a, img, pre);
    memcpy(a + pre, pat[k][1], plen);   /* same length as the images pattern */
    strcpy(a + pre + plen, img + pre + plen);
    /* b: the other of .gz / plain. */
    strcpy(b, a);
    if (ends_with(b, ".gz"))
        b[strlen(b) - 3] = '\0';
    else
        strcat(b, ".gz");
    if (is_file(a)) {
        free(b);
        *out = a;
        return MYNN_OK;
    }
    if (is_file(b)) {
        free(a);
        *out = b;
        return MYNN_OK;
    }
    mn_error(MYNN_ERR_IO, "%s: labels file not found (tried %s and %s)", img, a, b);
    free(a);
    free(b);
    return MYNN_ERR_IO;
}

static mynn_status read_labels(const char *path, size_t n_images, const char *img_path,
                               unsigned char **data, size_t *len)
{
    mynn_status s = mn_file_read_all(path, data, len, 1);
    if (s != MYNN_OK) return s;
    const unsigned char *b = *data;
    if (*len < 8) {
        s = mn_error(MYNN_ERR_FORMAT, "%s: truncated IDX header: %zu of 8 bytes", path, *len);
    } else if (be32(b) != IDX_LABELS) {
        s = mn_error(MYNN_ERR_FORMAT, "%s: not an IDX labels file (magic 0x%08x)", path,
                     (unsigned)be32(b));
    } else if ((size_t)be32(b + 4) != n_images) {
        s = mn_error(MYNN_ERR_FORMAT, "%s holds %zu images but %s holds %u labels", img_path,
                     n_images, path, (unsigned)be32(b + 4));
    } else if (*len - 8 < n_images) {
        s = mn_error(MYNN_ERR_FORMAT,
                     "%s: truncated: the header claims %zu labels but only %zu are present "
                     "(%zu bytes missing)",
                     path, n_images, *len - 8, n_images - (*len - 8));
    } else if (*len - 8 > n_images) {
        s = mn_error(MYNN_ERR_FORMAT, "%s: %zu unexpected bytes after the %zu labels", path,
                     *len - 8 - n_images, n_images);
    }
    if (s != MYNN_OK) {
        free(*data);
        *data = NULL;
    }
    return s;
}

mynn_status mn_load_idx_images(mynn_dataset **out, const char *path,
                               const unsigned char *buf, size_t len,
                               const mynn_load_options *opt)
{
    *out = NULL;
    if (len < 4)
        return mn_error(MYNN_ERR_FORMAT, "%s: truncated IDX header: %zu of 16 bytes", path, len);
    uint32_t magic = be32(buf);
    if (magic == IDX_LABELS)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: not an IDX images file (magic 0x%08x: an IDX labels file; "
                        "pass the images file)",
                        path, (unsigned)magic);
    if (magic != IDX_IMAGES)
        return mn_error(MYNN_ERR_FORMAT, "%s: not an IDX images file (magic 0x%08x)", path,
                        (unsigned)magic);
    if (len < 16)
        return mn_error(MYNN_ERR_FORMAT, "%s: truncated IDX header: %zu of 16 bytes", path, len);
    uint32_t n = be32(buf + 4), rows = be32(buf + 8), cols = be32(buf + 12);
    if (n == 0 || rows == 0 || cols == 0)
        return mn_error(MYNN_ERR_FORMAT, "%s: empty IDX images file (%u images of %ux%u)", path,
                        (unsigned)n, (unsigned)rows, (unsigned)cols);
    size_t feat, total;
    if (mn_mul_size(rows, cols, &feat) != 0 || mn_mul_size(feat, n, &total) != 0)
        return mn_error(MYNN_ERR_FORMAT, "%s: IDX dimensions %u x %u x %u overflow", path,
                        (unsigned)n, (unsigned)rows, (unsigned)cols);
    if (total > MN_MAX_ELEMS)
        return mn_error(MYNN_ERR_NOMEM,
                        "%s: the header claims %u images of %ux%u = %zu values, over the limit "
                        "of %zu",
                        path, (unsigned)n, (unsigned)rows, (unsigned)cols, total,
                        (size_t)MN_MAX_ELEMS);
    size_t have = len - 16;
    if (have < total)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: truncated: the header claims %u images of %ux%u (%zu bytes of "
                        "pixels) but the file holds %zu (%zu bytes missing)",
                        path, (unsigned)n, (unsigned)rows, (unsigned)cols, total, have,
                        total - have);
    if (have > total)
        return mn_error(MYNN_ERR_FORMAT, "%s: %zu unexpected bytes after the %u images", path,
                        have - total, (unsigned)n);

    unsigned char *lab = NULL;
    size_t lab_len = 0;
    char *lpath = NULL;
    if (!opt->no_labels) {
        mynn_status s = labels_path(path, &lpath);
        if (s != MYNN_OK) return s;
        s = read_labels(lpath, n, path, &lab, &lab_len);
        if (s != MYNN_OK) {
            free(lpath);
            return s;
        }
    }

    mynn_status s = MYNN_OK;
    mynn_dataset *ds = mn_dataset_new();
    if (!ds) {
        s = MYNN_ERR_NOMEM;
        goto done;
    }
    ds->n = (int)n;
    ds->n_inputs = (int)feat;
    ds->shape[0] = 1;   /* one channel of rows × cols */
    ds->shape[1] = (int)rows;
    ds->shape[2] = (int)cols;
    ds->shape_dims = 2;
    ds->x = mn_calloc(total, sizeof(float), "IDX images");
    if (!ds->x) {
        s = MYNN_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < total; i++) ds->x[i] = (float)buf[16 + i];

    if (lab) {
        const unsigned char *l = lab + 8;
        int nc = opt->n_classes;
        if (nc <= 0) {
            int mx = 0;
            for (size_t i = 0; i < n; i++)
                if (l[i] > mx) mx = l[i];
            nc = mx + 1;
        }
        for (size_t i = 0; i < n; i++)
            if (l[i] >= nc) {
                s = mn_error(MYNN_ERR_FORMAT, "%s: label %u at index %zu out of range (n_classes %d)",
                             lpath, (unsigned)l[i], i, nc);
                goto done;
            }
        ds->labels = mn_calloc(n, sizeof(int), "IDX labels");
        ds->y = ds->labels ? mn_calloc((size_t)n * (size_t)nc, sizeof(float), "IDX one-hot targets")
                           : NULL;
        if (!ds->labels || !ds->y) {
            s = MYNN_ERR_NOMEM;
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            ds->labels[i] = l[i];
            ds->y[i * (size_t)nc + l[i]] = 1.0f;
        }
        ds->n_classes = nc;
        ds->n_outputs = nc;
    }

done:
    free(lab);
    free(lpath);
    if (s != MYNN_OK) {
        mynn_dataset_free(ds);
        return s;
    }
    *out = ds;
    return MYNN_OK;
}

mynn_status mn_load_idx_folder(mynn_dataset **out, const char *dir,
                               const mynn_load_options *opt, int which)
{
    static const char *const names[] = {"images-idx3-ubyte.gz", "images-idx3-ubyte",
                                        "images.idx3-ubyte.gz", "images.idx3-ubyte"};
    const char *prefix = which == 0 ? "train" : "t10k";
    *out = NULL;
    size_t dl = strlen(dir);
    char *p = malloc(dl + 64);
    if (!p) return mn_error(MYNN_ERR_NOMEM, "out of memory");
    const char *slash = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++) {
        snprintf(p, dl + 64, "%s%s%s-%s", dir, slash, prefix, names[i]);
        found = is_file(p);
    }
    if (!found) {
        free(p);
        return mn_error(MYNN_ERR_IO, "%s: folder holds no %s-images-idx3-ubyte[.gz] (IDX %s set)",
                        dir, prefix, which == 0 ? "training" : "test");
    }
    unsigned char *buf;
    size_t len;
    mynn_status s = mn_file_read_all(p, &buf, &len, 1);
    if (s == MYNN_OK) {
        s = mn_load_idx_images(out, p, buf, len, opt);
        free(buf);
    }
    free(p);
    return s;
}
