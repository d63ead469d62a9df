/* qconvi.c — QCONV2D's channel-vector path (AVX-512 VNNI, group 1, output planes up to 4096
 * pixels; 1x1 convs only on small planes, see kiln_qconvi_usable). The pixel-vector quad path
 * (qconv4.c) wastes tile columns on small planes (49 pixels on a 9-wide virtual grid fill 64
 * columns) and packs K x pixels bytes per conv; here the vectors run along output channels
 * (512 channels are 16 exact blocks of 32), pixels are the broadcast operand, and nothing is
 * packed but one transposition of the input and of the output (ResNet-18: every 3x3 layer
 * 15-45% faster).
 * Algorithm: per image, the input is transposed once to pixel-major rows of cp bytes
 * (channels padded to a multiple of 4 with zero bytes; their weights are 0), and a table
 * gives, per output pixel and kernel tap, the row that tap reads (or a row of x_zp: the
 * padding; an indirection table instead of im2col). Per block of 32 output channels and
 * tile of 7 output pixels, 14 zmm accumulators: per tap and channel quad, two loads of the
 * block's weight quads (32 channels x 4 k, packed at load) and per pixel one broadcast of
 * its 4 input bytes and two vpdpbusd. The sums are requantized in registers (each lane its
 * channel's multiplier and shift) into a pixel-major u8 block, transposed into the output
 * planes at the end. Integer sums in another order: equal to the reference bit for bit.
 * x86-64 size builds (KILN_NO_AVX512) leave the path out, like the fp32 AVX-512 kernels. */
#include "qconv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QI_BLOCK 32  /* output channels per tile (two zmm) */
#define QI_TILE 7    /* output pixels per tile */
#define QI_CHUNK 64  /* output channels per job */
#define QI_PIXELS 4096 /* the path serves output planes up to this many pixels */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(KILN_NO_AVX512)
#define QI_VNNI 1
#endif

#ifdef QI_VNNI

/* dst[c * dstride + r] = src[r * sstride + c] for r < rows, c < cols: 8 x 8 blocks in
 * 64-bit words (three rounds of masked swaps), the edges one byte at a time. */
static void transpose_u8(const uint8_t *src, int64_t rows, int64_t cols, int64_t sstride, uint8_t *dst, int64_t dstride) {
    int64_t r0 = 0;
    for (; r0 + 8 <= rows; r0 += 8) {
        int64_t c0 = 0;
        for (; c0 + 8 <= cols; c0 += 8) {
            uint64_t x[8];
            for (int i = 0; i < 8; i++) memcpy(&x[i], src + (r0 + i) * sstride + c0, 8);
            for (int i = 0; i < 8; i += 2) {
                uint64_t t = ((x[i] >> 8) ^ x[i + 1]) & 0x00FF00FF00FF00FFull;
                x[i + 1] ^= t;
                x[i] ^= t << 8;
            }
            for (int i = 0; i < 8; i += (i & 1) ? 3 : 1) {
                uint64_t t = ((x[i] >> 16) ^ x[i + 2]) & 0x0000FFFF0000FFFFull;
                x[i + 2] ^= t;
                x[i] ^= t << 16;
            }
            for (int i = 0; i < 4; i++) {
                uint64_t t = ((x[i] >> 32) ^ x[i + 4]) & 0x00000000FFFFFFFFull;
                x[i + 4] ^= t;
                x[i] ^= t << 32;
            }
            for (int i = 0; i < 8; i++) memcpy(dst + (c0 + i) * dstride + r0, &x[i], 8); /* little-endian bytes */
        }
        for (; c0 < cols; c0++)
            for (int64_t r = r0; r < r0 + 8; r++) dst[c0 * dstride + r] = src[r * sstride + c0];
    }
    for (; r0 < rows; r0++)
        for (int64_t c = 0; c < cols; c++) dst[c * dstride + r0] = src[r0 * sstride + c];
}

/* The 8x8 word transpose reads bytes in memory order: big-endian hosts take the byte loop. */
static int little_endian(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* dst[c * dstride + r] = src[r * sstride + c] for any sizes. */
static void transpose_any(const uint8_t *src, int64_t rows, int64_t cols, int64_t sstride, uint8_t *dst, int64_t dstride) {
    if (little_endian()) { transpose_u8(src, rows, cols, sstride, dst, dstride); return; }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) dst[c * dstride + r] = src[r * sstride + c];
}

