/* qgemm.h — the int8 GEMM core shared by QCONV2D and QGEMM, its requantization, and the
 * choice between the portable reference and the AVX2 path (made once, at load). */
#ifndef KILN_KERNELS_QGEMM_H
#define KILN_KERNELS_QGEMM_H

#include "common.h"

/* c[i*n + j] = sum over t < kk of lo(a[i*kk+t]) * b[(t*n + j)*2] + hi(a[i*kk+t]) * b[(t*n + j)*2 + 1]:
 * A holds pairs of consecutive-k weights as two i16 in one i32 (low half first), B holds
 * the same pairs of activations interleaved per column. Integer sums, so every path is
 * exact and equal (int32 wraps identically; |sum| < K * 255 * 128 never wraps for
 * K < 65536, which the kernels require). */
typedef void (*kiln_qgemm_fn)(int64_t m, int64_t n, int64_t kk, const int32_t *a, const int16_t *b, int32_t *c);

void kiln_qgemm_portable(int64_t m, int64_t n, int64_t kk, const int32_t *a, const int16_t *b, int32_t *c);
/* NULL when the build or the CPU has no AVX2. */
kiln_qgemm_fn kiln_qgemm_avx2(void);
/* The fastest path this CPU runs (AVX2 when available), or the portable one when
 * KILN_QGEMM=portable is set in the environment. */
kiln_qgemm_fn kiln_qgemm_select(void);

/* Interleaves two u8 rows into n i16 pairs of qgemm.h's B layout: d[2i] = r0[i],
 * d[2i + 1] = r1[i]. */
typedef void (*kiln_qpack_fn)(const uint8_t *r0, const uint8_t *r1, int64_t n, int16_t *d);
void kiln_qpack_portable(const uint8_t *r0, const uint8_t *r1, int64_t n, int16_t *d);
/* AVX2 (u8 unpack + widening) when available, the portable one otherwise or when
 * KILN_QGEMM=portable is set. */
kiln_qpack_fn kiln_qpack_select(void);

/* The quad layout (dot-product instructions: x86 vpdpbusd, ARM sdot), used when the CPU
 * has one: c[i*n + j] = sum over t < kq, u < 4 of w(a[i*kq + t], u) * b[(t*n + j)*4 + u],
 * where A holds four consecutive-k i8 weights in one i32 (byte u = k 4t + u, lowest byte
 * first: kiln_qquad) and B four consecutive-k u8 activations per column. Exact integer
 * sums (|sum| < K * 255 * 128 < 2^31 for K < 65536), so every path equals the reference. */
typedef void (*kiln_qgemm4_fn)(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c);
void kiln_qgemm4_portable(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c);
/* Each NULL when the build or the CPU lacks it (qvnni.c, qneon.c). */
kiln_qgemm4_fn kiln_qgemm4_vnni512(void);  /* AVX-512 VNNI, 8 rows x 32 columns */
kiln_qgemm4_fn kiln_qgemm4_avxvnni(void);  /* AVX-VNNI (VEX, 256-bit), 4 rows x 16 columns */
kiln_qgemm4_fn kiln_qgemm4_neon(void);     /* aarch64: sdot when compiled with dotprod, else widening multiplies */
/* The fastest quad path this CPU runs, or NULL (then the kernels use the pair layout:
 * AVX2 or portable); NULL too when KILN_QGEMM=portable or KILN_QGEMM=pairs is set. */
kiln_qgemm4_fn kiln_qgemm4_select(void);
/* The quad core with the requantization fused (each tile's sums requantized in registers):
 * y[i*ystride + j] = kiln_requant(c[i*n + j] + bias[i], mult[i], shift[i], q) for
 * kiln_qgemm4's c. The portable version evaluates that definition directly. */
typedef struct kiln_qrequant_rows {
    const int32_t *bias, *mult, *shift;
    const struct kiln_qparams *q;
} kiln_qrequant_rows;
typedef void (*kiln_qgemm4q_fn)(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b,
                                const kiln_qrequant_rows *r, uint8_t *y, int64_t ystride);
void kiln_qgemm4q_portable(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, const kiln_qrequant_rows *r,
                           uint8_t *y, int64_t ystride);
