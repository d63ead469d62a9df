/* conv_direct_load.c — load-time side of conv_direct512.c's direct kernels: whether an
 * instruction uses them (kiln_cd_pick: shapes, the cost model of the tile width, the
 * pixel-lane rule, the padded-copy bound), the floats and layout of their repacked weights
 * and tap table (kiln_cd_floats, kiln_cd_pack), and the row buffer's channel stride. Plain
 * C: it runs on every CPU (the pick says no without AVX-512). */
#include "conv_packed.h"

#include <stdlib.h>
#include <string.h>

/* Channel stride of a row buffer for rows of ow outputs: whole 8-pixel groups plus one
 * (a tile stores 8 pixels at a time), and not a multiple of 4 KB. */
size_t kiln_cd_row_ld(int64_t ow) {
    size_t ld = (size_t)((ow + 7) / 8 * 8 + 8);
    return ld % 1024 == 0 ? ld + 16 : ld;
}

#ifdef KILN_HAVE_AVX512
/* Modeled cycles of one tile of r pixels: the FMAs (two per cycle) or the loads (nv
 * weight vectors, r broadcasts and the tap offset per tap, three per cycle), whichever
 * is more, then the transposed stores (8 pixels each). */
static double cd_tile_cost(int64_t k, int r, int nv) {
    double fma = (double)k * r * nv / 2.0, loads = (double)k * (nv + r + 1) / 3.0;
    return (fma > loads ? fma : loads) + 40.0 * nv * ((r + 7) / 8) + 20.0;
}

/* The pixels per tile that make a row cheapest (full tiles and a narrower last one). */
static int cd_pick_r(int64_t ow, int64_t k, int nv, int rmax) {
    int best = 1;
    double best_cost = 1e300;
    for (int r = 1; r <= rmax; r++) {
        int64_t rest = ow % r;
        double cost = (double)(ow / r) * cd_tile_cost(k, r, nv) + (rest ? cd_tile_cost(k, (int)rest, nv) : 0.0);
        if (cost < best_cost) { best_cost = cost; best = r; }
    }
    return best;
}
#endif

/* Used on AVX-512 CPUs at strides 1 and 2 except for pointwise convs over many pixels
 * or few input channels, where the packed GEMM reads the input in place at full width
 * (c16 112x112 -> 96: 146 vs 97 GFLOP/s; 7x7 and 14x14 outputs gain 15-40%). nv = 2 (32
 * channels) unless that pads M more than 16-channel blocks do. Test and tuning knobs,
 * read at load: KILN_CONV_DIRECT=0 keeps the packed GEMM, KILN_CONV_DIRECT_R=R forces
 * the tile width, KILN_CONV_DIRECT_PV (below) the pixel lanes. */
void kiln_cd_pick(cp_params *p) {
    p->cd_nv = 0;
    const kiln_conv_attrs *a = &p->a;
#ifdef KILN_HAVE_AVX512
    if (p->isa != KILN_ISA_AVX512 || (a->sw != 1 && a->sw != 2)) return;
    if (p->pointwise && (p->ohw > 400 || p->kdim < 64)) return;
    if (p->ow > 65536) return;   /* the row buffer: 32 rows of the output width per thread */
    const char *force = getenv("KILN_CONV_DIRECT");
    if (force && force[0] == '0') return;
    int64_t hp = (p->oh - 1) * a->sh + (a->kh - 1) * a->dh + 1, wp = (p->ow - 1) * a->sw + (a->kw - 1) * a->dw + 1;
    if (hp < p->h + a->pt) hp = p->h + a->pt;
    if (wp < p->w + a->pl) wp = p->w + a->pl;
    /* Offsets in 32-bit ints, and a padded copy (in every thread's workspace) at most 4x
     * the input plus a border: huge pads or dilations around a tiny output (a 2x2 input,
     * dilation 30000: 3.6 GB per thread) go by the packed GEMM. */
    double padded = (double)p->c * (double)hp * (double)wp;
    if (padded >= (double)((int64_t)1 << 30) || padded > 4.0 * (double)p->c * (double)p->h * (double)p->w + 65536.0)
        return;
    p->cd_padded = a->pt || a->pl || hp > p->h || wp > p->w;
    p->cd_hp = hp;
    p->cd_wp = wp;
    int64_t m32 = (p->m + 31) / 32 * 32, m16 = (p->m + 15) / 16 * 16;
    p->cd_nv = m32 == m16 ? 2 : 1;
    const char *fpv = getenv("KILN_CONV_DIRECT_PV");
    /* Pixel lanes at stride 1 when the channel lanes would be mostly empty or load-bound
     * (M <= 24: c16 32x32 -> 16 3x3 165 -> 191 GFLOP/s, 16x16 -> 24 139 -> 166), or the
     * taps too few to amortize the transposed stores (c3 32x32 -> 32 3x3: 138 -> 185),
     * and rows fill 3/4 of the strips; never where 32-channel tiles stay busy (c32 16x16
     * -> 32: 196 vs 181; c64 56x56 -> 64: 226 vs 201). KILN_CONV_DIRECT_PV=0 turns it
     * off, =M uses it up to M channels (tests). */
    int64_t strip_px = (p->ow + 15) / 16 * 16;
    int pv = a->sw == 1 && (p->m <= 8 || ((p->m <= 24 || p->kdim < 64) && 4 * p->ow >= 3 * strip_px));
    if (fpv) pv = a->sw == 1 && p->m <= atoi(fpv);
    p->cd_pv = pv;
    p->cd_r = cd_pick_r(p->ow, p->kdim, p->cd_nv, p->cd_nv == 2 ? KILN_CD_RMAX2 : KILN_CD_RMAX1);
    const char *fr = getenv("KILN_CONV_DIRECT_R");
    if (fr && atoi(fr) >= 1 && atoi(fr) <= (p->cd_nv == 2 ? KILN_CD_RMAX2 : KILN_CD_RMAX1)) p->cd_r = atoi(fr);
#else
    (void)a;
#endif
}

size_t kiln_cd_floats(const cp_params *p) {
    if (!p->cd_nv) return 0;
    int64_t lanes = p->cd_pv ? p->m : 16 * p->cd_nv, blocks = (p->m + lanes - 1) / lanes;
    return (size_t)(blocks * lanes * p->kdim) + (size_t)p->kdim;   /* weights, then the tap table */
}

void kiln_cd_pack(cp_params *p, const uint8_t *src, int oihw, float *mem) {
    int64_t lanes = p->cd_pv ? p->m : 16 * p->cd_nv, blocks = (p->m + lanes - 1) / lanes, k = p->kdim;
    const kiln_conv_attrs *a = &p->a;
    float *w = mem;
    int32_t *tap = (int32_t *)(void *)(mem + blocks * lanes * k);
    memset(w, 0, sizeof(float) * (size_t)(blocks * lanes * k));
    for (int64_t m = 0; m < p->m; m++)
        for (int64_t t = 0; t < k; t++)
            w[((m / lanes) * k + t) * lanes + m % lanes] =
                kiln_rdf32(src + 4 * (size_t)(oihw ? m * k + t : ((m / KILN_MR) * k + t) * KILN_MR + m % KILN_MR));
    for (int64_t t = 0; t < k; t++) {
        int64_t kj = t % a->kw, ki = (t / a->kw) % a->kh, ci = t / (a->kw * a->kh);
        tap[t] = (int32_t)((ci * p->cd_hp + ki * a->dh) * p->cd_wp + kj * a->dw);
    }
    p->cd_w = w;
    p->cd_tap = tap;
}
