/* qconv.c — QCONV2D: 2-D convolution on u8 activations and i8 weights, int32
 * accumulation, requantized to u8 (QLinearConv semantics with compile-time multipliers).
 *
 * Operands: x u8 [N,C,H,W]; w i8 [M, C/group, kh, kw] (constant); requant i32 [2, M]
 * (constant: per output channel multiplier, then shift); optional bias i32 [M] (constant).
 * Result: y u8 [N,M,OH,OW]. Attributes (72 bytes): the conv block (act must be 0), then
 * i32 x_zp, y_zp, y_min, y_max. y = clamp(y_zp + requant(sum((x - x_zp) * w) + bias),
 * y_min, y_max); padding reads as x_zp (real zero). A fused ReLU/clip is the clamp.
 * Algorithm: depthwise (group == C, one input channel per group) runs directly per
 * output plane: with AVX-512 VNNI and kernels up to 4 wide (stride 1 or 2, no horizontal
 * dilation), on a zero-point-padded copy of the input plane, one quad dot product per
 * kernel row (qdw.c; with VBMI requantized in registers, else into an int32 row first);
 * otherwise one tap at a time into an int32 row. Otherwise, with AVX-512 VNNI and group 1 on
 * planes up to 4096 pixels (1x1: small planes only), the channel-vector path of qconvi.c
 * (pixel-major input, a tap table, output channels along the vectors). Otherwise, when the CPU has a
 * dot-product core (kiln_qgemm4_select: AVX-512 VNNI, AVX-VNNI, NEON), the quad path of
 * qconv4.c (phase planes instead of im2col, requantization fused into the VNNI tiles).
 * Else, per image, group and block of output pixels (sized so the packed block stays in
 * L2): im2col two kernel taps at a time into u8 rows (a 1x1 stride-1 unpadded conv reads
 * the input rows directly), interleave them as i16 pairs (qgemm.h's B layout), run the
 * GEMM core against the weights packed at load (with bias - x_zp * sum(w) folded in),
 * requantize. */
#include "qconv.h"

#include <string.h>


