/* fuzz_npy.c — libFuzzer target: the C .npy reader of kiln-run (tools/npy.c) on arbitrary
 * bytes, read through fmemopen. Build: make -C Runtime fuzz. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return 0;
    npy_array a;
    char err[512];
    if (npy_read_stream(f, "fuzz.npy", &a, err, sizeof err) == 0) {
        char shape[200];
        npy_format_shape(a.rank, a.dims, shape, sizeof shape);
        npy_free(&a);
    }
    fclose(f);
    return 0;
}
