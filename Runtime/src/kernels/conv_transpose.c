/* conv_transpose.c — CONV_TRANSPOSE2D: transposed 2-D convolution via GEMM + col2im.
 *
 * Operands: x f32 [N,C,H,W]; w f32 [C, M/group, kh, kw] (ONNX layout, stored as-is: per
 * group a row-major [C/group, M/group*kh*kw] matrix); optional bias f32 [M].
 * Results: y f32 [N,M,OH,OW] with OH = sh*(H-1) + output_padding + (kh-1)*dh + 1 - pt - pb
 * (the result shape carries output_padding); scratch f32 with at least
 * (M/group*kh*kw) * (H*W) elements. Attributes: the conv block.
 * Algorithm, per image and group:
 * 1. col[M/g*kh*kw, H*W] = W_g^T x X_g (one sgemm, A transposed).
 * 2. col2im: y[mo][ih*sh - pt + ki*dh][iw*sw - pl + kj*dw] += col[(mo,ki,kj)][(ih,iw)],
 *    skipping positions outside the output; output channels are split over threads
 *    (each owns its plane, so no two threads add into the same element). Output rows up
 *    to 1024 wide are built one at a time in stride phases (col2im_phased).
 * 3. y starts as the bias (or zero); the fused activation runs last.
 * Unless the kernel is over 16 taps a side or the padding is huge, the direct per-phase
 * kernel (conv_transpose_direct.c) replaces steps 1-3 (the scratch then stays unused). */
#include "conv_transpose_direct.h"

typedef struct ct_params {
    kiln_conv_attrs a;
    int64_t n, c, h, w, m, oh, ow, cg, mg, rows, hw;
    int direct;                  /* per-phase direct path (conv_transpose_direct.c) */
    ctd_geom ctd;
    float *wr;                   /* its weights [C, kh*kw, M/g], in the params block */
} ct_params;

KILN_SMALL_CODE static kiln_status check_ct(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *b = kiln_operand(c, 2);
    const kiln_tdesc *y = kiln_result(c, 0), *col = kiln_result(c, 1);
    ct_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st = kiln_conv_attrs_read(c, &p->a);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, w, "weight", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)) || (st = kiln_require_dtype(c, col, "scratch", KILN_F32)))
        return st;
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) return kiln_check_fail(c, "input, weight and result must be rank 4");
    const kiln_conv_attrs *a = &p->a;
    p->n = x->dims[0]; p->c = x->dims[1]; p->h = x->dims[2]; p->w = x->dims[3];
    if (w->dims[0] != p->c || p->c % a->group) return kiln_check_fail(c, "weight dim 0 must equal C, divisible by group");
    p->cg = p->c / a->group;
    p->mg = w->dims[1];
    p->m = p->mg * a->group;
    if (w->dims[2] != a->kh || w->dims[3] != a->kw) return kiln_check_fail(c, "weight kernel dims do not match");
    int64_t base_h = a->sh * (p->h - 1) + (a->kh - 1) * a->dh + 1 - a->pt - a->pb;
    int64_t base_w = a->sw * (p->w - 1) + (a->kw - 1) * a->dw + 1 - a->pl - a->pr;
    p->oh = y->dims[2];
    p->ow = y->dims[3];
    int64_t maxh = a->sh > a->dh ? a->sh : a->dh, maxw = a->sw > a->dw ? a->sw : a->dw;
    if (y->dims[0] != p->n || y->dims[1] != p->m || p->oh < base_h || p->oh >= base_h + maxh || p->ow < base_w ||
        p->ow >= base_w + maxw || p->oh < 1 || p->ow < 1)
        return kiln_check_fail(c, "result shape does not match [N, M, %lld(+pad), %lld(+pad)]", (long long)base_h,
                               (long long)base_w);
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)p->m)) return kiln_check_fail(c, "bias must be f32 [M]");
    p->rows = p->mg * a->kh * a->kw;
    p->hw = p->h * p->w;
    if (col->count < (uint64_t)(p->rows * p->hw))
        return kiln_check_fail(c, "scratch needs %lld f32 elements", (long long)(p->rows * p->hw));
    /* The direct path whenever its padded input copy is small and the weight a constant
     * (repacked [C, kh*kw, M/g] right after the params; the scratch stays unused). */
    p->direct = w->storage == KILN_STORAGE_CONSTANT && w->data &&
                kiln_ctd_setup(a, p->cg, p->mg, p->h, p->w, p->oh, p->ow, &p->ctd);
    if (p->direct) {
        ct_params q = *p;
        size_t head = (sizeof q + 63) / 64 * 64, n = kiln_ctd_packed_floats(w->count);
        if (n > (SIZE_MAX - head - 64) / sizeof(float)) return kiln_check_fail(c, "weight is too large");
        uint8_t *mem = kiln_params_alloc(c, head + 64 + n * sizeof(float));
        if (!mem) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory for the repacked weights");
        p = (ct_params *)(void *)mem;
        *p = q;
        p->wr = (float *)(void *)(mem + head + (64 - (uintptr_t)(mem + head) % 64) % 64);
        kiln_ctd_pack(w->data, p->c, p->mg, p->a.kh * p->a.kw, p->wr);
        kiln_need_workspace(c, p->ctd.ws_floats);
    }
    return kiln_check_gemm_dims(c, p->rows, p->hw, p->cg);
}