KILN_SMALL_CODE static kiln_status check_qconv(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *rq = kiln_operand(c, 2), *b = kiln_operand(c, 3);
    const kiln_tdesc *y = kiln_result(c, 0);
    kiln_conv_attrs a;
    kiln_qparams q;
    kiln_status st = kiln_conv_attrs_read(c, &a);
    if (st == KILN_OK) st = kiln_qparams_read(c, c->attr + KILN_CONV_ATTR_SIZE, &q);
    if (st != KILN_OK) return st;
    if (a.act.func != 0) return kiln_check_fail(c, "the activation field must be 0 (clamping is y_min/y_max)");
    if ((st = kiln_require_dtype(c, x, "input", KILN_U8)) || (st = kiln_require_dtype(c, w, "weight", KILN_I8)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_U8)))
        return st;
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) return kiln_check_fail(c, "input, weight and result must be rank 4");
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], wd = x->dims[3], m = w->dims[0];
    if (ch % a.group || m % a.group) return kiln_check_fail(c, "channels are not divisible by group");
    int64_t cg = ch / a.group, mg = m / a.group;
    if (w->dims[1] != cg || w->dims[2] != a.kh || w->dims[3] != a.kw)
        return kiln_check_fail(c, "weight shape does not match [M, C/group, kh, kw]");
    int64_t ekh = (a.kh - 1) * a.dh + 1, ekw = (a.kw - 1) * a.dw + 1, hp = h + a.pt + a.pb, wp = wd + a.pl + a.pr;
    if (hp < ekh || wp < ekw) return kiln_check_fail(c, "kernel is larger than the padded input");
    int64_t oh = (hp - ekh) / a.sh + 1, ow = (wp - ekw) / a.sw + 1;
    if (y->dims[0] != n || y->dims[1] != m || y->dims[2] != oh || y->dims[3] != ow)
        return kiln_check_fail(c, "result shape does not match [N, M, %lld, %lld]", (long long)oh, (long long)ow);
    if (b && (b->dtype != KILN_I32 || b->count != (uint64_t)m)) return kiln_check_fail(c, "bias must be i32 [M]");
    int64_t kdim = cg * a.kh * a.kw, kk = (kdim + 1) / 2;
    if (kdim >= 65536) return kiln_check_fail(c, "C/group * kh * kw must be below 65536");
    int depthwise = cg == 1 && a.group == ch, ind = kiln_qconvi_usable(&a, ch, m, h, wd, oh * ow, depthwise);
    kiln_qgemm4_fn gemm4 = depthwise || ind ? NULL : kiln_qgemm4_select();
    /* The quad path's phase planes hold cg * (sh * ceil(hp / sh)) * (sw * ceil(wp / sw)) bytes:
     * strides far beyond the input (a malformed plan) would overflow that; the pair path has none. */
    if (gemm4 && (double)cg * (double)(a.sh * ((hp + a.sh - 1) / a.sh)) * (double)(a.sw * ((wp + a.sw - 1) / a.sw)) > 0x1p40)
        gemm4 = NULL;
    kiln_qdw_row_fn dwrow = depthwise && a.kw <= 4 && a.dw == 1 && a.sw <= 2 ? kiln_qdw_row_vnni512() : NULL;
    int64_t kq = gemm4 ? (kdim + 3) / 4 : 0;
    size_t size = sizeof(qconv_params) + sizeof(int64_t) * (size_t)(4 * kq) +
                  sizeof(int32_t) * (size_t)(3 * m + (dwrow ? m * a.kh : depthwise || ind ? 0 : gemm4 ? m * kq : m * kk)) +
                  (ind ? sizeof(int32_t) * kiln_qconvi_weight_words(&a, ch, m) : 0);
    qconv_params *p = kiln_params_alloc(c, size);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    int direct = a.kh == 1 && a.kw == 1 && a.sh == 1 && a.sw == 1 && !a.pt && !a.pb && !a.pl && !a.pr;
    *p = (qconv_params){a, q, n, ch, h, wd, m, oh, ow, cg, mg, kdim, kk, oh * ow, 0, 0, m / ch, kq, gemm4, kiln_qpack4_select(), dwrow, 0, 0, NULL, depthwise, direct,
                        kiln_qgemm_select(), kiln_qpack_select(), kiln_qrequant_row_select(), kiln_qdw_tap_select(), NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL, dwrow ? kiln_qdw_rowq_select() : NULL, NULL,
                        dwrow ? kiln_qdw_planeq_select() : NULL, 0, 0, 0, 0, NULL, NULL, NULL, 0, 0};
    p->tapoff = (int64_t *)(p + 1);
    p->mult = (int32_t *)(p->tapoff + 4 * kq);
    p->shift = p->mult + m;
    p->bias = p->shift + m;
    p->apack = depthwise ? NULL : p->bias + m;
    p->wq = dwrow ? p->bias + m : NULL;
    if ((st = kiln_qrequant_read(c, rq, m, p->mult, p->shift))) return st;
    const int8_t *wd8 = kiln_qconstant(c, w, "weight");
    const uint8_t *bd = b ? kiln_qconstant(c, b, "bias") : NULL;
    if (!wd8 || (b && !bd)) return KILN_ERR_MALFORMED;
    p->wraw = wd8;
    for (int64_t i = 0; i < m; i++) {
        int32_t sum = 0;
        const int8_t *wi = wd8 + i * kdim;
        for (int64_t k = 0; k < kdim; k++) sum += wi[k];
        int32_t raw = bd ? kiln_rdi32(bd + 4 * i) : 0;
        p->bias[i] = depthwise && !dwrow ? raw : (int32_t)((uint32_t)raw - (uint32_t)(q.x_zp * sum));
        for (int64_t ki = 0; dwrow && ki < a.kh; ki++) {
            const int8_t *r = wi + ki * a.kw;
            p->wq[i * a.kh + ki] = kiln_qquad(r[0], a.kw > 1 ? r[1] : 0, a.kw > 2 ? r[2] : 0, a.kw > 3 ? r[3] : 0);
        }
        if (gemm4)
            for (int64_t t = 0; t < kq; t++) {
                int32_t v[4];
                for (int u = 0; u < 4; u++) v[u] = 4 * t + u < kdim ? wi[4 * t + u] : 0;
                p->apack[i * kq + t] = kiln_qquad(v[0], v[1], v[2], v[3]);
            }
        else if (!depthwise && !ind)
            for (int64_t t = 0; t < kk; t++)
                p->apack[i * kk + t] = kiln_qpair(wi[2 * t], 2 * t + 1 < kdim ? wi[2 * t + 1] : 0);
    }
    if (dwrow) { /* the padded plane, rows readable to ((ow + 15) / 16 * 16) * sw + 16 (qgemm.h) */
        int64_t ow16 = (ow + 15) / 16 * 16;
        p->ph = hp;
        p->pw = wp > ow16 * a.sw + 16 ? wp : ow16 * a.sw + 16;
        kiln_need_workspace(c, (size_t)((p->ph * p->pw + 3) / 4 + p->ohw));
        return KILN_OK;
    }
    if (ind) {
        kiln_need_workspace(c, (kiln_qconvi_setup(p, p->bias + m, wd8) + 3) / 4);
        return KILN_OK;
    }
    if (depthwise) {
        kiln_need_workspace(c, (size_t)ow);
        return KILN_OK;
    }
    if (gemm4) {
        kiln_need_workspace(c, (kiln_qconv4_setup(p) + 3) / 4);
        return KILN_OK;
    }
    /* Pixel blocks: the packed block (kk * nb i32) near 128 KB, a multiple of 16. */
    int64_t nb = (32768 / kk) / 16 * 16;
    if (nb < 16) nb = 16;
    if (nb > 512) nb = 512;
    if (nb > p->ohw) nb = p->ohw;
    p->nb = nb;
    p->nblocks = (p->ohw + nb - 1) / nb;
    kiln_need_workspace(c, (size_t)(kk * nb + mg * nb + nb));
    return KILN_OK;
}


