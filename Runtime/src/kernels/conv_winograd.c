/* conv_winograd.c — CONV2D_WINOGRAD: 3x3, stride 1, undilated, group-1 convolution by
 * Winograd F(4x4, 3x3), on weights transformed once at load.
 *
 * Operands: x f32 [N,C,H,W]; w f32 [M,C,3,3] (constant); optional bias f32 [M].
 * Result y f32 [N,M,OH,OW]. Attributes: the conv block.
 * At load (check_wg) the weights become u [36, P, C, 6] with P = ceil(M/6), owned by the
 * plan (in the instruction's params): for each of the 36 positions xi = 6a + b of the
 * transformed 6x6 tile, U_xi = (G g G^T)[a][b] over all (m, c), packed in 6-row panels
 * like CONV2D_PACKED (zero past M). The plan keeps only the 3x3 weights (4x smaller).
 * Algorithm (Lavin & Gray): the output is cut into 4x4 tiles, each reading a 6x6 input
 * patch (zeros outside the input). Per block of whole tile rows (a work item):
 * 1. Input transform V = B^T d B of every patch and channel, a column pass over whole
 *    padded rows, then a row pass per tile; V_xi is a [C, tiles] matrix.
 * 2. 36 GEMMs M_xi[M, tiles] = U_xi[M, C] x V_xi with the 6x16 micro-kernel.
 * 3. Output transform Y = A^T M A per tile and channel, plus bias, into y; then the
 *    activation over the finished output rows.
 * 16 multiplies per output and input tap pair become 36/16 = 2.25 per output pixel
 * and channel pair, instead of 9. Small convolutions (wg_direct_pays) run through
 * CONV2D_PACKED's kernel instead, on weights packed at load: same plan, faster there. */
#include "winograd_simd.h"
#include "conv_packed.h"

#define WG_BUDGET (160 * 1024)   /* floats of V per block: about 640 KB, within L2 */

typedef struct wg_params {
    kiln_conv_attrs a;
    int64_t n, c, h, w, m, oh, ow, th, tw, panels, wp;
    int64_t max_rows;            /* tile rows per block at most */
    float *u;                    /* transformed weights, in the same allocation */
    kiln_isa isa;                /* chosen at load (isa.c) */
    int direct;                  /* small conv: the packed GEMM on weights in u instead */
    cp_params cp;                /* its parameters */
} wg_params;

/* Where the packed convolution measured faster than Winograd on an AVX-512 CPU (Zen 5),
 * whose direct kernels (conv_direct512.c) run these: outputs up to 24x24 (c256 14x14 ->
 * 256: 208 vs 189 effective GFLOP/s; c64 24x24 -> 64: 223 vs 191; c32 16x16: 156 vs
 * 122), and C*M up to 32*32 at any size, where the transforms do not amortize (c32 32x32:
 * 165 vs 126; thread CPU ms, direct vs Winograd: YOLOv8's c16 80x80 -> 16 0.21 vs 0.31,
 * c32 40x40 -> 32 0.18 vs 0.20, c32 80x80 -> 32 0.67 vs 0.81, c24 80x80 -> 24 0.33 vs
 * 0.52). Winograd keeps 28x28 and up above that (c128 28x28 -> 128: 312 vs 242; c64
 * 32x32 -> 64: 263 vs 218; c48 40x40 -> 48: 0.31 vs 0.39 ms; c512 40x40 -> 24: 2.8 vs
 * 3.5 ms). */
static int wg_direct_pays(const wg_params *p) {
    int64_t px = p->oh * p->ow, cm = p->c * p->m;
    return p->isa == KILN_ISA_AVX512 && (px <= 576 || cm <= 32 * 32);
}

