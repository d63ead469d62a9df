/* conv_packed.c — CONV2D_PACKED: group-1 convolution against weights the compiler packed
 * into 6-row panels, computed by Kiln's own GEMM (microkernel.h) with the epilogue fused.
 *
 * Operands: x f32 [N,C,H,W]; w f32 [P, K, 6] with K = C*kh*kw and P = ceil(M/6), where
 * w[p][k][r] is the OIHW weight of output channel 6p+r at flat tap k = (ci*kh + ki)*kw + kj
 * (zero for 6p+r >= M); optional bias f32 [M]. Result: y f32 [N,M,OH,OW], M = y's dim 1.
 * Attributes: the conv block (group must be 1).
 * Algorithm, per image: the output pixels (GEMM columns) are cut into blocks of at most
 * NB columns; a work item is one column block and a range of panels (the panels are split
 * too when there are fewer blocks than threads). Per item and K slice of at most KC taps,
 * im2col writes the slice into the thread's workspace (pointwise convs read the input in
 * place instead); every panel x 16-column strip pair then runs the 6x16 micro-kernel,
 * which adds to C after the first slice and applies bias and activation on the last.
 * The block (KC x NB floats) stays in L2, each strip in L1 while a chunk of panels
 * (slice_gemm) uses it. On AVX-512 CPUs kiln_gemm_panels_avx512 runs the same loop
 * with 6x32 tiles on the same packed weights, and at strides 1 and 2 (except pointwise
 * convs over many pixels or few channels) the direct kernels of conv_direct512.c run
 * instead, on a copy of the weights repacked at load (kiln_cd_pick). */
#include "conv_packed.h"
#include "conv_pointwise.h"

#define KC 256
#ifndef KC512
#define KC512 160
#endif
#define NB 256

/* Row stride of the packed im2col block: the block width rounded up to whole strips plus
 * one strip, so consecutive rows do not map to the same few L1 sets (a plain 1 KB stride
 * would leave a 256-row strip only 4 sets x 8 ways). */
static size_t block_stride(int64_t nb) { return (size_t)((nb + KILN_NR - 1) / KILN_NR * KILN_NR + KILN_NR); }

#ifdef KILN_HAVE_AVX512
/* pack_block by masked loads or gathers (conv_gather512.c). */
void kiln_conv_gather_block512(const float *x, int64_t h, int64_t w, int64_t ow_n, const kiln_conv_attrs *a, int64_t k0,
                               size_t kc, int64_t c0, int64_t nb, float *ws, size_t ld);
void kiln_copy_stride2_avx512(float *dst, const float *src, int64_t n);   /* dst[i] = src[2i] */
#endif

KILN_SMALL_CODE static kiln_status check_cp(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *b = kiln_operand(c, 2), *y = kiln_result(c, 0);
    cp_params q, *p = &q;
    memset(&q, 0, sizeof q);
    kiln_status st = kiln_conv_attrs_read(c, &p->a);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, w, "weight", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (x->rank != 4 || w->rank != 3 || y->rank != 4)
        return kiln_check_fail(c, "input and result must be rank 4, packed weight rank 3");
    const kiln_conv_attrs *a = &p->a;
    if (a->group != 1) return kiln_check_fail(c, "group must be 1");
    p->n = x->dims[0]; p->c = x->dims[1]; p->h = x->dims[2]; p->w = x->dims[3]; p->m = y->dims[1];
    p->panels = (p->m + KILN_MR - 1) / KILN_MR;
    /* C·kh·kw must equal the weight's middle dim: compare by division first, so hostile
     * kernel sizes cannot overflow the product (found by fuzz-plan). */
    if (p->c > w->dims[1] / (a->kh * a->kw))
        return kiln_check_fail(c, "packed weight shape must be [%lld, C*kh*kw, %d]", (long long)p->panels, KILN_MR);
    p->kdim = p->c * a->kh * a->kw;
    if (w->dims[0] != p->panels || w->dims[1] != p->kdim || w->dims[2] != KILN_MR)
        return kiln_check_fail(c, "packed weight shape must be [%lld, %lld, %d]", (long long)p->panels,
                               (long long)p->kdim, KILN_MR);
    int64_t ekh = (a->kh - 1) * a->dh + 1, ekw = (a->kw - 1) * a->dw + 1;
    int64_t hp = p->h + a->pt + a->pb, wp = p->w + a->pl + a->pr;
    if (hp < ekh || wp < ekw) return kiln_check_fail(c, "kernel is larger than the padded input");
    p->oh = (hp - ekh) / a->sh + 1;
    p->ow = (wp - ekw) / a->sw + 1;
    if (y->dims[0] != p->n || y->dims[2] != p->oh || y->dims[3] != p->ow)
        return kiln_check_fail(c, "result shape does not match [N, M, %lld, %lld]", (long long)p->oh, (long long)p->ow);
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)p->m)) return kiln_check_fail(c, "bias must be f32 [M]");
    if ((st = kiln_cp_init(c, &q)) != KILN_OK) return st;
    /* The direct kernel's weights, repacked from the constant panels, follow the params. */
    if (w->storage != KILN_STORAGE_CONSTANT || !w->data) q.cd_nv = 0;
    size_t head = (sizeof q + 63) / 64 * 64, extra = kiln_cd_floats(&q);
    if (extra > (SIZE_MAX - head - 64) / sizeof(float)) return kiln_check_fail(c, "packed weights too large");
    uint8_t *mem = kiln_params_alloc(c, head + (extra ? 64 + extra * sizeof(float) : 0));
    if (!mem) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p = (cp_params *)(void *)mem;
    *p = q;
    if (extra) kiln_cd_pack(p, w->data, 0, (float *)(void *)(mem + head + (64 - (uintptr_t)(mem + head) % 64) % 64));
    return KILN_OK;
}

