/* fuzz_npy.c — libFuzzer target for the .npy reader (tools/npy.c). npy_read takes a path,
 * so each input is written to an in-memory file (memfd) and read back through
 * /proc/self/fd/N. Linux only, like the rest of the fuzzing setup. */
#define _GNU_SOURCE
#include "npy.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.npy", 0);
        if (fd < 0) return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) return 0;
    npy_array a;
    char err[256];
    if (npy_read(path, &a, err, sizeof err) == 0) {
        volatile uint8_t sink = a.bytes ? ((const uint8_t *)a.data)[a.bytes - 1] : 0;
        (void)sink;
        npy_free(&a);
    }
    return 0;
}
