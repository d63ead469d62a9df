/* conv.c — CONV2D: 2-D convolution, NCHW, as one GEMM per image and group.
 *
 * Operands: x f32 [N,C,H,W]; w f32 [M, C/group, kh, kw] (OIHW, which is exactly the
 * row-major [M, C/group*kh*kw] matrix the GEMM wants, so the compiler stores weights
 * as-is); optional bias f32 [M]. Results: y f32 [N,M,OH,OW]; scratch f32 with at least
 * (C/group*kh*kw) * (OH*OW) elements, optional for pointwise convs (1x1, stride 1, no
 * padding), where the input itself is the GEMM's right-hand matrix.
 * Algorithm, per image n and group g:
 * 1. im2col: row (ci, ki, kj) of the scratch matrix holds, for every output pixel, the
 *    input pixel that kernel tap sees (zero in the padding); rows are split over threads.
 * 2. Y_g[M/g, OH*OW] = W_g[M/g, K] x col[K, OH*OW] with sgemm (K = C/g*kh*kw). Large
 *    col matrices go in blocks of output rows (~1 MB each), so the block im2col just
 *    wrote is still in cache when the GEMM reads it.
 * 3. Epilogue per output channel: add the bias, apply the fused activation. */
#include "common.h"

kiln_status kiln_conv_attrs_read(kiln_check *c, kiln_conv_attrs *a) {
    const uint8_t *p = c->attr;
    int64_t v[11];
    for (int i = 0; i < 11; i++) v[i] = kiln_rdi32(p + 4 * i);
    a->kh = v[0]; a->kw = v[1]; a->sh = v[2]; a->sw = v[3]; a->pt = v[4]; a->pl = v[5];
    a->pb = v[6]; a->pr = v[7]; a->dh = v[8]; a->dw = v[9]; a->group = v[10];
    if (a->kh < 1 || a->kw < 1 || a->sh < 1 || a->sw < 1 || a->dh < 1 || a->dw < 1 || a->group < 1)
        return kiln_check_fail(c, "kernel, strides, dilations and group must be >= 1");
    if (a->pt < 0 || a->pl < 0 || a->pb < 0 || a->pr < 0) return kiln_check_fail(c, "pads must be >= 0");
    return kiln_check_act(c, p + 44, &a->act);
}

typedef struct conv_params {
    kiln_conv_attrs a;
    int64_t n, c, h, w, m, oh, ow, cg, mg, kdim, ohw;
    int pointwise;
} conv_params;

KILN_SMALL_CODE static kiln_status check_conv(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *b = kiln_operand(c, 2);
    const kiln_tdesc *y = kiln_result(c, 0), *col = kiln_result(c, 1);
    conv_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st = kiln_conv_attrs_read(c, &p->a);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, w, "weight", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) return kiln_check_fail(c, "input, weight and result must be rank 4");
    const kiln_conv_attrs *a = &p->a;
    p->n = x->dims[0]; p->c = x->dims[1]; p->h = x->dims[2]; p->w = x->dims[3]; p->m = w->dims[0];
    if (p->c % a->group || p->m % a->group) return kiln_check_fail(c, "channels are not divisible by group");
    p->cg = p->c / a->group;
    p->mg = p->m / a->group;
    if (w->dims[1] != p->cg || w->dims[2] != a->kh || w->dims[3] != a->kw)
        return kiln_check_fail(c, "weight shape does not match [M, C/group, kh, kw]");
    int64_t ekh = (a->kh - 1) * a->dh + 1, ekw = (a->kw - 1) * a->dw + 1;
    int64_t hp = p->h + a->pt + a->pb, wp = p->w + a->pl + a->pr;
    if (hp < ekh || wp < ekw) return kiln_check_fail(c, "kernel is larger than the padded input");
    p->oh = (hp - ekh) / a->sh + 1;
    p->ow = (wp - ekw) / a->sw + 1;
    if (y->dims[0] != p->n || y->dims[1] != p->m || y->dims[2] != p->oh || y->dims[3] != p->ow)
        return kiln_check_fail(c, "result shape does not match [N, M, %lld, %lld]", (long long)p->oh, (long long)p->ow);
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)p->m)) return kiln_check_fail(c, "bias must be f32 [M]");
    p->kdim = p->cg * a->kh * a->kw;
    p->ohw = p->oh * p->ow;
    p->pointwise = a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 && a->pt == 0 && a->pl == 0 && a->pb == 0 &&
                   a->pr == 0;
    if (!p->pointwise && !col) return kiln_check_fail(c, "needs an im2col scratch result");
    if (col && (col->dtype != KILN_F32 || col->count < (uint64_t)(p->kdim * p->ohw)))
        return kiln_check_fail(c, "scratch needs %lld f32 elements", (long long)(p->kdim * p->ohw));
    return kiln_check_gemm_dims(c, p->mg, p->ohw, p->kdim);
}

typedef struct im2col_job { const conv_params *p; const float *x; float *col; int64_t oh0, oh1; } im2col_job;

/* Rows [begin, end) of the col matrix for output rows [oh0, oh1); x points at the group's
 * first input channel; each col row holds (oh1 - oh0) * OW values. */