/* g [M, C, 3, 3] -> u [36, P, C, 6]: u = G g G^T per (m, c), in double, rounded once. */
static void wg_transform(const wg_params *p, const uint8_t *g, float *u) {
    static const double G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    for (int64_t m = 0; m < p->m; m++)
        for (int64_t c = 0; c < p->c; c++) {
            const uint8_t *k = g + (size_t)(m * p->c + c) * 36;
            double t[6][3];                           /* t = G g */
            for (int a = 0; a < 6; a++)
                for (int j = 0; j < 3; j++) {
                    double s = 0.0;
                    for (int i = 0; i < 3; i++) s += G[a][i] * (double)kiln_rdf32(k + 4 * (i * 3 + j));
                    t[a][j] = s;
                }
            for (int a = 0; a < 6; a++)                /* u = t G^T */
                for (int b = 0; b < 6; b++) {
                    double v = t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2];
                    u[(((size_t)(a * 6 + b) * (size_t)p->panels + (size_t)(m / KILN_MR)) * (size_t)p->c + (size_t)c) *
                          KILN_MR + (size_t)(m % KILN_MR)] = (float)v;
                }
        }
}

/* Row stride of V / M for a block of tb tiles: whole strips, an odd number of them, so
 * the rows of a strip spread over the L1 sets. */
static size_t wg_ld(int64_t tb) {
    int64_t s = (tb + KILN_NR - 1) / KILN_NR;
    return (size_t)((s | 1) * KILN_NR);
}

static size_t wg_ws_floats(const wg_params *p, int64_t rows) {
    size_t ld = wg_ld(rows * p->tw);
    return 36 * (size_t)(p->c + p->m) * ld + 12 * (size_t)(p->wp + 8);
}

KILN_SMALL_CODE static kiln_status check_wg(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *b = kiln_operand(c, 2), *y = kiln_result(c, 0);
    wg_params q;
    memset(&q, 0, sizeof q);
    kiln_status st = kiln_conv_attrs_read(c, &q.a);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, w, "weight", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) return kiln_check_fail(c, "input, weight and result must be rank 4");
    wg_params *p = &q;
    const kiln_conv_attrs *a = &p->a;
    if (a->kh != 3 || a->kw != 3 || a->sh != 1 || a->sw != 1 || a->dh != 1 || a->dw != 1 || a->group != 1)
        return kiln_check_fail(c, "needs a 3x3 kernel, stride 1, dilation 1 and group 1");
    p->n = x->dims[0]; p->c = x->dims[1]; p->h = x->dims[2]; p->w = x->dims[3]; p->m = y->dims[1];
    p->panels = (p->m + KILN_MR - 1) / KILN_MR;
    if (w->dims[0] != p->m || w->dims[1] != p->c || w->dims[2] != 3 || w->dims[3] != 3)
        return kiln_check_fail(c, "weight shape must be [%lld, %lld, 3, 3]", (long long)p->m, (long long)p->c);
    if (w->storage != KILN_STORAGE_CONSTANT || !w->data) return kiln_check_fail(c, "weight must be a constant");
    p->oh = p->h + a->pt + a->pb - 2;
    p->ow = p->w + a->pl + a->pr - 2;
    if (p->oh < 1 || p->ow < 1) return kiln_check_fail(c, "kernel is larger than the padded input");
    if (y->dims[0] != p->n || y->dims[2] != p->oh || y->dims[3] != p->ow)
        return kiln_check_fail(c, "result shape does not match [N, M, %lld, %lld]", (long long)p->oh, (long long)p->ow);
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)p->m)) return kiln_check_fail(c, "bias must be f32 [M]");
    p->th = (p->oh + 3) / 4;
    p->tw = (p->ow + 3) / 4;
    p->wp = 4 * p->tw + 2;
    if (p->c > INT64_MAX / 36 / p->tw) return kiln_check_fail(c, "input is too large");
    int64_t rows = WG_BUDGET / (36 * p->c * p->tw);
    p->max_rows = rows < 1 ? 1 : rows > p->th ? p->th : rows;
    if ((st = kiln_check_gemm_dims(c, p->m, p->max_rows * p->tw, p->c)) != KILN_OK) return st;
    /* u right after the params, 64-byte aligned; the plan frees both with the params. A
     * direct conv keeps the 6-row panels in u, or the direct kernels' repacking. */
    q.isa = kiln_isa_detect();
    q.direct = wg_direct_pays(&q);
    size_t panel_floats = 9 * (size_t)p->panels * (size_t)p->c * KILN_MR, extra = 0;
    if (q.direct) {
        q.cp.a = q.a;
        q.cp.n = q.n; q.cp.c = q.c; q.cp.h = q.h; q.cp.w = q.w; q.cp.m = q.m; q.cp.oh = q.oh; q.cp.ow = q.ow;
        if ((st = kiln_cp_init(c, &q.cp)) != KILN_OK) return st;
        extra = kiln_cd_floats(&q.cp);
    }
    size_t head = (sizeof q + 63) / 64 * 64;
    size_t ufloats = extra ? extra : q.direct ? panel_floats : 36 * (size_t)p->panels * (size_t)p->c * KILN_MR;
    if (ufloats > (SIZE_MAX - head - 64) / sizeof(float)) return kiln_check_fail(c, "transformed weights too large");
    uint8_t *mem = kiln_params_alloc(c, head + 64 + ufloats * sizeof(float));
    if (!mem) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory for the Winograd weights");
    p = (wg_params *)(void *)mem;
    *p = q;
    p->u = (float *)(void *)(mem + head + (64 - (uintptr_t)(mem + head) % 64) % 64);
    if (p->direct) {
        if (extra) kiln_cd_pack(&p->cp, w->data, 1, p->u);
        else kiln_cp_pack_oihw(p->m, 9 * p->c, w->data, p->u);
        return KILN_OK;
    }
    wg_transform(p, w->data, p->u);
    kiln_need_workspace(c, wg_ws_floats(p, p->max_rows));
    return KILN_OK;
}