#define COL_TAPS_MAX 16
typedef struct col2im_job { const ct_params *p; const float *col, *bias; float *y; int64_t g; } col2im_job;

static void col2im_channels(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const col2im_job *j = ctx;
    const ct_params *p = j->p;
    const kiln_conv_attrs *a = &p->a;
    (void)thread;
    /* the [lo, hi) input columns of every kernel column (divisions hoisted out of the loops) */
    int64_t los[COL_TAPS_MAX], his[COL_TAPS_MAX];
    for (int64_t kj = 0; kj < a->kw && kj < COL_TAPS_MAX; kj++) {
        int64_t off = kj * a->dw - a->pl;
        int64_t lo = kiln_ceil_div(-off, a->sw), hi = kiln_floor_div(p->ow - 1 - off, a->sw) + 1;
        los[kj] = lo < 0 ? 0 : lo;
        his[kj] = hi > p->w ? p->w : hi;
    }
    for (size_t mo = begin; mo < end; mo++) {
        int64_t mch = j->g * p->mg + (int64_t)mo;
        float *plane = j->y + mch * p->oh * p->ow;
        float bias = j->bias ? j->bias[mch] : 0.0f;
        for (int64_t i = 0; i < p->oh * p->ow; i++) plane[i] = bias;
        for (int64_t ki = 0; ki < a->kh; ki++)
            for (int64_t kj = 0; kj < a->kw; kj++) {
                const float *crow = j->col + (((int64_t)mo * a->kh + ki) * a->kw + kj) * p->hw;
                int64_t off = kj * a->dw - a->pl, lo, hi;
                if (kj < COL_TAPS_MAX) {
                    lo = los[kj];
                    hi = his[kj];
                } else {
                    lo = kiln_ceil_div(-off, a->sw);
                    hi = kiln_floor_div(p->ow - 1 - off, a->sw) + 1;
                    if (lo < 0) lo = 0;
                    if (hi > p->w) hi = p->w;
                }
                for (int64_t ih = 0; ih < p->h; ih++) {
                    int64_t oh = ih * a->sh - a->pt + ki * a->dh;
                    if (oh < 0 || oh >= p->oh) continue;
                    float *restrict orow = plane + oh * p->ow;
                    const float *restrict src = crow + ih * p->w;
                    if (a->sw == 1) for (int64_t iw = lo; iw < hi; iw++) orow[iw + off] += src[iw];
                    else if (a->sw == 2) for (int64_t iw = lo; iw < hi; iw++) orow[2 * iw + off] += src[iw];
                    else for (int64_t iw = lo; iw < hi; iw++) orow[iw * a->sw + off] += src[iw];
                }
            }
    }
}

/* col2im by output rows (used when the stack tables below fit): the output row is built
 * in `sw` phase rows (phase f holds columns f, f+sw, ...), where every tap's input row adds
 * at unit stride (a vectorizable add, no strided read-modify-write of the output), then
 * the phases interleave into the output row. */
#define PHASE_ROW_MAX 1024
#define ROW_TAPS_MAX 2048
static int col2im_phased_fits(const ct_params *p) {
    const kiln_conv_attrs *a = &p->a;
    return a->kw <= COL_TAPS_MAX && p->ow + a->sw <= PHASE_ROW_MAX && p->oh * a->kh <= ROW_TAPS_MAX;
}

