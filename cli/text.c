/* mynn train --text: a text file (or a folder of them) as a character-level
 * language model's data.  The vocabulary is the text's symbols; `vocab` in
 * --layers stands for its size; the ids are cut into --seq windows whose
 * targets are the next symbols (src/io/text.c). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>


int cli_text_load(const char *path, int bytes, mynn_vocab **vocab, float **ids, size_t *n_ids)
{
    char *text = NULL;
    size_t len = 0, n = 0;
    *vocab = NULL;
    *ids = NULL;
    mynn_status s = mynn_read_text(path, &text, &len);
    if (!s) s = mynn_vocab_build(text, len, bytes, vocab);
    if (!s && !(*ids = malloc(len * sizeof **ids))) s = MYNN_ERR_NOMEM;
    if (!s) s = mynn_vocab_encode(*vocab, text, len, *ids, &n);
    free(text);
    if (s) {
        cli_lib_error("%s", path);
        mynn_vocab_free(*vocab);
        free(*ids);
        *vocab = NULL;
        *ids = NULL;
        return CLI_FAIL;
    }
    *n_ids = n;
    return CLI_OK;
}

/* Another text (--val FILE) in the training text's vocabulary. */
int cli_text_encode_file(const char *path, const mynn_vocab *vocab, float **ids, size_t *n_ids)
{
    char *text = NULL;
    size_t len = 0;
    *ids = NULL;
    mynn_status s = mynn_read_text(path, &text, &len);
    if (!s && !(*ids = malloc(len * sizeof **ids))) s = MYNN_ERR_NOMEM;
    if (!s) s = mynn_vocab_encode(vocab, text, len, *ids, n_ids);
    free(text);
    if (s) {
        cli_lib_error("%s", path);
        free(*ids);
        *ids = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* spec with every field that is exactly "vocab" (between ',', ':', '(',
 * ')', '|' or the ends) replaced by the vocabulary's size; NULL when out
 * of memory.  free() it. */
char *cli_text_spec(const char *spec, int vocab)
{
    char num[16];
    int nl = snprintf(num, sizeof num, "%d", vocab);
    size_t len = strlen(spec), cap = len * (size_t)(nl > 5 ? nl : 5) / 5 + len + 1, k = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    static const char seps[] = ",:()| ";
    for (size_t i = 0; i < len;) {
        int at_start = i == 0 || strchr(seps, spec[i - 1]);
        if (at_start && !strncmp(spec + i, "vocab", 5) && (spec[i + 5] == '\0' || strchr(seps, spec[i + 5]))) {
            memcpy(out + k, num, (size_t)nl);
            k += (size_t)nl;
            i += 5;
        } else {
            out[k++] = spec[i++];
        }
    }
    out[k] = '\0';
    return out;
}
