/* vmath.h — vectorized exp, sigmoid and tanh over f32 arrays (vmath.c). in may equal out. */
#ifndef KILN_VMATH_H
#define KILN_VMATH_H

#include <stddef.h>
#include <stdint.h>

/* The fastest path this build has (AVX2+FMA on x86, else the portable one). */
void kiln_vexp(const float *in, float *out, size_t n);
void kiln_vsigmoid(const float *in, float *out, size_t n);
void kiln_vtanh(const float *in, float *out, size_t n);
/* x * Phi(x) (GELU with erf), absolute error < 1.5e-7 * |x| */
void kiln_vgelu_erf(const float *in, float *out, size_t n);
/* The portable path, always built (the reference the SIMD path is tested against). */
void kiln_vexp_portable(const float *in, float *out, size_t n);
void kiln_vsigmoid_portable(const float *in, float *out, size_t n);
void kiln_vtanh_portable(const float *in, float *out, size_t n);
void kiln_vgelu_erf_portable(const float *in, float *out, size_t n);
/* x * sigmoid(x), bit-identical to kiln_vsigmoid's AVX2 path times x; defined only when
 * built with the AVX-512 kernels (KILN_HAVE_AVX512), run only on AVX-512 CPUs (vmath512.c). */
void kiln_vsilu_avx512(const float *in, float *out, size_t n);
/* 1 when kiln_vexp & co. run a SIMD path. */
int kiln_vmath_simd(void);

#endif