/* Step 1 for channel plane xc, tile rows [t0, t1): V[xi][t] at v + xi*vstride. */
static void input_transform(const wg_params *p, const float *xc, int64_t t0, int64_t t1, float *v, size_t vstride,
                            float *buf) {
    const int64_t wp = p->wp;
    float *d[6], *t[6];
    for (int i = 0; i < 6; i++) { d[i] = buf + i * (wp + 8); t[i] = buf + (6 + i) * (wp + 8); }
    for (int64_t th = t0; th < t1; th++) {
        for (int i = 0; i < 6; i++) {
            int64_t ih = 4 * th - p->a.pt + i;
            float *r = d[i];
            if (ih < 0 || ih >= p->h) { memset(r, 0, sizeof(float) * (size_t)wp); continue; }
            int64_t lo = p->a.pl, hi = p->a.pl + p->w < wp ? p->a.pl + p->w : wp;
            for (int64_t u = 0; u < lo; u++) r[u] = 0.0f;
            memcpy(r + lo, xc + ih * p->w, sizeof(float) * (size_t)(hi - lo));
            for (int64_t u = hi; u < wp; u++) r[u] = 0.0f;
        }
        for (int64_t u = 0; u < wp; u++) {          /* columns: B^T d */
            float d0 = d[0][u], d1 = d[1][u], d2 = d[2][u], d3 = d[3][u], d4 = d[4][u], d5 = d[5][u];
            t[0][u] = 4.0f * d0 - 5.0f * d2 + d4;
            t[1][u] = -4.0f * (d1 + d2) + d3 + d4;
            t[2][u] = 4.0f * (d1 - d2) - d3 + d4;
            t[3][u] = -2.0f * (d1 - d3) - d2 + d4;
            t[4][u] = 2.0f * (d1 - d3) - d2 + d4;
            t[5][u] = 4.0f * d1 - 5.0f * d3 + d5;
        }
        float *out = v + (th - t0) * p->tw;
        for (int k = 0; k < 6; k++) {                /* rows: (B^T d) B */
            const float *s = t[k];
            float *o0 = out + (size_t)(6 * k) * vstride;
            int64_t q = 0;
#ifdef KILN_HAVE_AVX512
            if (p->isa == KILN_ISA_AVX512) {
                wg_input_row_avx512(s, o0, vstride, p->tw);
                q = p->tw;
            }
#endif
#ifdef KILN_MK_AVX2
            if (p->isa != KILN_ISA_PORTABLE && q < p->tw) q = wg_input_row_avx2(s, o0, vstride, p->tw);
#endif
            for (; q < p->tw; q++) {
                const float *e = s + 4 * q;
                float e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3], e4 = e[4], e5 = e[5];
                o0[q] = 4.0f * e0 - 5.0f * e2 + e4;
                o0[vstride + q] = -4.0f * (e1 + e2) + e3 + e4;
                o0[2 * vstride + q] = 4.0f * (e1 - e2) - e3 + e4;
                o0[3 * vstride + q] = -2.0f * (e1 - e3) - e2 + e4;
                o0[4 * vstride + q] = 2.0f * (e1 - e3) - e2 + e4;
                o0[5 * vstride + q] = 4.0f * e1 - 5.0f * e3 + e5;
            }
        }
    }
}