static void im2col_rows(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const im2col_job *j = ctx;
    const conv_params *p = j->p;
    const kiln_conv_attrs *a = &p->a;
    (void)thread;
    for (size_t r = begin; r < end; r++) {
        int64_t kj = (int64_t)r % a->kw, ki = ((int64_t)r / a->kw) % a->kh, ci = (int64_t)r / (a->kw * a->kh);
        const float *plane = j->x + ci * p->h * p->w;
        float *dst = j->col + (int64_t)r * (j->oh1 - j->oh0) * p->ow;
        int64_t off = kj * a->dw - a->pl;
        int64_t lo = kiln_ceil_div(-off, a->sw), hi = kiln_floor_div(p->w - 1 - off, a->sw) + 1;
        if (lo < 0) lo = 0;
        if (hi > p->ow) hi = p->ow;
        if (hi < lo) hi = lo;
        for (int64_t oh = j->oh0; oh < j->oh1; oh++, dst += p->ow) {
            int64_t ih = oh * a->sh - a->pt + ki * a->dh;
            if (ih < 0 || ih >= p->h) {
                memset(dst, 0, sizeof(float) * (size_t)p->ow);
                continue;
            }
            const float *row = plane + ih * p->w;
            for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
            if (a->sw == 1 && hi > lo) memcpy(dst + lo, row + lo + off, sizeof(float) * (size_t)(hi - lo));
            else for (int64_t ow = lo; ow < hi; ow++) dst[ow] = row[ow * a->sw + off];
            for (int64_t ow = hi; ow < p->ow; ow++) dst[ow] = 0.0f;
        }
    }
}

typedef struct epilogue_job { const float *bias; float *y; int64_t plane; const kiln_act *act; } epilogue_job;

static void epilogue_rows(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const epilogue_job *j = ctx;
    (void)thread;
    for (size_t m = begin; m < end; m++) {
        float *row = j->y + (int64_t)m * j->plane;
        if (j->bias) {
            float bv = j->bias[m];
            for (int64_t i = 0; i < j->plane; i++) row[i] += bv;
        }
        kiln_apply_act(j->act, row, (size_t)j->plane);
    }
}

void kiln_conv_epilogue(const kiln_exec *e, const float *bias, float *y, int64_t channels, int64_t plane,
                        const kiln_act *act) {
    if (!bias && act->func == KILN_UNARY_IDENTITY) return;
    epilogue_job j = {bias, y, plane, act};
    if (e->threads > 1 && channels * plane >= 2 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)channels, epilogue_rows, &j);
    else epilogue_rows(&j, 0, (size_t)channels, 0);
}

/* Output rows per im2col block: a col matrix over 4 MB is cut into blocks of about 1 MB
 * (at least 256 columns each, so the GEMMs stay efficient), which are still in cache when
 * the GEMM reads what im2col just wrote. */
static int64_t rows_per_block(const conv_params *p) {
    int64_t row_bytes = p->kdim * p->ow * (int64_t)sizeof(float);
    if (row_bytes * p->oh <= ((int64_t)4 << 20)) return p->oh;
    int64_t rows = ((int64_t)1 << 20) / (row_bytes ? row_bytes : 1), min_rows = (256 + p->ow - 1) / p->ow;
    if (rows < min_rows) rows = min_rows;
    return rows > p->oh ? p->oh : rows;
}

static void run_conv(const kiln_exec *e, const kiln_instr *ins) {
    const conv_params *p = ins->params;
    const float *x = KILN_IN(e, ins, 0), *w = KILN_IN(e, ins, 1);
    const float *bias = ins->nin < 3 || ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2);
    float *y = KILN_OUT(e, ins, 0);
    float *col = ins->nout > 1 && ins->ids[ins->nin + 1] != KILN_NO_TENSOR ? KILN_OUT(e, ins, 1) : NULL;
    int64_t block = rows_per_block(p);
    for (int64_t n = 0; n < p->n; n++) {
        const float *xn = x + n * p->c * p->h * p->w;
        float *yn = y + n * p->m * p->ohw;
        for (int64_t g = 0; g < p->a.group; g++) {
            const float *xg = xn + g * p->cg * p->h * p->w, *wg = w + g * p->mg * p->kdim;
            float *yg = yn + g * p->mg * p->ohw;
            if (p->pointwise) {
                kiln_sgemm(e, 0, 0, (size_t)p->mg, (size_t)p->ohw, (size_t)p->kdim, 1.0f, wg, (size_t)p->kdim, xg,
                           (size_t)p->ohw, 0.0f, yg, (size_t)p->ohw);
                continue;
            }
            for (int64_t oh0 = 0; oh0 < p->oh; oh0 += block) {
                int64_t oh1 = oh0 + block < p->oh ? oh0 + block : p->oh, cols = (oh1 - oh0) * p->ow;
                im2col_job j = {p, xg, col, oh0, oh1};
                if (e->threads > 1 && p->kdim * cols >= 2 * KILN_PARALLEL_GRAIN)
                    kiln_parallel_for(e, (size_t)p->kdim, im2col_rows, &j);
                else im2col_rows(&j, 0, (size_t)p->kdim, 0);
                kiln_sgemm(e, 0, 0, (size_t)p->mg, (size_t)cols, (size_t)p->kdim, 1.0f, wg, (size_t)p->kdim, col,
                           (size_t)cols, 0.0f, yg + oh0 * p->ow, (size_t)p->ohw);
            }
        }
        kiln_conv_epilogue(e, bias, yn, p->m, p->ohw, &p->a.act);
    }
}

const kiln_kernel kiln_k_conv2d = {KILN_OP_CONV2D, "conv2d", KILN_CONV_ATTR_SIZE, 2, 3, 1, 2, 0, check_conv, run_conv, 0};
