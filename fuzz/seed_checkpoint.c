/* Writes a valid checkpoint for fuzz_checkpoint's fixed run: the seed of
 * fuzz/corpus/checkpoint (used by fuzz/make_corpus.py). */
#include "targets.c"

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    unlink(argv[1]);
    if (fuzz_checkpoint_run(argv[1], 0) != 0) {
        fprintf(stderr, "seed_checkpoint: %s\n", mynn_last_error());
        return 1;
    }
    return 0;
}