/* AVX-512 VNNI; NULL without it or with KILN_QGEMM=portable, pairs or avxvnni (the kernels
 * then run kiln_qgemm4 and requantize rows). KILN_QGEMM=avxvnni hides every AVX-512 int8
 * path (as on an AVX2 + AVX-VNNI CPU), so tests reach the AVX-VNNI ones on AVX-512 machines. */
kiln_qgemm4q_fn kiln_qgemm4q_vnni512(void);
/* Interleaves four u8 rows into n quads of B: d[4i + u] = ru[i]. */
typedef void (*kiln_qpack4_fn)(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3, int64_t n,
                               uint8_t *d);
void kiln_qpack4_portable(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3, int64_t n, uint8_t *d);
kiln_qpack4_fn kiln_qpack4_select(void);

/* Depthwise rows on a zero-point-padded plane (qdw.c), kernels up to 4 wide (dilation 1):
 * acc[o] = sum over ki < kh, u < 4 of w(wq[ki], u) * x[ki * rstride + o * sw + u] for o <
 * ow, wq[ki] holding row ki's taps as an i8 quad (zero past kw). The rows must be readable
 * up to byte ((ow + 15) / 16 * 16) * sw + 16 (the padding of the plane copy). */
typedef void (*kiln_qdw_row_fn)(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                                int32_t *acc);
void kiln_qdw_row_portable(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                           int32_t *acc);
/* AVX-512 VNNI (16 outputs per vpdpbusd and kernel row; vpermb with VBMI), NULL without it or with
 * KILN_QGEMM=portable, pairs or avxvnni. */
kiln_qdw_row_fn kiln_qdw_row_vnni512(void);

/* Depthwise rows requantized as they are computed: out[i * ow + o] = kiln_requant(acc[o] +
 * bias, ...) for kiln_qdw_row's acc on x + i * xstep (the same reads), output rows i < rows
 * (one call per plane: the constants are set up once). */
typedef struct kiln_qrequant {
    int32_t bias, mult, shift;
    const struct kiln_qparams *q;
} kiln_qrequant;
typedef void (*kiln_qdw_rowq_fn)(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                                 const kiln_qrequant *r, uint8_t *out, int64_t rows, int64_t xstep);
void kiln_qdw_rowq_portable(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                            const kiln_qrequant *r, uint8_t *out, int64_t rows, int64_t xstep);
/* AVX-512 VNNI + VBMI; NULL without them or with KILN_QGEMM=portable, pairs, novbmi or avxvnni. */
kiln_qdw_rowq_fn kiln_qdw_rowq_select(void);

/* A depthwise plane requantized, read straight from the unpadded input plane (h x w bytes):
 * out[oh * ow + o] = kiln_requant(bias + sum over ki < kh, u < 4 of w(wq[ki], u) *
 * x(oh * sh - pt + ki * dh, o * sw - pl + u), ...), x reading x_zp outside the plane (the
 * padding); kernels up to 4 wide (bytes past kw of each quad are 0), no plane copy. */
typedef struct kiln_qdw_geom {
    int64_t h, w, oh, ow, kh, sh, sw, dh, pt, pl;
    int32_t x_zp;
} kiln_qdw_geom;
typedef void (*kiln_qdw_planeq_fn)(const uint8_t *x, const kiln_qdw_geom *g, const int32_t *wq, const kiln_qrequant *r,
                                   uint8_t *out);
void kiln_qdw_planeq_portable(const uint8_t *x, const kiln_qdw_geom *g, const int32_t *wq, const kiln_qrequant *r, uint8_t *out);
/* AVX-512 VNNI + VBMI with sw <= 2 (masked loads fill the padding); NULL as kiln_qdw_rowq_select. */
kiln_qdw_planeq_fn kiln_qdw_planeq_select(void);

/* QGEMM in the quad layout, vectors along N: c[r*n + j] = sum over t < kq, u < 4 of
 * x[r*kq*4 + 4t + u] * w(b[t*n + j], u): x rows of u8 (K padded to 4 kq with anything: the
 * padded weights are 0), b the weights as i8 quads of consecutive k per column. */