kiln_status kiln_cp_init(kiln_check *c, cp_params *p) {
    const kiln_conv_attrs *a = &p->a;
    p->panels = (p->m + KILN_MR - 1) / KILN_MR;
    p->kdim = p->c * a->kh * a->kw;
    p->ohw = p->oh * p->ow;
    p->pointwise = a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 && a->pt == 0 && a->pl == 0 && a->pb == 0 &&
                   a->pr == 0;
    p->isa = kiln_isa_detect();
    /* AVX-512's 32-column B tiles take twice the L1 per tap: at most KC512 taps per slice,
     * the slices balanced (K 147 is one slice, not 128 + 19: a short slice pays the C
     * reload and store for little work). */
    if (p->isa == KILN_ISA_AVX512) {
        int64_t slices = (p->kdim + KC512 - 1) / KC512;
        p->kstep = slices ? (p->kdim + slices - 1) / slices : KC512;
    } else {
        p->kstep = KC;
    }
    /* The gather path keeps input offsets in 32-bit lanes: every offset a tap can form must
     * fit (bounded in double, so huge strides, pads or dilations cannot overflow here). */
    double span = ((double)(p->oh - 1) * (double)a->sh + (double)a->pt + (double)(a->kh - 1) * (double)a->dh + 1.0) *
                      (double)p->w +
                  (double)(p->ow - 1) * (double)a->sw + (double)a->pl + (double)(a->kw - 1) * (double)a->dw + 1.0;
    p->gather = p->isa == KILN_ISA_AVX512 && !p->pointwise && (p->ow < 32 || (a->sw == 1 && p->ow >= 4)) &&
                a->kh <= 8 && a->kw <= 8 && p->h * p->w < ((int64_t)1 << 28) && span < (double)((int64_t)1 << 30);
    kiln_need_workspace(c, (size_t)KC * block_stride(NB));
    kiln_cd_pick(p);
    if (p->cd_nv)   /* the padded input (used in thread 0's part), then a row buffer per thread */
        kiln_need_workspace(c, (size_t)(p->cd_padded ? p->c * p->cd_hp * p->cd_wp : 0) + 32 * kiln_cd_row_ld(p->ow));
    return kiln_check_gemm_dims(c, p->m, p->ohw, p->kdim);
}

/* im2col of taps [k0, k0+kc) x columns [c0, c0+nb) of image x into ws, row-major with row
 * stride block_stride(nb), zeros in the padding and past the last column. Per tap and
 * output row, the valid input columns are one run, copied by a plain loop (the compiler
 * vectorizes it; a memcpy call per run cost more than the copy on 4..16-wide rows); the
 * output row and column advance without divisions. */
