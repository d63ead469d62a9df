/* qpool.c — QMAXPOOL: max pooling over H and W of an NCHW u8 tensor (an int8 model's
 * MaxPool between quantized ops: max commutes with the monotonic (de)quantization, so the
 * result keeps the input's scale and zero point and no float boundary is needed).
 *
 * Operands: x u8 [N,C,H,W]. Result: y u8 [N,C,OH,OW]. Attributes (40 bytes): i32 kernel_h,
 * kernel_w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h,
 * dilation_w. OH/OW may be the floor or the ceil form (ceil_mode), as POOL2D. Padding never
 * contributes; a window entirely in the padding yields 0.
 * Algorithm: per (image, channel) plane, split over threads; per output row, the max of the
 * window's input rows that exist goes into a row padded with zeros (0 never wins a max of
 * u8, so the padding needs no bounds), then each kernel column kj folds in that row's bytes
 * kj * dw + o * sw into a row buffer of whole 16-column vectors (then copied out): byte
 * maxes 16 columns at a time with SSE2 at stride 1 or 2 (stride 2 keeps the even bytes of
 * 32: a 0x00FF mask on the 16-bit lanes and a pack), the C loop otherwise. Narrow rows at
 * horizontal stride 1 (pl + w ≤ 64, ow ≤ 64: Inception's 3x3 stride-1 pools on 16x16 planes,
 * where the per-row calls above cost 5-10x the float pool) take an AVX-512 BW path when the
 * CPU has it: one zmm per output row (masked loads of the window's rows, byte max), stored at
 * offset pl of a zeroed buffer, then the max of kw loads at offsets kj·dw, one masked store.
 * Max is exact, so every path equals the loop. */
#include "common.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct qpool_params {
    int64_t kh, kw, sh, sw, pt, pl, dh, dw;
    int64_t planes, h, w, oh, ow;
    int64_t rowbytes;            /* the zero-padded row: pl zeros, w columns, zeros to every tap's last read */
    int narrow;                  /* the AVX-512 one-register-per-row path */
} qpool_params;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(KILN_NO_AVX512)
#define QPOOL_NARROW 1
#include <immintrin.h>
#include <stdlib.h>
#define QPOOL_AVX512 __attribute__((target("avx512f,avx512bw")))
#define QPOOL_NARROW_BUF 192

/* Usable for pl + w <= 64, ow <= 64, sw = 1 and (kw - 1) * dw + 64 <= QPOOL_NARROW_BUF. */
static int qpool_narrow_ok(int64_t w, int64_t ow, int64_t pl, int64_t kw, int64_t sw, int64_t dw) {
    const char *force = getenv("KILN_QGEMM");
    if (force && strcmp(force, "portable") == 0) return 0;
    __builtin_cpu_init();
    return sw == 1 && pl + w <= 64 && ow <= 64 && (kw - 1) * dw + 64 <= QPOOL_NARROW_BUF && __builtin_cpu_supports("avx512bw");
}

QPOOL_AVX512 static void qmaxpool_plane_narrow(const qpool_params *p, const uint8_t *in, uint8_t *out) {
    uint8_t buf[QPOOL_NARROW_BUF] __attribute__((aligned(64)));
    memset(buf, 0, sizeof buf); /* bytes outside [pl, pl + w) stay 0: the padding */
    const __mmask64 kin = p->w >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << p->w) - 1;
    const __mmask64 kout = p->ow >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << p->ow) - 1;
    for (int64_t oh = 0; oh < p->oh; oh++) {
        __m512i v = _mm512_setzero_si512();
        for (int64_t ki = 0; ki < p->kh; ki++) {
            int64_t ih = oh * p->sh - p->pt + ki * p->dh;
            if (ih >= 0 && ih < p->h) v = _mm512_max_epu8(v, _mm512_maskz_loadu_epi8(kin, in + ih * p->w));
        }
        _mm512_storeu_si512(buf + p->pl, v);
        __m512i m = _mm512_loadu_si512(buf);
        for (int64_t kj = 1; kj < p->kw; kj++) m = _mm512_max_epu8(m, _mm512_loadu_si512(buf + kj * p->dw));
        _mm512_mask_storeu_epi8(out + oh * p->ow, kout, m);
    }
}
#endif

KILN_SMALL_CODE static kiln_status check_qmaxpool(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    int32_t v[10];
    for (int i = 0; i < 10; i++) v[i] = kiln_rdi32(c->attr + 4 * i);
    int64_t kh = v[0], kw = v[1], sh = v[2], sw = v[3], pt = v[4], pl = v[5], pb = v[6], pr = v[7], dh = v[8], dw = v[9];
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1) return kiln_check_fail(c, "kernel, strides and dilations must be >= 1");
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return kiln_check_fail(c, "pads must be >= 0");
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_U8)) || (st = kiln_require_dtype(c, y, "result", KILN_U8))) return st;
    if (x->rank != 4 || y->rank != 4) return kiln_check_fail(c, "input and result must be rank 4");
    int64_t h = x->dims[2], w = x->dims[3], oh = y->dims[2], ow = y->dims[3];
    int64_t hp = h + pt + pb - ((kh - 1) * dh + 1), wp = w + pl + pr - ((kw - 1) * dw + 1);
    if (hp < 0 || wp < 0) return kiln_check_fail(c, "kernel is larger than the padded input");
    if (y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1] || oh < hp / sh + 1 || oh > kiln_ceil_div(hp, sh) + 1 ||
        ow < wp / sw + 1 || ow > kiln_ceil_div(wp, sw) + 1)
        return kiln_check_fail(c, "result shape does not match pooling of the input");
    qpool_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    *p = (qpool_params){kh, kw, sh, sw, pt, pl, dh, dw, x->dims[0] * x->dims[1], h, w, oh, ow, 0, 0};