static void col2im_phased(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const col2im_job *j = ctx;
    const ct_params *p = j->p;
    const kiln_conv_attrs *a = &p->a;
    (void)thread;
    int64_t sw = a->sw, L = (p->ow + sw - 1) / sw, los[COL_TAPS_MAX], his[COL_TAPS_MAX], at[COL_TAPS_MAX];
    for (int64_t kj = 0; kj < a->kw; kj++) {
        int64_t off = kj * a->dw - a->pl;
        int64_t lo = kiln_ceil_div(-off, sw), hi = kiln_floor_div(p->ow - 1 - off, sw) + 1;
        los[kj] = lo < 0 ? 0 : lo;
        his[kj] = hi > p->w ? p->w : hi;
        int64_t q = kiln_floor_div(off, sw);
        at[kj] = (off - q * sw) * L + q; /* phase row (off mod sw), shifted by q */
    }
    int32_t ihs[ROW_TAPS_MAX]; /* input row of (oh, ki), or -1 */
    for (int64_t oh = 0; oh < p->oh; oh++)
        for (int64_t ki = 0; ki < a->kh; ki++) {
            int64_t n = oh + a->pt - ki * a->dh;
            ihs[oh * a->kh + ki] = (n >= 0 && n % a->sh == 0 && n / a->sh < p->h) ? (int32_t)(n / a->sh) : -1;
        }
    float ph[PHASE_ROW_MAX];
    for (size_t mo = begin; mo < end; mo++) {
        int64_t mch = j->g * p->mg + (int64_t)mo;
        float *plane = j->y + mch * p->oh * p->ow;
        float bias = j->bias ? j->bias[mch] : 0.0f;
        for (int64_t oh = 0; oh < p->oh; oh++) {
            for (int64_t i = 0; i < sw * L; i++) ph[i] = bias;
            for (int64_t ki = 0; ki < a->kh; ki++) {
                int64_t ih = ihs[oh * a->kh + ki];
                if (ih < 0) continue;
                const float *ctap = j->col + ((int64_t)mo * a->kh + ki) * a->kw * p->hw + ih * p->w;
                for (int64_t kj = 0; kj < a->kw; kj++) {
                    const float *src = ctap + kj * p->hw;
                    int64_t base = at[kj]; /* may be negative; base + iw >= 0 for iw >= lo */
                    for (int64_t iw = los[kj]; iw < his[kj]; iw++) ph[base + iw] += src[iw];
                }
            }
            float *orow = plane + oh * p->ow;
            if (sw == 1) {
                memcpy(orow, ph, sizeof(float) * (size_t)p->ow);
            } else {
                for (int64_t f = 0; f < sw; f++)
                    for (int64_t t = 0; t * sw + f < p->ow; t++) orow[t * sw + f] = ph[f * L + t];
            }
        }
    }
}

/* col2im of a 1x1 input, undilated: every output pixel is at most one col entry. */
static void col2im_single(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const col2im_job *j = ctx;
    const ct_params *p = j->p;
    const kiln_conv_attrs *a = &p->a;
    (void)thread;
    for (size_t mo = begin; mo < end; mo++) {
        int64_t mch = j->g * p->mg + (int64_t)mo;
        float *plane = j->y + mch * p->oh * p->ow, bias = j->bias ? j->bias[mch] : 0.0f;
        const float *taps = j->col + (int64_t)mo * a->kh * a->kw;
        for (int64_t oh = 0; oh < p->oh; oh++) {
            int64_t ki = oh + a->pt;
            for (int64_t ow = 0; ow < p->ow; ow++) {
                int64_t kj = ow + a->pl;
                plane[oh * p->ow + ow] = bias + (ki < a->kh && kj < a->kw ? taps[ki * a->kw + kj] : 0.0f);
            }
        }
    }
}

static void run_ct(const kiln_exec *e, const kiln_instr *ins) {
    const ct_params *p = ins->params;
    const float *x = KILN_IN(e, ins, 0), *w = KILN_IN(e, ins, 1);
    const float *bias = ins->nin < 3 || ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2);
    float *y = KILN_OUT(e, ins, 0), *col = KILN_OUT(e, ins, 1);
    for (int64_t n = 0; n < p->n; n++) {
        float *yn = y + n * p->m * p->oh * p->ow;
        for (int64_t g = 0; g < p->a.group; g++) {
            const float *xg = x + (n * p->c + g * p->cg) * p->hw;
            if (p->direct) {
                kiln_ctd_run(e, &p->a, &p->ctd, p->cg, p->mg, p->h, p->w, p->oh, p->ow, xg, p->wr + g * p->cg * p->rows,
                             bias ? bias + g * p->mg : NULL, yn + g * p->mg * p->oh * p->ow, e->workspace);
                continue;
            }
            kiln_sgemm(e, 1, 0, (size_t)p->rows, (size_t)p->hw, (size_t)p->cg, 1.0f, w + g * p->cg * p->rows,
                       (size_t)p->rows, xg, (size_t)p->hw, 0.0f, col, (size_t)p->hw);
            col2im_job j = {p, col, bias, yn, g};
            kiln_range_fn fn = p->hw == 1 && p->a.dh == 1 && p->a.dw == 1 ? col2im_single
                               : col2im_phased_fits(p)                      ? col2im_phased
                                                                            : col2im_channels;
            if (e->threads > 1 && p->rows * p->hw >= 2 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)p->mg, fn, &j);
            else fn(&j, 0, (size_t)p->mg, 0);
        }
        kiln_conv_epilogue(e, NULL, yn, p->m, p->oh * p->ow, &p->a.act);
    }
}

const kiln_kernel kiln_k_conv_transpose2d = {KILN_OP_CONV_TRANSPOSE2D, "conv_transpose2d", KILN_CONV_ATTR_SIZE, 2, 3, 2, 2,
                                             0, check_ct, run_ct, 0};
