/* replay.c — runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer:
 * `replay-plan FILE...` / `replay-npy FILE...`. `make test` replays every committed input
 * in fuzz/regressions/<target>/ (each a minimized crash the fuzzer once found), and
 * `make test SAN=1` does so under ASan/UBSan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { fprintf(stderr, "replay: cannot open %s\n", argv[i]); return 1; }
        size_t cap = 1 << 16, size = 0, got;
        uint8_t *buf = malloc(cap);
        while (buf && (got = fread(buf + size, 1, cap - size, f)) > 0) {
            size += got;
            if (size == cap) { uint8_t *b = realloc(buf, cap *= 2); if (!b) { free(buf); buf = NULL; } else buf = b; }
        }
        fclose(f);
        if (!buf) { fprintf(stderr, "replay: out of memory\n"); return 1; }
        LLVMFuzzerTestOneInput(buf, size);
        free(buf);
        n++;
    }
    printf("replayed %d inputs\n", n);
    return 0;
}