static void pack_block(const cp_params *p, const float *x, int64_t k0, size_t kc, int64_t c0, int64_t nb, float *ws) {
    const kiln_conv_attrs *a = &p->a;
    size_t ld = block_stride(nb);
    const int64_t oh_first = c0 / p->ow, ow_first = c0 % p->ow, sw = a->sw;
    for (size_t kk = 0; kk < kc; kk++) {
        int64_t k = k0 + (int64_t)kk;
        int64_t kj = k % a->kw, ki = (k / a->kw) % a->kh, ci = k / (a->kw * a->kh);
        const float *plane = x + ci * p->h * p->w;
        float *d = ws + kk * ld;                   /* d[i] for column c0 + i */
        int64_t off = kj * a->dw - a->pl;
        int64_t lo = kiln_ceil_div(-off, sw), hi = kiln_floor_div(p->w - 1 - off, sw) + 1;
        if (lo < 0) lo = 0;
        if (hi > p->ow) hi = p->ow;
        if (hi < lo) hi = lo;
        int64_t oh = oh_first, ow0 = ow_first;
        for (int64_t i = 0; i < nb; oh++, ow0 = 0) {
            int64_t ow1 = p->ow - ow0 < nb - i ? p->ow : ow0 + (nb - i);
            int64_t ih = oh * a->sh - a->pt + ki * a->dh;
            float *restrict dd = d + i - ow0;      /* dd[ow] */
            int64_t l = lo > ow0 ? lo : ow0, h = hi < ow1 ? hi : ow1;
            if (ih < 0 || ih >= p->h || h <= l) {
                for (int64_t ow = ow0; ow < ow1; ow++) dd[ow] = 0.0f;
            } else {
                const float *restrict row = plane + ih * p->w + off;   /* row[ow * sw] */
                for (int64_t ow = ow0; ow < l; ow++) dd[ow] = 0.0f;
                if (sw == 1) for (int64_t ow = l; ow < h; ow++) dd[ow] = row[ow];
#ifdef KILN_HAVE_AVX512
                else if (sw == 2 && p->isa == KILN_ISA_AVX512) kiln_copy_stride2_avx512(dd + l, row + 2 * l, h - l);
#endif
                else for (int64_t ow = l; ow < h; ow++) dd[ow] = row[ow * sw];
                for (int64_t ow = h; ow < ow1; ow++) dd[ow] = 0.0f;
            }
            i += ow1 - ow0;
        }
        for (size_t i = (size_t)nb; i < ld; i++) d[i] = 0.0f;
    }
}

typedef struct cp_job {
    const cp_params *p;
    const float *x, *w, *bias;
    float *y;
    float *workspace;
    size_t workspace_floats;
    int64_t blocks, parts, panels_per_part;
} cp_job;

/* Computes panels [pa, pb) x strips of one K slice: B strips of 16 columns at b (row
 * stride ldb, strips sstride floats apart), except the last, partial strip, which is at
 * tail (packed, row stride 16) when given. Panels go in chunks of MCP, so a chunk's A
 * slice stays in L2 while each B strip is reused from L1 by every panel of the chunk. */
#define MCP 32
static void slice_gemm(const cp_params *p, const float *w, const float *bias, float *y, int64_t k0, size_t kc,
                       int64_t c0, int64_t nb, int64_t pa, int64_t pb, const float *b, size_t ldb, size_t sstride,
                       const float *tail) {
    int64_t strips = (nb + KILN_NR - 1) / KILN_NR;
    for (int64_t q0 = pa; q0 < pb; q0 += MCP) {
        int64_t q1 = q0 + MCP < pb ? q0 + MCP : pb;
        for (int64_t s = 0; s < strips; s++) {
            int cols = (int)(nb - s * KILN_NR < KILN_NR ? nb - s * KILN_NR : KILN_NR);
            const float *bs = tail && cols < KILN_NR ? tail : b + (size_t)s * sstride;
            size_t ld = tail && cols < KILN_NR ? KILN_NR : ldb;
            /* B rows are far apart (the input itself, or a block wider than a strip): fetch
             * the next strip's rows into L2 while this one computes, since the hardware
             * prefetchers do not follow hundreds of strided streams. */
            if (s + 1 < strips && ldb != KILN_NR)
                for (size_t kk = 0; kk < kc; kk++) {
                    const float *nx = b + (size_t)(s + 1) * sstride + kk * ldb;
                    __builtin_prefetch(nx, 0, 2);
                    __builtin_prefetch(nx + KILN_NR - 1, 0, 2);
                }
            for (int64_t pn = q0; pn < q1; pn++) {
                int64_t r0 = pn * KILN_MR;
                kiln_tile_out o = {y + r0 * p->ohw + c0 + s * KILN_NR, (size_t)p->ohw,
                                   (int)(p->m - r0 < KILN_MR ? p->m - r0 : KILN_MR), cols, k0 > 0,
                                   k0 + (int64_t)kc >= p->kdim, bias ? bias + r0 : NULL, &p->a.act};
                kiln_micro_tile(p->isa, kc, w + (pn * p->kdim + k0) * KILN_MR, bs, ld, &o);
            }
        }
    }
}