/* Step 3 for output channel m, tile rows [t0, t1): M_xi[t] at mm + xi*mstride. */
static void output_transform(const wg_params *p, const float *mm, size_t mstride, int64_t t0, int64_t t1, float bias,
                             float *ym) {
    for (int64_t th = t0; th < t1; th++) {
        const float *row = mm + (th - t0) * p->tw;
        int64_t q = 0;
#if defined(KILN_MK_AVX2) || defined(KILN_HAVE_AVX512)
        float *yr[4];
        int64_t nrows = p->oh - 4 * th < 4 ? p->oh - 4 * th : 4;
        for (int64_t i = 0; i < nrows; i++) yr[i] = ym + (4 * th + i) * p->ow;
#endif
#ifdef KILN_HAVE_AVX512
        if (p->isa == KILN_ISA_AVX512) {
            wg_output_row_avx512(row, mstride, p->tw, bias, yr, nrows, p->ow);
            q = p->tw;
        }
#endif
#ifdef KILN_MK_AVX2
        if (p->isa != KILN_ISA_PORTABLE && q < p->tw) q = wg_output_row_avx2(row, mstride, p->tw, bias, yr, nrows, p->ow);
#endif
        for (; q < p->tw; q++) {
            float z[6][4], o[4][4];
            for (int k = 0; k < 6; k++) {            /* rows: M A */
                const float *x = row + (size_t)(6 * k) * mstride + q;
                float x0 = x[0], x1 = x[mstride], x2 = x[2 * mstride], x3 = x[3 * mstride], x4 = x[4 * mstride],
                      x5 = x[5 * mstride];
                z[k][0] = x0 + x1 + x2 + x3 + x4;
                z[k][1] = x1 - x2 + 2.0f * (x3 - x4);
                z[k][2] = x1 + x2 + 4.0f * (x3 + x4);
                z[k][3] = x1 - x2 + 8.0f * (x3 - x4) + x5;
            }
            for (int j = 0; j < 4; j++) {            /* columns: A^T (M A) */
                o[0][j] = z[0][j] + z[1][j] + z[2][j] + z[3][j] + z[4][j] + bias;
                o[1][j] = z[1][j] - z[2][j] + 2.0f * (z[3][j] - z[4][j]) + bias;
                o[2][j] = z[1][j] + z[2][j] + 4.0f * (z[3][j] + z[4][j]) + bias;
                o[3][j] = z[1][j] - z[2][j] + 8.0f * (z[3][j] - z[4][j]) + z[5][j] + bias;
            }
            int64_t rows = p->oh - 4 * th < 4 ? p->oh - 4 * th : 4, cols = p->ow - 4 * q < 4 ? p->ow - 4 * q : 4;
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < cols; j++) ym[(4 * th + i) * p->ow + 4 * q + j] = o[i][j];
        }
    }
}

static const kiln_act wg_identity = {KILN_UNARY_IDENTITY, 0.0f, 0.0f};

typedef struct wg_job {
    const wg_params *p;
    const float *x, *u, *bias;
    float *y, *workspace;
    size_t workspace_floats;
    int64_t rows, blocks;
} wg_job;

