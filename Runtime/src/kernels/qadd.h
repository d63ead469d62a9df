/* qadd.h — the row kernels of QADD (qadd.c): y = clamp(y_zp + ((a_mult * (a - a_zp) + b_mult * (b - b_zp)
 * + 2^(shift - 1)) >> shift), y_min, y_max) elementwise on u8, with every term exact in int32. */
#ifndef KILN_QADD_H
#define KILN_QADD_H

#include <stdint.h>

/* The attributes folded for the row kernels: t = a_mult * a + b_mult * b + bias, with
 * bias = 2^(shift - 1) - a_mult * a_zp - b_mult * b_zp; then y = clamp((t >> shift) + y_zp).
 * With mults <= 2^21 and shift in [1, 30] (checked at load) every partial sum lies in
 * (-2^31, 2^31). */
typedef struct kiln_qadd_params {
    int32_t a_mult, b_mult, bias, shift, y_zp, y_min, y_max;
} kiln_qadd_params;

typedef void (*kiln_qadd_fn)(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n, const kiln_qadd_params *p);
void kiln_qadd_portable(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n, const kiln_qadd_params *p);
/* NULL when the CPU (or the build) lacks the instruction set or KILN_QGEMM=portable. */
kiln_qadd_fn kiln_qadd_avx2(void);
kiln_qadd_fn kiln_qadd_avx512(void);
/* The best of the above (load time). */
kiln_qadd_fn kiln_qadd_select(void);

#endif