static void cp_items(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const cp_job *j = ctx;
    const cp_params *p = j->p;
    float *ws = j->workspace + (size_t)thread * j->workspace_floats;
    for (size_t item = begin; item < end; item++) {
        int64_t part = (int64_t)item % j->parts, blk = ((int64_t)item / j->parts) % j->blocks;
        int64_t n = (int64_t)item / (j->parts * j->blocks);
        int64_t c0 = blk * NB, nb = p->ohw - c0 < NB ? p->ohw - c0 : NB;
        int64_t pa = part * j->panels_per_part, pb = pa + j->panels_per_part;
        if (pb > p->panels) pb = p->panels;
        const float *x = j->x + n * p->c * p->h * p->w;
        float *y = j->y + n * p->m * p->ohw;
        const int64_t kstep = p->kstep;
        for (int64_t k0 = 0; k0 < p->kdim; k0 += kstep) {
            size_t kc = (size_t)(p->kdim - k0 < kstep ? p->kdim - k0 : kstep);
#ifdef KILN_HAVE_AVX512
            if (p->isa == KILN_ISA_AVX512) {
                /* 32-column tiles with masked edges: pointwise reads the input in place. */
                const float *b = x + k0 * p->ohw + c0;
                size_t ldb = (size_t)p->ohw;
                if (p->gather) {
                    kiln_conv_gather_block512(x, p->h, p->w, p->ow, &p->a, k0, kc, c0, nb, ws, block_stride(nb));
                    b = ws;
                    ldb = block_stride(nb);
                } else if (!p->pointwise) {
                    pack_block(p, x, k0, kc, c0, nb, ws);
                    b = ws;
                    ldb = block_stride(nb);
                }
                kiln_gemm_panels_avx512(kc, j->w + (pa * p->kdim + k0) * KILN_MR, (size_t)p->kdim * KILN_MR, pb - pa,
                                        p->m - pa * KILN_MR, b, ldb, nb, y + pa * KILN_MR * p->ohw + c0,
                                        (size_t)p->ohw, k0 > 0, k0 + (int64_t)kc >= p->kdim,
                                        j->bias ? j->bias + pa * KILN_MR : NULL, &p->a.act);
                continue;
            }
#endif
            if (p->pointwise) {
                /* B is the input itself; only a partial last strip is packed (zero-padded). */
                int64_t full = nb / KILN_NR * KILN_NR;
                if (full < nb) {
                    for (size_t kk = 0; kk < kc; kk++) {
                        const float *src = x + (k0 + (int64_t)kk) * p->ohw + c0 + full;
                        float *d = ws + kk * KILN_NR;
                        for (int64_t i = 0; i < KILN_NR; i++) d[i] = i < nb - full ? src[i] : 0.0f;
                    }
                }
                slice_gemm(p, j->w, j->bias, y, k0, kc, c0, nb, pa, pb, x + k0 * p->ohw + c0, (size_t)p->ohw,
                           KILN_NR, full < nb ? ws : NULL);
            } else {
                pack_block(p, x, k0, kc, c0, nb, ws);
                slice_gemm(p, j->w, j->bias, y, k0, kc, c0, nb, pa, pb, ws, block_stride(nb), KILN_NR, NULL);
            }
        }
    }
}

void kiln_cp_run(const kiln_exec *e, const cp_params *p, const float *x, const float *w, const float *bias, float *y) {
#ifdef KILN_HAVE_AVX512
    if (p->cd_nv) {
        kiln_cd_run(e, p, x, bias, y);
        return;
    }
    /* Pointwise convs the direct kernels did not take: conv_pointwise.c's 6 x 64 tiles. */
    if (p->pointwise && p->isa == KILN_ISA_AVX512 && kiln_pw_run(e, p, x, w, bias, y)) return;
#endif
    cp_job j = {p, x, w, bias, y, e->workspace, e->workspace_floats, (p->ohw + NB - 1) / NB, 1, p->panels};
    /* Too few column blocks to keep every thread busy: split the panels as well. */
    if (e->threads > 1 && j.blocks * p->n < 2 * (int64_t)e->threads) {
        int64_t want = (2 * (int64_t)e->threads + j.blocks * p->n - 1) / (j.blocks * p->n);
        j.panels_per_part = (p->panels + want - 1) / want;
        j.parts = (p->panels + j.panels_per_part - 1) / j.panels_per_part;
    }
    kiln_parallel_for(e, (size_t)(p->n * j.blocks * j.parts), cp_items, &j);
}

void kiln_cp_pack_oihw(int64_t m, int64_t k, const uint8_t *g, float *u) {
    for (int64_t r = 0; r < m; r++)
        for (int64_t t = 0; t < k; t++)
            u[((r / KILN_MR) * k + t) * KILN_MR + r % KILN_MR] = kiln_rdf32(g + 4 * (size_t)(r * k + t));
}

static void run_cp(const kiln_exec *e, const kiln_instr *ins) {
    kiln_cp_run(e, ins->params, KILN_IN(e, ins, 0), KILN_IN(e, ins, 1),
                ins->nin < 3 || ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2), KILN_OUT(e, ins, 0));
}

const kiln_kernel kiln_k_conv2d_packed = {KILN_OP_CONV2D_PACKED, "conv2d_packed", KILN_CONV_ATTR_SIZE, 2, 3, 1, 1, 0,
                                          check_cp, run_cp, 0};
