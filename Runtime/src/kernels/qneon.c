/* qneon.c — the quad-layout int8 GEMM core (qgemm.h) on aarch64 NEON.
 * With the dot-product extension (__ARM_FEATURE_DOTPROD, e.g. -march=armv8.2-a+dotprod):
 * sdot multiplies i8 by i8, so the u8 activations are flipped to x - 128 (x ^ 0x80) and
 * each row adds back 128 * (the sum of its weights): sum((x - 128) * w) + 128 * sum(w) =
 * sum(x * w) exactly (all terms are small integers; int32 never wraps for K < 65536).
 * Algorithm (sdot): tiles of 4 rows x 16 columns in 16 int32x4 accumulators; per k quad
 * t, four 16-byte loads of B (4 columns x 4 k each) and, per row, one duplicated A quad
 * and four sdot; then 4-column steps, then a scalar tail.
 * Algorithm (plain NEON): per row and group of 4 columns, each column's 4 bytes widened to
 * i16 and multiplied-accumulated (vmlal_s16) with the row's 4 widened weights into one
 * int32x4 per column, summed across lanes at the end; a scalar tail. */
#include "qgemm.h"

#if defined(__aarch64__)
#include <arm_neon.h>

static int32_t dot_scalar(const int32_t *ai, const uint8_t *b, int64_t n, int64_t kq, int64_t j) {
    int32_t s = 0;
    for (int64_t t = 0; t < kq; t++) {
        const uint8_t *bq = b + (t * n + j) * 4;
        s += kiln_qquad_at(ai[t], 0) * bq[0] + kiln_qquad_at(ai[t], 1) * bq[1] + kiln_qquad_at(ai[t], 2) * bq[2] +
             kiln_qquad_at(ai[t], 3) * bq[3];
    }
    return s;
}

#if defined(__ARM_FEATURE_DOTPROD)
static int32_t row_sum128(const int32_t *ai, int64_t kq) {
    int32_t s = 0;
    for (int64_t t = 0; t < kq; t++)
        s += kiln_qquad_at(ai[t], 0) + kiln_qquad_at(ai[t], 1) + kiln_qquad_at(ai[t], 2) + kiln_qquad_at(ai[t], 3);
    return 128 * s;
}

static inline int8x16_t flip(const uint8_t *p) { return vreinterpretq_s8_u8(veorq_u8(vld1q_u8(p), vdupq_n_u8(0x80))); }

static void qgemm4_neon(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
        int32x4_t comp[4];
        for (int r = 0; r < 4; r++) comp[r] = vdupq_n_s32(row_sum128(a + (i + r) * kq, kq));
        int64_t j = 0;
        for (; j + 16 <= n; j += 16) {
            int32x4_t acc[4][4];
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 4; q++) acc[r][q] = comp[r];
            for (int64_t t = 0; t < kq; t++) {
                const uint8_t *bt = b + (t * n + j) * 4;
                int8x16_t b0 = flip(bt), b1 = flip(bt + 16), b2 = flip(bt + 32), b3 = flip(bt + 48);
                for (int r = 0; r < 4; r++) {
                    int8x16_t av = vreinterpretq_s8_s32(vdupq_n_s32(a[(i + r) * kq + t]));
                    acc[r][0] = vdotq_s32(acc[r][0], b0, av);
                    acc[r][1] = vdotq_s32(acc[r][1], b1, av);
                    acc[r][2] = vdotq_s32(acc[r][2], b2, av);
                    acc[r][3] = vdotq_s32(acc[r][3], b3, av);
                }
            }
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 4; q++) vst1q_s32(c + (i + r) * n + j + 4 * q, acc[r][q]);
        }
        for (; j + 4 <= n; j += 4)
            for (int r = 0; r < 4; r++) {
                int32x4_t acc = comp[r];
                for (int64_t t = 0; t < kq; t++)
                    acc = vdotq_s32(acc, flip(b + (t * n + j) * 4), vreinterpretq_s8_s32(vdupq_n_s32(a[(i + r) * kq + t])));
                vst1q_s32(c + (i + r) * n + j, acc);
            }
        for (; j < n; j++)
            for (int r = 0; r < 4; r++) c[(i + r) * n + j] = dot_scalar(a + (i + r) * kq, b, n, kq, j);
    }
    for (; i < m; i++) {
        int32x4_t comp = vdupq_n_s32(row_sum128(a + i * kq, kq));
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            int32x4_t acc = comp;
            for (int64_t t = 0; t < kq; t++)
                acc = vdotq_s32(acc, flip(b + (t * n + j) * 4), vreinterpretq_s8_s32(vdupq_n_s32(a[i * kq + t])));
            vst1q_s32(c + i * n + j, acc);
        }
        for (; j < n; j++) c[i * n + j] = dot_scalar(a + i * kq, b, n, kq, j);
    }
}
#else
static void qgemm4_neon(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    for (int64_t i = 0; i < m; i++) {
        const int32_t *ai = a + i * kq;
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            int32x4_t acc0 = vdupq_n_s32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int64_t t = 0; t < kq; t++) {
                int16x4_t w = vget_low_s16(vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(ai[t]))));
                uint8x16_t x = vld1q_u8(b + (t * n + j) * 4);
                int16x8_t lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x))), hi = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(x)));
                acc0 = vmlal_s16(acc0, vget_low_s16(lo), w);
                acc1 = vmlal_s16(acc1, vget_high_s16(lo), w);
                acc2 = vmlal_s16(acc2, vget_low_s16(hi), w);
                acc3 = vmlal_s16(acc3, vget_high_s16(hi), w);
            }
            c[i * n + j] = vaddvq_s32(acc0);
            c[i * n + j + 1] = vaddvq_s32(acc1);
            c[i * n + j + 2] = vaddvq_s32(acc2);
            c[i * n + j + 3] = vaddvq_s32(acc3);
        }
        for (; j < n; j++) c[i * n + j] = dot_scalar(ai, b, n, kq, j);
    }
}
#endif

kiln_qgemm4_fn kiln_qgemm4_neon(void) { return qgemm4_neon; }
#else
kiln_qgemm4_fn kiln_qgemm4_neon(void) { return NULL; }
#endif