static void wg_items(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const wg_job *j = ctx;
    const wg_params *p = j->p;
    float *ws = j->workspace + (size_t)thread * j->workspace_floats;
    for (size_t item = begin; item < end; item++) {
        int64_t n = (int64_t)item / j->blocks, t0 = ((int64_t)item % j->blocks) * j->rows;
        int64_t t1 = t0 + j->rows < p->th ? t0 + j->rows : p->th, tb = (t1 - t0) * p->tw;
        size_t ld = wg_ld(tb), vstride = (size_t)p->c * ld, mstride = (size_t)p->m * ld;
        float *v = ws, *mm = ws + 36 * vstride, *buf = mm + 36 * mstride;
        const float *x = j->x + n * p->c * p->h * p->w;
        float *y = j->y + n * p->m * p->oh * p->ow;
        for (int64_t c = 0; c < p->c; c++) input_transform(p, x + c * p->h * p->w, t0, t1, v + c * ld, vstride, buf);
        int64_t strips = (tb + KILN_NR - 1) / KILN_NR;
        for (int xi = 0; xi < 36; xi++) {
            const float *u = j->u + (size_t)xi * p->panels * p->c * KILN_MR;
            for (int64_t k0 = 0; k0 < p->c; k0 += 256) {
                size_t kc = (size_t)(p->c - k0 < 256 ? p->c - k0 : 256);
#ifdef KILN_HAVE_AVX512
                if (p->isa == KILN_ISA_AVX512) {
                    kiln_gemm_panels_avx512(kc, u + k0 * KILN_MR, (size_t)p->c * KILN_MR, p->panels, p->m,
                                            v + xi * vstride + (size_t)k0 * ld, ld, tb, mm + xi * mstride, ld, k0 > 0,
                                            0, NULL, &wg_identity);
                    continue;
                }
#endif
                for (int64_t s = 0; s < strips; s++) {
                    const float *b = v + xi * vstride + (size_t)k0 * ld + (size_t)s * KILN_NR;
                    for (int64_t pn = 0; pn < p->panels; pn++) {
                        int64_t r0 = pn * KILN_MR;
                        kiln_tile_out o = {mm + xi * mstride + (size_t)r0 * ld + (size_t)s * KILN_NR, ld,
                                           (int)(p->m - r0 < KILN_MR ? p->m - r0 : KILN_MR),
                                           (int)(tb - s * KILN_NR < KILN_NR ? tb - s * KILN_NR : KILN_NR), k0 > 0, 0,
                                           NULL, &wg_identity};
                        kiln_micro_tile(p->isa, kc, u + (pn * p->c + k0) * KILN_MR, b, ld, &o);
                    }
                }
            }
        }
        for (int64_t m = 0; m < p->m; m++) {
            float *ym = y + m * p->oh * p->ow;
            output_transform(p, mm + m * ld, mstride, t0, t1, j->bias ? j->bias[m] : 0.0f, ym);
            int64_t r0 = 4 * t0, r1 = 4 * t1 < p->oh ? 4 * t1 : p->oh;
            kiln_apply_act(&p->a.act, ym + r0 * p->ow, (size_t)((r1 - r0) * p->ow));
        }
    }
}

static void run_wg(const kiln_exec *e, const kiln_instr *ins) {
    const wg_params *p = ins->params;
    if (p->direct) {
        kiln_cp_run(e, &p->cp, KILN_IN(e, ins, 0), p->u,
                    ins->nin < 3 || ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2), KILN_OUT(e, ins, 0));
        return;
    }
    wg_job j = {p, KILN_IN(e, ins, 0), p->u,
                ins->nin < 3 || ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2), KILN_OUT(e, ins, 0),
                e->workspace, e->workspace_floats, p->max_rows, 0};
    /* With threads, smaller blocks so every thread gets one (more weight reads per block). */
    int64_t want = p->n >= (int64_t)e->threads ? 1 : ((int64_t)e->threads + p->n - 1) / p->n;
    if (want > 1 && (p->th + j.rows - 1) / j.rows < want) j.rows = (p->th + want - 1) / want;
    j.blocks = (p->th + j.rows - 1) / j.rows;
    kiln_parallel_for(e, (size_t)(p->n * j.blocks), wg_items, &j);
}

const kiln_kernel kiln_k_conv2d_winograd = {KILN_OP_CONV2D_WINOGRAD, "conv2d_winograd", KILN_CONV_ATTR_SIZE, 2, 3, 1,
                                            1, 0, check_wg, run_wg, 0};