typedef void (*kiln_qgemv4_fn)(int64_t rows, int64_t n, int64_t kq, const uint8_t *x, const int32_t *b, int32_t *c);
void kiln_qgemv4_portable(int64_t rows, int64_t n, int64_t kq, const uint8_t *x, const int32_t *b, int32_t *c);
/* AVX-512 VNNI (64 columns per step), NULL without it or with KILN_QGEMM=portable or pairs. */
kiln_qgemv4_fn kiln_qgemv4_vnni512(void);

/* Packs four i8 into the quad A layout. */
static inline int32_t kiln_qquad(int32_t w0, int32_t w1, int32_t w2, int32_t w3) {
    return (int32_t)((uint32_t)(uint8_t)w0 | (uint32_t)(uint8_t)w1 << 8 | (uint32_t)(uint8_t)w2 << 16 |
                     (uint32_t)(uint8_t)w3 << 24);
}
/* Byte u of a quad as the i8 it holds. */
static inline int32_t kiln_qquad_at(int32_t q, int u) { return (int8_t)(uint8_t)((uint32_t)q >> (8 * u)); }

/* Packs two i16 into the A layout. */
static inline int32_t kiln_qpair(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)(uint16_t)(int16_t)lo) | ((uint32_t)(uint16_t)(int16_t)hi << 16));
}

/* Requantization: zp + round(acc * mult / 2^shift), clamped to [lo, hi]; mult in
 * [2^30, 2^31) (or 0) and shift in [1, 62], computed by the compiler from
 * x_scale * w_scale / y_scale. Rounds half up (towards +inf); >> on a negative int64 is
 * an arithmetic shift on every compiler the runtime supports. */
static inline uint8_t kiln_requant(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    int64_t v = ((int64_t)acc * mult + ((int64_t)1 << (shift - 1))) >> shift;
    v += zp;
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return (uint8_t)v;
}

/* Requantization parameters shared by QCONV2D and QGEMM (attributes x_zp, y_zp, y_min,
 * y_max; the requant operand i32 [2, M]: multipliers then shifts). */
typedef struct kiln_qparams {
    int32_t x_zp, y_zp, y_min, y_max;
} kiln_qparams;
/* out[i] = kiln_requant(acc[i] + bias, ...) for a row of one output channel (qsimd.c). */
typedef void (*kiln_qrequant_row_fn)(const int32_t *acc, int64_t n, int32_t bias, int32_t mult, int32_t shift,
                                     const kiln_qparams *q, uint8_t *out);
void kiln_qrequant_row_portable(const int32_t *acc, int64_t n, int32_t bias, int32_t mult, int32_t shift,
                                const kiln_qparams *q, uint8_t *out);
kiln_qrequant_row_fn kiln_qrequant_row_select(void);
/* One depthwise tap along an output row: acc[o] += wv * (row[o * sw + off] - zp) for o in
 * [lo, hi) (the caller guarantees those reads are inside the row). */
typedef void (*kiln_qdw_tap_fn)(int32_t *acc, const uint8_t *row, int64_t lo, int64_t hi, int64_t sw, int64_t off,
                                int32_t wv, int32_t zp);
void kiln_qdw_tap_portable(int32_t *acc, const uint8_t *row, int64_t lo, int64_t hi, int64_t sw, int64_t off, int32_t wv,
                           int32_t zp);
kiln_qdw_tap_fn kiln_qdw_tap_select(void);

/* Per-tensor QuantizeLinear to u8: y = sat(round_half_even(x / scale) + zp), NaN -> 0
 * (equal to quant.c's general loop for every input). */
typedef void (*kiln_quantize_u8_fn)(const float *x, int64_t n, float scale, int32_t zp, uint8_t *y);
void kiln_quantize_u8_portable(const float *x, int64_t n, float scale, int32_t zp, uint8_t *y);
kiln_quantize_u8_fn kiln_quantize_u8_select(void);

kiln_status kiln_qparams_read(kiln_check *c, const uint8_t *attr, kiln_qparams *q);
/* Checks the requant operand for m channels and copies it into mult/shift. */
kiln_status kiln_qrequant_read(kiln_check *c, const kiln_tdesc *t, int64_t m, int32_t *mult, int32_t *shift);
/* The bytes of a CONSTANT tensor, or NULL (with the check failed) if it is not one. */
const void *kiln_qconstant(kiln_check *c, const kiln_tdesc *t, const char *what);

#endif