/* u8 im2col row of kernel tap k for output pixels [p0, p0 + cnt) of the group's input. */
static void im2col_row(const qconv_params *p, const uint8_t *xg, int64_t k, int64_t p0, int64_t cnt, uint8_t *dst) {
    const kiln_conv_attrs *a = &p->a;
    uint8_t zp = (uint8_t)p->q.x_zp;
    if (k >= p->kdim) { memset(dst, zp, (size_t)cnt); return; }
    int64_t kj = k % a->kw, ki = (k / a->kw) % a->kh, ci = k / (a->kw * a->kh);
    const uint8_t *plane = xg + ci * p->h * p->w;
    int64_t off = kj * a->dw - a->pl;
    int64_t lo = kiln_ceil_div(-off, a->sw), hi = kiln_floor_div(p->w - 1 - off, a->sw) + 1;
    if (lo < 0) lo = 0;
    if (hi > p->ow) hi = p->ow;
    if (hi < lo) hi = lo;
    int64_t oh = p0 / p->ow, c0 = p0 % p->ow, done = 0;
    while (done < cnt) {
        int64_t c1 = c0 + (cnt - done) < p->ow ? c0 + (cnt - done) : p->ow;
        uint8_t *d = dst + done - c0;   /* d[col] for col in [c0, c1) */
        int64_t ih = oh * a->sh - a->pt + ki * a->dh;
        if (ih < 0 || ih >= p->h) {
            memset(d + c0, zp, (size_t)(c1 - c0));
        } else {
            const uint8_t *row = plane + ih * p->w;
            int64_t l = lo > c0 ? lo : c0, r = hi < c1 ? hi : c1;
            if (r < l) r = l;
            for (int64_t col = c0; col < l && col < c1; col++) d[col] = zp;
            if (a->sw == 1) { if (r > l) memcpy(d + l, row + l + off, (size_t)(r - l)); }
            else for (int64_t col = l; col < r; col++) d[col] = row[col * a->sw + off];
            for (int64_t col = r > c0 ? r : c0; col < c1; col++) d[col] = zp;
        }
        done += c1 - c0;
        c0 = 0;
        oh++;
    }
}

