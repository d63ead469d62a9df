/* qlookup.h — the row kernels of QLOOKUP (qlookup.c): y[i] = table[x[i]] on u8. */
#ifndef KILN_QLOOKUP_H
#define KILN_QLOOKUP_H

#include <stdint.h>

typedef void (*kiln_qlookup_fn)(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *table);
void kiln_qlookup_portable(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *table);
/* NULL when the CPU (or the build) lacks AVX-512 VBMI or KILN_QGEMM=portable/novbmi. */
kiln_qlookup_fn kiln_qlookup_vbmi(void);
/* The best of the above (load time). */
kiln_qlookup_fn kiln_qlookup_select(void);

#endif