#if defined(__SSE2__)
#include <emmintrin.h>
/* 16 x 16 blocks (rows and cols multiples of 16): four rounds of byte interleaves of rows
 * i and i + 8 (a round rotates the 8-bit address (row, column) left by one bit: four swap
 * row and column). */
static void transpose16(const uint8_t *src, int64_t rows, int64_t cols, int64_t sstride, uint8_t *dst, int64_t dstride) {
    for (int64_t r0 = 0; r0 < rows; r0 += 16)
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            __m128i a[16], b[16];
            for (int i = 0; i < 16; i++) a[i] = _mm_loadu_si128((const __m128i *)(src + (r0 + i) * sstride + c0));
            for (int round = 0; round < 4; round++) {
                for (int i = 0; i < 8; i++) {
                    b[2 * i] = _mm_unpacklo_epi8(a[i], a[i + 8]);
                    b[2 * i + 1] = _mm_unpackhi_epi8(a[i], a[i + 8]);
                }
                memcpy(a, b, sizeof a);
            }
            for (int i = 0; i < 16; i++) _mm_storeu_si128((__m128i *)(dst + (c0 + i) * dstride + r0), a[i]);
        }
}
#endif

static void transpose(const uint8_t *src, int64_t rows, int64_t cols, int64_t sstride, uint8_t *dst, int64_t dstride) {
#if defined(__SSE2__)
    int64_t r16 = rows / 16 * 16, c16 = cols / 16 * 16;
    if (r16 && c16) {
        transpose16(src, r16, c16, sstride, dst, dstride);
        transpose_any(src + c16, r16, cols - c16, sstride, dst + c16 * dstride, dstride);
        src += r16 * sstride;
        dst += r16;
        rows -= r16;
    }
#endif
    transpose_any(src, rows, cols, sstride, dst, dstride);
}

#include <immintrin.h>

#define KILN_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* The block's requantization constants: 16 lanes of bias, multiplier, shift per zmm. */
typedef struct qi_req {
    const int32_t *bias, *mult, *shift;
    int32_t y_zp, lo, hi; /* lo, hi: y_min - y_zp, y_max - y_zp */
} qi_req;

/* kiln_requant of 16 lanes, each with its own channel's constants. */
KILN_VNNI512 static inline __attribute__((always_inline)) __m128i qi_req16(__m512i a, const qi_req *q, int v) {
    __m512i vb = _mm512_loadu_si512(q->bias + 16 * v), vm = _mm512_loadu_si512(q->mult + 16 * v);
    __m512i vs = _mm512_loadu_si512(q->shift + 16 * v);
    __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF), one = _mm512_set1_epi64(1);
    __m512i se = _mm512_and_si512(vs, lo32), so = _mm512_srli_epi64(vs, 32);
    __m512i vlo = _mm512_set1_epi64(q->lo), vhi = _mm512_set1_epi64(q->hi);
    a = _mm512_add_epi32(a, vb);
    __m512i pe = _mm512_mul_epi32(a, vm), po = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(vm, 32));
    pe = _mm512_srav_epi64(_mm512_add_epi64(pe, _mm512_sllv_epi64(one, _mm512_sub_epi64(se, one))), se);
    po = _mm512_srav_epi64(_mm512_add_epi64(po, _mm512_sllv_epi64(one, _mm512_sub_epi64(so, one))), so);
    pe = _mm512_min_epi64(_mm512_max_epi64(pe, vlo), vhi);
    po = _mm512_min_epi64(_mm512_max_epi64(po, vlo), vhi);
    __m512i r = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
    return _mm512_cvtepi32_epi8(_mm512_add_epi32(r, _mm512_set1_epi32(q->y_zp)));
}

/* Tile of R pixels x NV zmm (16 channels each), named accumulators (GCC keeps arrays of
 * vectors in memory); the guards on the constants R and NV fold away. */
#define QI_ACC(r) __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0;
#define QI_PTR(r) const uint8_t *x##r = R > (r) ? tab[(r) * taps + tap] : NULL;
#define QI_STEP(r)                                                                                      \
    if (R > (r)) {                                                                                      \
        int32_t xq;                                                                                     \
        memcpy(&xq, x##r + 4 * q, 4);                                                                   \
        __m512i xv = _mm512_set1_epi32(xq);                                                             \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, xv, w0);                                                 \
        if (NV > 1) c##r##1 = _mm512_dpbusd_epi32(c##r##1, xv, w1);                                     \
    }