static void qconv_blocks(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qconv_job *j = ctx;
    const qconv_params *p = j->p;
    int32_t *bpack32 = (int32_t *)(j->ws + thread * j->ws_floats);
    int16_t *bpack = (int16_t *)bpack32;
    int32_t *cblock = bpack32 + p->kk * p->nb;
    uint8_t *r0 = (uint8_t *)(cblock + p->mg * p->nb), *r1 = r0 + p->nb;
    for (size_t job = begin; job < end; job++) {
        int64_t blk = (int64_t)job % p->nblocks, g = ((int64_t)job / p->nblocks) % p->a.group;
        int64_t n = (int64_t)job / (p->nblocks * p->a.group);
        int64_t p0 = blk * p->nb, cnt = p->ohw - p0 < p->nb ? p->ohw - p0 : p->nb;
        const uint8_t *xg = j->x + (n * p->c + g * p->cg) * p->h * p->w;
        if (p->direct && p->kdim % 2) memset(r1, p->q.x_zp, (size_t)cnt); /* the padding tap */
        for (int64_t t = 0; t < p->kk; t++) {
            const uint8_t *s0 = r0, *s1 = r1;
            if (p->direct) {
                s0 = xg + 2 * t * p->ohw + p0;
                if (2 * t + 1 < p->kdim) s1 = s0 + p->ohw;
            } else {
                im2col_row(p, xg, 2 * t, p0, cnt, r0);
                im2col_row(p, xg, 2 * t + 1, p0, cnt, r1);
            }
            p->pack(s0, s1, cnt, bpack + t * cnt * 2);
        }
        p->gemm(p->mg, cnt, p->kk, p->apack + g * p->mg * p->kk, bpack, cblock);
        for (int64_t mm = 0; mm < p->mg; mm++) {
            int64_t m = g * p->mg + mm;
            uint8_t *out = j->y + (n * p->m + m) * p->ohw + p0;
            p->requant(cblock + mm * cnt, cnt, p->bias[m], p->mult[m], p->shift[m], &p->q, out);
        }
    }
}

/* Depthwise through dwrow: copy the input plane into the interior of the zero-point-padded
 * one (its padding is set once per call, as every plane shares it), one dwrow
 * call per output row into the plane's int32 accumulators, then one requantization. */
static void qdw_planes_padded(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qconv_job *j = ctx;
    const qconv_params *p = j->p;
    const kiln_conv_attrs *a = &p->a;
    uint8_t *pad = (uint8_t *)(j->ws + thread * j->ws_floats), zp = (uint8_t)p->q.x_zp;
    int32_t *acc = (int32_t *)(j->ws + thread * j->ws_floats + (p->ph * p->pw + 3) / 4);
    if (p->dwplaneq) {
        kiln_qdw_geom g = {p->h, p->w, p->oh, p->ow, a->kh, a->sh, a->sw, a->dh, a->pt, a->pl, p->q.x_zp};
        for (size_t plane = begin; plane < end; plane++) {
            int64_t n = (int64_t)plane / p->m, m = (int64_t)plane % p->m, ci = m / p->mult_dw;
            kiln_qrequant r = {p->bias[m], p->mult[m], p->shift[m], &p->q};
            p->dwplaneq(j->x + (n * p->c + ci) * p->h * p->w, &g, p->wq + m * a->kh, &r, j->y + (int64_t)plane * p->ohw);
        }
        return;
    }
    memset(pad, zp, (size_t)(p->ph * p->pw)); /* the padding, never overwritten: planes fill the interior only */
    for (size_t plane = begin; plane < end; plane++) {
        int64_t n = (int64_t)plane / p->m, m = (int64_t)plane % p->m, ci = m / p->mult_dw;
        const uint8_t *in = j->x + (n * p->c + ci) * p->h * p->w;
        uint8_t *out = j->y + (int64_t)plane * p->ohw;
        for (int64_t ih = 0; ih < p->h; ih++) memcpy(pad + (ih + a->pt) * p->pw + a->pl, in + ih * p->w, (size_t)p->w);
        if (p->dwrowq) {
            kiln_qrequant r = {p->bias[m], p->mult[m], p->shift[m], &p->q};
            p->dwrowq(pad, a->dh * p->pw, a->kh, a->sw, p->ow, p->wq + m * a->kh, &r, out, p->oh, a->sh * p->pw);
            continue;
        }
        for (int64_t oh = 0; oh < p->oh; oh++)
            p->dwrow(pad + oh * a->sh * p->pw, a->dh * p->pw, a->kh, a->sw, p->ow, p->wq + m * a->kh, acc + oh * p->ow);
        p->requant(acc, p->ohw, p->bias[m], p->mult[m], p->shift[m], &p->q, out);
    }
}

