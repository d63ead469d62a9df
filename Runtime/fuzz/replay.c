/* replay.c — runs files through a fuzz target's LLVMFuzzerTestOneInput without libFuzzer,
 * for the committed crash inputs (regressions/) against the normal runtime build. Exits 0
 * when every file is handled; a regression crashes (or trips a sanitizer) instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { fprintf(stderr, "replay: cannot open %s\n", argv[i]); return 1; }
        uint8_t *buf = NULL;
        size_t size = 0, cap = 0, got;
        do {
            if (size == cap) {
                cap = cap ? cap * 2 : 65536;
                uint8_t *grown = realloc(buf, cap);
                if (!grown) { free(buf); fclose(f); fprintf(stderr, "replay: out of memory\n"); return 1; }
                buf = grown;
            }
            got = fread(buf + size, 1, cap - size, f);
            size += got;
        } while (got);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, size);
        free(buf);
    }
    printf("replay: %d inputs handled\n", argc - 1);
    return 0;
}
