/* qpool.c — QMAXPOOL: max pooling over H and W of an NCHW u8 tensor (an int8 model's
 * MaxPool between quantized ops: max commutes with the monotonic (de)quantization, so the
 * result keeps the input's scale and zero point and no float boundary is needed).
 *
 * Operands: x u8 [N,C,H,W]. Result: y u8 [N,C,OH,OW]. Attributes (40 bytes): i32 kernel_h,
 * kernel_w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h,
 * dilation_w. OH/OW may be the floor or the ceil form (ceil_mode), as POOL2D. Padding never
 * contributes; a window entirely in the padding yields 0.
 * Algorithm: per (image, channel) plane, split over threads; per output row, the row starts
 * at 0 and each kernel tap (ki, kj) whose input row exists folds in its input columns over
 * the output columns where they exist ([lo, hi) per kj, computed once per call): a byte max
 * that runs 16 columns at a time with SSE2 at stride 1 or 2 in W (stride 2 keeps the even
 * bytes of 32: a 0x00FF mask on the 16-bit lanes and a pack), the C loop otherwise. Max is
 * exact, so every path equals the loop. */
#include "common.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define QPOOL_TAPS_MAX 32

typedef struct qpool_params {
    int64_t kh, kw, sh, sw, pt, pl, dh, dw;
    int64_t planes, h, w, oh, ow;
    int64_t lo[QPOOL_TAPS_MAX], hi[QPOOL_TAPS_MAX]; /* output columns where tap kj reads an input column */
} qpool_params;

KILN_SMALL_CODE static kiln_status check_qmaxpool(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    int32_t v[10];
    for (int i = 0; i < 10; i++) v[i] = kiln_rdi32(c->attr + 4 * i);
    int64_t kh = v[0], kw = v[1], sh = v[2], sw = v[3], pt = v[4], pl = v[5], pb = v[6], pr = v[7], dh = v[8], dw = v[9];
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1) return kiln_check_fail(c, "kernel, strides and dilations must be >= 1");
    if (kw > QPOOL_TAPS_MAX) return kiln_check_fail(c, "kernel_w must be at most %d", QPOOL_TAPS_MAX);
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
    *p = (qpool_params){kh, kw, sh, sw, pt, pl, dh, dw, x->dims[0] * x->dims[1], h, w, oh, ow, {0}, {0}};
    for (int64_t kj = 0; kj < kw; kj++) {
        int64_t off = kj * dw - pl;
        int64_t lo = kiln_ceil_div(-off, sw), hi = kiln_floor_div(w - 1 - off, sw) + 1;
        p->lo[kj] = lo < 0 ? 0 : lo;
        p->hi[kj] = hi > ow ? ow : hi < p->lo[kj] ? p->lo[kj] : hi;
    }
    return KILN_OK;
}

/* out[o] = max(out[o], row[o * sw + off]) for o in [lo, hi) (those reads inside the row of
 * w bytes). */
static void fold_max(uint8_t *out, const uint8_t *row, int64_t w, int64_t lo, int64_t hi, int64_t sw, int64_t off) {
    int64_t o = lo;
#if defined(__SSE2__)
    if (sw == 1)
        for (; o + 16 <= hi; o += 16)
            _mm_storeu_si128((__m128i *)(out + o), _mm_max_epu8(_mm_loadu_si128((const __m128i *)(out + o)),
                                                                 _mm_loadu_si128((const __m128i *)(row + o + off))));
    else if (sw == 2) { /* 32 bytes from 2 o + off, all inside the row */
        const __m128i even = _mm_set1_epi16(0xFF);
        for (; o + 16 <= hi && 2 * o + off + 32 <= w; o += 16) {
            const uint8_t *s = row + 2 * o + off;
            __m128i v = _mm_packus_epi16(_mm_and_si128(_mm_loadu_si128((const __m128i *)s), even),
                                         _mm_and_si128(_mm_loadu_si128((const __m128i *)(s + 16)), even));
            _mm_storeu_si128((__m128i *)(out + o), _mm_max_epu8(_mm_loadu_si128((const __m128i *)(out + o)), v));
        }
    }
#endif
    for (; o < hi; o++) {
        uint8_t v = row[o * sw + off];
        if (v > out[o]) out[o] = v;
    }
}

typedef struct qpool_job { const qpool_params *p; const uint8_t *x; uint8_t *y; } qpool_job;

static void qmaxpool_planes(void *ctx, size_t begin, size_t end, uint32_t thread) {
    (void)thread;
    const qpool_job *j = ctx;
    const qpool_params *p = j->p;
    for (size_t plane = begin; plane < end; plane++) {
        const uint8_t *in = j->x + (int64_t)plane * p->h * p->w;
        uint8_t *out = j->y + (int64_t)plane * p->oh * p->ow;
        memset(out, 0, (size_t)(p->oh * p->ow));
        for (int64_t oh = 0; oh < p->oh; oh++, out += p->ow)
            for (int64_t ki = 0; ki < p->kh; ki++) {
                int64_t ih = oh * p->sh - p->pt + ki * p->dh;
                if (ih < 0 || ih >= p->h) continue;
                for (int64_t kj = 0; kj < p->kw; kj++)
                    fold_max(out, in + ih * p->w, p->w, p->lo[kj], p->hi[kj], p->sw, kj * p->dw - p->pl);
            }
    }
}

static void run_qmaxpool(const kiln_exec *e, const kiln_instr *ins) {
    const qpool_params *p = ins->params;
    qpool_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0)};
    if (e->threads > 1 && p->planes * p->oh * p->ow >= KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)p->planes, qmaxpool_planes, &j);
    else qmaxpool_planes(&j, 0, (size_t)p->planes, 0);
}

const kiln_kernel kiln_k_qmaxpool = {KILN_OP_QMAXPOOL, "qmaxpool", 40, 1, 1, 1, 1, 0, check_qmaxpool, run_qmaxpool, 0};
