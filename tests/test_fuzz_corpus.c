/* Replays every fuzzing seed and every input that once crashed a parser
 * (fuzz/corpus/TARGET, fuzz/regressions/TARGET) through the same target
 * functions libFuzzer runs, so `make test` (and its sanitizer build)
 * keeps them fixed. */
#include "check.h"
#include "../fuzz/targets.c"

#include <dirent.h>

typedef int (*target_fn)(const uint8_t *, size_t);

static int replay_dir(const char *dir, target_fn fn)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        fn(buf, n);
        count++;
    }
    closedir(d);
    return count;
}

static void replay(const char *name, target_fn fn)
{
    char dir[256];
    snprintf(dir, sizeof dir, "fuzz/corpus/%s", name);
    int seeds = replay_dir(dir, fn);
    snprintf(dir, sizeof dir, "fuzz/regressions/%s", name);
    int regressions = replay_dir(dir, fn);
    CHECK(seeds > 0, "no seed corpus for %s", name);
    printf("  %s: %d seeds, %d regressions replayed\n", name, seeds, regressions);
}

static void test_csv(void) { replay("csv", fuzz_csv); }
static void test_fann(void) { replay("fann", fuzz_fann); }
static void test_idx(void) { replay("idx", fuzz_idx); }
static void test_safetensors(void) { replay("safetensors", fuzz_safetensors); }
static void test_layers(void) { replay("layers", fuzz_layers); }
static void test_dataset(void) { replay("dataset", fuzz_dataset); }
static void test_checkpoint(void) { replay("checkpoint", fuzz_checkpoint); }
static void test_qmodel(void) { replay("qmodel", fuzz_qmodel); }
static void test_npy(void) { replay("npy", fuzz_npy); }
static void test_text(void) { replay("text", fuzz_text); }

int main(void)
{
    CK_BEGIN("test_fuzz_corpus");
    RUN(test_csv);
    RUN(test_fann);
    RUN(test_idx);
    RUN(test_safetensors);
    RUN(test_qmodel);
    RUN(test_layers);
    RUN(test_dataset);
    RUN(test_checkpoint);
    RUN(test_npy);
    RUN(test_text);
    return CK_END();
}