static void qdw_planes(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qconv_job *j = ctx;
    const qconv_params *p = j->p;
    const kiln_conv_attrs *a = &p->a;
    int32_t *acc = (int32_t *)(j->ws + thread * j->ws_floats);
    int32_t zp = p->q.x_zp;
    for (size_t plane = begin; plane < end; plane++) {
        int64_t n = (int64_t)plane / p->m, m = (int64_t)plane % p->m, ci = m / p->mult_dw;
        const uint8_t *in = j->x + (n * p->c + ci) * p->h * p->w;
        const int8_t *wk = p->wraw + m * a->kh * a->kw;
        uint8_t *out = j->y + (int64_t)plane * p->ohw;
        for (int64_t oh = 0; oh < p->oh; oh++) {
            memset(acc, 0, sizeof(int32_t) * (size_t)p->ow);
            for (int64_t ki = 0; ki < a->kh; ki++) {
                int64_t ih = oh * a->sh - a->pt + ki * a->dh;
                if (ih < 0 || ih >= p->h) continue;
                const uint8_t *irow = in + ih * p->w;
                for (int64_t kj = 0; kj < a->kw; kj++) {
                    int32_t wv = wk[ki * a->kw + kj];
                    int64_t off = kj * a->dw - a->pl;
                    int64_t lo = kiln_ceil_div(-off, a->sw), hi = kiln_floor_div(p->w - 1 - off, a->sw) + 1;
                    if (lo < 0) lo = 0;
                    if (hi > p->ow) hi = p->ow;
                    if (hi > lo) p->tap(acc, irow, lo, hi, a->sw, off, wv, zp);
                }
            }
            p->requant(acc, p->ow, p->bias[m], p->mult[m], p->shift[m], &p->q, out + oh * p->ow);
        }
    }
}

static void run_qconv(const kiln_exec *e, const kiln_instr *ins) {
    const qconv_params *p = ins->params;
    qconv_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0), e->workspace, e->workspace_floats};
    if (p->depthwise) {
        size_t planes = (size_t)(p->n * p->m);
        void (*dw)(void *, size_t, size_t, uint32_t) = p->dwrow ? qdw_planes_padded : qdw_planes;
        if (e->threads > 1 && p->n * p->m * p->ohw >= KILN_PARALLEL_GRAIN) kiln_parallel_for(e, planes, dw, &j);
        else dw(&j, 0, planes, 0);
        return;
    }
    size_t jobs = (size_t)(p->n * p->a.group * p->nblocks);
    void (*fn)(void *, size_t, size_t, uint32_t) = p->ind ? kiln_qconvi_blocks : p->gemm4 ? kiln_qconv4_blocks : qconv_blocks;
    if (e->threads > 1 && jobs > 1) kiln_parallel_for(e, jobs, fn, &j);
    else fn(&j, 0, jobs, 0);
}

const kiln_kernel kiln_k_qconv2d = {KILN_OP_QCONV2D, "qconv2d", KILN_CONV_ATTR_SIZE + 16, 3, 4, 1, 1, 0, check_qconv, run_qconv, 0};