#ifdef QPOOL_NARROW
    p->narrow = qpool_narrow_ok(w, ow, pl, kw, sw, dw);
#endif
    /* The taps read bytes up to (kw - 1) * dw + ow16 * sw + 32 of the padded row (whole
     * vectors over ow16 = ow rounded up to 16 columns, into a row buffer of ow16 bytes). */
    int64_t reach = (kw - 1) * dw + (ow + 15) / 16 * 16 * sw + 32;
    p->rowbytes = pl + w > reach ? pl + w : reach;
    kiln_need_workspace(c, (size_t)((p->rowbytes + (ow + 15) / 16 * 16 + 3) / 4));
    return KILN_OK;
}

/* out[o] = max(out[o], row[o * sw]) for o < n; row readable to byte n * sw + 32. */
static void fold_max(uint8_t *out, const uint8_t *row, int64_t n, int64_t sw) {
    int64_t o = 0;
#if defined(__SSE2__)
    if (sw == 1)
        for (; o + 16 <= n; o += 16)
            _mm_storeu_si128((__m128i *)(out + o), _mm_max_epu8(_mm_loadu_si128((const __m128i *)(out + o)),
                                                                 _mm_loadu_si128((const __m128i *)(row + o))));
    else if (sw == 2) { /* the even bytes of 32 */
        const __m128i even = _mm_set1_epi16(0xFF);
        for (; o + 16 <= n; o += 16) {
            const uint8_t *s = row + 2 * o;
            __m128i v = _mm_packus_epi16(_mm_and_si128(_mm_loadu_si128((const __m128i *)s), even),
                                         _mm_and_si128(_mm_loadu_si128((const __m128i *)(s + 16)), even));
            _mm_storeu_si128((__m128i *)(out + o), _mm_max_epu8(_mm_loadu_si128((const __m128i *)(out + o)), v));
        }
    }
#endif
    for (; o < n; o++)
        if (row[o * sw] > out[o]) out[o] = row[o * sw];
}

/* d[i] = max(d[i], s[i]) for i < n. */
static void max_rows(uint8_t *d, const uint8_t *s, int64_t n) {
    int64_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(d + i), _mm_max_epu8(_mm_loadu_si128((const __m128i *)(d + i)), _mm_loadu_si128((const __m128i *)(s + i))));
#endif
    for (; i < n; i++)
        if (s[i] > d[i]) d[i] = s[i];
}

typedef struct qpool_job { const qpool_params *p; const uint8_t *x; uint8_t *y; float *ws; size_t ws_floats; } qpool_job;

static void qmaxpool_planes(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qpool_job *j = ctx;
    const qpool_params *p = j->p;
    uint8_t *pad = (uint8_t *)(j->ws + thread * j->ws_floats), *mid = pad + p->pl, *acc = pad + p->rowbytes;
    int64_t ow16 = (p->ow + 15) / 16 * 16;
    memset(pad, 0, (size_t)p->rowbytes); /* 0 never wins a max: the padding, set once */
    for (size_t plane = begin; plane < end; plane++) {
        const uint8_t *in = j->x + (int64_t)plane * p->h * p->w;
        uint8_t *out = j->y + (int64_t)plane * p->oh * p->ow;
#ifdef QPOOL_NARROW
        if (p->narrow) {
            qmaxpool_plane_narrow(p, in, out);
            continue;
        }
#endif
        for (int64_t oh = 0; oh < p->oh; oh++, out += p->ow) {
            int rows = 0;
            for (int64_t ki = 0; ki < p->kh; ki++) {
                int64_t ih = oh * p->sh - p->pt + ki * p->dh;
                if (ih < 0 || ih >= p->h) continue;
                if (rows++ == 0) memcpy(mid, in + ih * p->w, (size_t)p->w);
                else max_rows(mid, in + ih * p->w, p->w);
            }
            if (rows == 0) memset(mid, 0, (size_t)p->w);
            memset(acc, 0, (size_t)ow16);
            for (int64_t kj = 0; kj < p->kw; kj++) fold_max(acc, pad + kj * p->dw, ow16, p->sw);
            memcpy(out, acc, (size_t)p->ow);
        }
    }
}

static void run_qmaxpool(const kiln_exec *e, const kiln_instr *ins) {
    const qpool_params *p = ins->params;
    qpool_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0), e->workspace, e->workspace_floats};
    if (e->threads > 1 && p->planes * p->oh * p->ow >= KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)p->planes, qmaxpool_planes, &j);
    else qmaxpool_planes(&j, 0, (size_t)p->planes, 0);
}

const kiln_kernel kiln_k_qmaxpool = {KILN_OP_QMAXPOOL, "qmaxpool", 40, 1, 1, 1, 1, 0, check_qmaxpool, run_qmaxpool, 0};
