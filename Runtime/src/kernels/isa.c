/* isa.c — which float-kernel instruction set this process runs: the portable C loops,
 * AVX2+FMA (compiled in when the build targets it) or AVX-512 (compiled in on any x86-64
 * GCC/clang build through target attributes, used when the CPU has it).
 *
 * Algorithm: cpuid leaf 7 must report AVX512F, BW, DQ and VL, cpuid leaf 1 OSXSAVE, and
 * XCR0 (xgetbv) must show the OS saving the x87/SSE/AVX and opmask/ZMM state (bits 1, 2,
 * 5, 6, 7); otherwise AVX-512 instructions would fault or lose registers on a context
 * switch. KILN_FKERNELS=portable|avx2|avx512 caps the choice (tests force each path on one
 * machine). Kernels ask at load and keep the answer in their params, so the plan bytes
 * never depend on it. */
#include "common.h"

#include <stdlib.h>

#ifdef KILN_HAVE_AVX512
#include <cpuid.h>

static int cpu_has_avx512(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;      /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & 0xE6u) != 0xE6u) return 0;                                     /* SSE, AVX, opmask, ZMM */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31); /* F, DQ, BW, VL */
    return (b & need) == need;
}
#endif

kiln_isa kiln_isa_detect(void) {
    kiln_isa avx2 = KILN_ISA_PORTABLE;       /* the AVX2 kernels are compiled in by -march */
#if defined(__AVX2__) && defined(__FMA__)
    avx2 = KILN_ISA_AVX2;
#endif
    const char *cap = getenv("KILN_FKERNELS");
    if (cap && strcmp(cap, "portable") == 0) return KILN_ISA_PORTABLE;
    if (cap && strcmp(cap, "avx2") == 0) return avx2;
#ifdef KILN_HAVE_AVX512
    /* cpuid traps to the hypervisor in a VM (microseconds): ask once. Threads racing here
     * store the same value. */
    static volatile int has512 = -1;
    if (has512 < 0) has512 = cpu_has_avx512();
    if (has512) return KILN_ISA_AVX512;
#endif
    return avx2;
}