#define QI_SETTLE(r)                                                                                    \
    if (R > (r)) {                                                                                      \
        __asm__("" : "+v"(c##r##0));                                                                    \
        if (NV > 1) __asm__("" : "+v"(c##r##1));                                                        \
    }
#define QI_OUT(r)                                                                                       \
    if (R > (r)) {                                                                                      \
        _mm_storeu_si128((__m128i *)(y + (r) * ystride), qi_req16(c##r##0, rq, 0));                      \
        if (NV > 1) _mm_storeu_si128((__m128i *)(y + (r) * ystride + 16), qi_req16(c##r##1, rq, 1));    \
    }

KILN_VNNI512 static inline __attribute__((always_inline)) void qi_tile(int R, int NV, int64_t taps, int64_t cq,
                                                                       const uint8_t *const *tab, const int32_t *w,
                                                                       const qi_req *rq, uint8_t *y, int64_t ystride) {
    QI_ACC(0) QI_ACC(1) QI_ACC(2) QI_ACC(3) QI_ACC(4) QI_ACC(5) QI_ACC(6)
    for (int64_t tap = 0; tap < taps; tap++) {
        QI_PTR(0) QI_PTR(1) QI_PTR(2) QI_PTR(3) QI_PTR(4) QI_PTR(5) QI_PTR(6)
        for (int64_t q = 0; q < cq; q++, w += QI_BLOCK) {
            __m512i w0 = _mm512_loadu_si512(w), w1 = NV > 1 ? _mm512_loadu_si512(w + 16) : w0;
            QI_STEP(0) QI_STEP(1) QI_STEP(2) QI_STEP(3) QI_STEP(4) QI_STEP(5) QI_STEP(6)
        }
    }
    QI_SETTLE(0) QI_SETTLE(1) QI_SETTLE(2) QI_SETTLE(3) QI_SETTLE(4) QI_SETTLE(5) QI_SETTLE(6)
    QI_OUT(0) QI_OUT(1) QI_OUT(2) QI_OUT(3) QI_OUT(4) QI_OUT(5) QI_OUT(6)
}

typedef void (*qi_tile_fn)(int64_t taps, int64_t cq, const uint8_t *const *tab, const int32_t *w, const qi_req *rq,
                           uint8_t *y, int64_t ystride);
#define QI_FN(R, NV)                                                                                    \
    KILN_VNNI512 static void qi_tile_##R##_##NV(int64_t taps, int64_t cq, const uint8_t *const *tab,   \
                                                const int32_t *w, const qi_req *rq, uint8_t *y,         \
                                                int64_t ystride) {                                      \
        qi_tile(R, NV, taps, cq, tab, w, rq, y, ystride);                                               \
    }
QI_FN(1, 1) QI_FN(2, 1) QI_FN(3, 1) QI_FN(4, 1) QI_FN(5, 1) QI_FN(6, 1) QI_FN(7, 1)
QI_FN(1, 2) QI_FN(2, 2) QI_FN(3, 2) QI_FN(4, 2) QI_FN(5, 2) QI_FN(6, 2) QI_FN(7, 2)
static const qi_tile_fn qi_tiles[2][QI_TILE] = {
    {qi_tile_1_1, qi_tile_2_1, qi_tile_3_1, qi_tile_4_1, qi_tile_5_1, qi_tile_6_1, qi_tile_7_1},
    {qi_tile_1_2, qi_tile_2_2, qi_tile_3_2, qi_tile_4_2, qi_tile_5_2, qi_tile_6_2, qi_tile_7_2},
};

static int qi_available(void) {
    const char *force = getenv("KILN_QGEMM"); /* noind: the quad path instead (tests) */
    if (force && strcmp(force, "noind") == 0) return 0;
    return kiln_qgemm4q_vnni512() != NULL;
}
#else
static int qi_available(void) { return 0; }
#endif

int kiln_qconvi_usable(const kiln_conv_attrs *a, int64_t c, int64_t m, int64_t h, int64_t w, int64_t ohw, int depthwise) {
    if (depthwise || a->group != 1 || ohw > QI_PIXELS || !qi_available()) return 0;
    /* 1x1: K = C is short, the transpositions and per-lane requantization weigh against the
     * quad path's 32-pixel tile waste only on small planes (MobileNetV2: 7x7, and 14x14 when
     * C > M); a strided one reads a quarter of the input or less. */
    if (a->kh == 1 && a->kw == 1 && (a->sh > 1 || a->sw > 1 || (ohw > 64 && (ohw > 256 || c <= m)))) return 0;
    /* the pixel-major input copy and the tap table: bounded (huge kernels or planes take the quad path) */
    return (double)h * (double)w * (double)(c + 3) < 0x1p30 && (double)ohw * (double)(a->kh * a->kw) <= 0x1p20;
}

size_t kiln_qconvi_weight_words(const kiln_conv_attrs *a, int64_t c, int64_t m) {
    int64_t cp = (c + 3) / 4 * 4, mp = (m + QI_BLOCK - 1) / QI_BLOCK * QI_BLOCK;
    return (size_t)(a->kh * a->kw * (cp / 4) * mp + 3 * mp + 1 + 2 * a->kh * a->kw); /* + tap offsets (i64) */
}

size_t kiln_qconvi_setup(qconv_params *p, int32_t *words, const int8_t *w) {
    const kiln_conv_attrs *a = &p->a;
    int64_t taps = a->kh * a->kw, cp = (p->c + 3) / 4 * 4, cq = cp / 4, mp = (p->m + QI_BLOCK - 1) / QI_BLOCK * QI_BLOCK;
    p->ind = 1;
    p->icp = cp;
    p->imp = mp;
    p->iw = words;
    p->irq = words + taps * cq * mp; /* bias, multipliers, shifts, each mp (padding: 0, 0, 1) */
    p->itapoff = (int64_t *)(void *)(p->irq + 3 * mp + (((uintptr_t)(p->irq + 3 * mp) % 8) ? 1 : 0));
    for (int64_t k = 0; k < taps; k++) p->itapoff[k] = ((k / a->kw) * a->dh * p->w + (k % a->kw) * a->dw) * cp;
    /* jobs: (image, chunk of 64 channels, group of ipix pixels); a plane splits into up to
     * four pixel groups when it has fewer than four chunks, so two threads share ResNet's
     * 64-channel layers (one thread: the weight blocks are reread per group, from L2) */
    int64_t chunks = (mp + QI_CHUNK - 1) / QI_CHUNK, tiles = (p->ohw + QI_TILE - 1) / QI_TILE;
    int64_t groups = chunks >= 4 ? 1 : (4 + chunks - 1) / chunks;
    if (groups > tiles / 4) groups = tiles / 4 > 1 ? tiles / 4 : 1;
    p->ipix = (tiles + groups - 1) / groups * QI_TILE;
    p->igroups = (p->ohw + p->ipix - 1) / p->ipix;
    p->nblocks = chunks * p->igroups;
    for (int64_t b = 0; b < mp / QI_BLOCK; b++)
        for (int64_t tap = 0; tap < taps; tap++)
            for (int64_t q = 0; q < cq; q++)
                for (int64_t l = 0; l < QI_BLOCK; l++) {
                    int64_t m = b * QI_BLOCK + l, v[4];
                    for (int u = 0; u < 4; u++) {
                        int64_t ci = 4 * q + u;
                        v[u] = m < p->m && ci < p->c ? w[(m * p->c + ci) * taps + tap] : 0;
                    }
                    words[((b * taps + tap) * cq + q) * QI_BLOCK + l] = kiln_qquad((int32_t)v[0], (int32_t)v[1], (int32_t)v[2], (int32_t)v[3]);
                }
    for (int64_t m = 0; m < mp; m++) {
        p->irq[m] = m < p->m ? p->bias[m] : 0;
        p->irq[mp + m] = m < p->m ? p->mult[m] : 0;
        p->irq[2 * mp + m] = m < p->m ? p->shift[m] : 1;
    }
    /* input rows (h w cp), the x_zp row (cp), the table (ohw taps pointers), the u8 block */
    return (size_t)(p->h * p->w * cp + cp + 64 + 8) + sizeof(const uint8_t *) * (size_t)(p->ohw * taps) +
           (size_t)(p->ipix * QI_CHUNK);
}

#ifdef QI_VNNI
/* The image's input as pixel-major rows and the tap table. */
static void qi_build(const qconv_params *p, const uint8_t *x, uint8_t *rows, const uint8_t **tab) {
    const kiln_conv_attrs *a = &p->a;
    int64_t hw = p->h * p->w, cp = p->icp, taps = a->kh * a->kw;
    uint8_t *zrow = rows + hw * cp;
    transpose(x, p->c, hw, hw, rows, cp);
    for (int64_t i = 0; i < hw && cp > p->c; i++) memset(rows + i * cp + p->c, 0, (size_t)(cp - p->c));
    memset(zrow, p->q.x_zp, (size_t)cp);
    int64_t ekh = (a->kh - 1) * a->dh, ekw = (a->kw - 1) * a->dw;
    for (int64_t oy = 0; oy < p->oh; oy++)
        for (int64_t ox = 0; ox < p->ow; ox++) {
            int64_t iy = oy * a->sh - a->pt, ix = ox * a->sw - a->pl;
            const uint8_t **t = tab + (oy * p->ow + ox) * taps;
            if (iy >= 0 && iy + ekh < p->h && ix >= 0 && ix + ekw < p->w) { /* every tap inside */
                const uint8_t *at = rows + (iy * p->w + ix) * cp;
                for (int64_t k = 0; k < taps; k++) t[k] = at + p->itapoff[k];
                continue;
            }
            for (int64_t ki = 0; ki < a->kh; ki++)
                for (int64_t kj = 0; kj < a->kw; kj++) {
                    int64_t ih = iy + ki * a->dh, iw = ix + kj * a->dw;
                    int inside = ih >= 0 && ih < p->h && iw >= 0 && iw < p->w;
                    t[ki * a->kw + kj] = inside ? rows + (ih * p->w + iw) * cp : zrow;
                }
        }
}

#endif

void kiln_qconvi_blocks(void *ctx, size_t begin, size_t end, uint32_t thread) {
#ifdef QI_VNNI
    const qconv_job *j = ctx;
    const qconv_params *p = j->p;
    int64_t taps = p->a.kh * p->a.kw, cq = p->icp / 4, mp = p->imp;
    uint8_t *rows = (uint8_t *)(j->ws + thread * j->ws_floats);
    uintptr_t tab_at = (uintptr_t)(rows + p->h * p->w * p->icp + p->icp + 64);
    const uint8_t **tab = (const uint8_t **)(tab_at + (8 - tab_at % 8) % 8);
    uint8_t *yb = (uint8_t *)(tab + p->ohw * taps);
    int64_t built = -1;
    for (size_t job = begin; job < end; job++) {
        int64_t n = (int64_t)job / p->nblocks, m0 = ((int64_t)job % p->nblocks) / p->igroups * QI_CHUNK;
        int64_t m1 = m0 + QI_CHUNK < mp ? m0 + QI_CHUNK : mp;
        int64_t q0 = ((int64_t)job % p->igroups) * p->ipix, q1 = q0 + p->ipix < p->ohw ? q0 + p->ipix : p->ohw;
        if (built != n) { qi_build(p, j->x + n * p->c * p->h * p->w, rows, tab); built = n; }
        for (int64_t b = m0; b < m1; b += QI_BLOCK) {
            int nv = p->m - b > 16 ? 2 : 1;
            qi_req rq = {p->irq + b, p->irq + mp + b, p->irq + 2 * mp + b, p->q.y_zp, p->q.y_min - p->q.y_zp, p->q.y_max - p->q.y_zp};
            const int32_t *wb = p->iw + b * taps * cq;
            for (int64_t p0 = q0; p0 < q1; p0 += QI_TILE) {
                int r = q1 - p0 < QI_TILE ? (int)(q1 - p0) : QI_TILE;
                qi_tiles[nv - 1][r - 1](taps, cq, tab + p0 * taps, wb, &rq, yb + (p0 - q0) * QI_CHUNK + (b - m0), QI_CHUNK);
            }
        }
        int64_t mend = m1 < p->m ? m1 : p->m;
        transpose(yb, q1 - q0, mend - m0, QI_CHUNK, j->y + (n * p->m + m0) * p->ohw + q0, p->ohw);
    }
#else
    (void)ctx; (void)begin; (void)end; (void)thread;
#endif
}
