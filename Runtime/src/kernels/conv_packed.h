/* conv_packed.h — CONV2D_PACKED's parameters and entry points, shared with the Winograd
 * kernel, which runs small convolutions through the packed GEMM instead (conv_winograd.c). */
#ifndef KILN_CONV_PACKED_H
#define KILN_CONV_PACKED_H

#include "microkernel.h"

typedef struct cp_params {
    kiln_conv_attrs a;
    int64_t n, c, h, w, m, oh, ow, kdim, ohw, panels, kstep;
    int pointwise;
    int gather;                  /* AVX-512: im2col by masked loads / gathers (conv_gather512.c) */
    kiln_isa isa;                /* chosen at load (isa.c) */
    /* The direct kernel (conv_direct512.c) when cd_nv > 0: 16*cd_nv channels by cd_r pixels
     * per tile, on weights and a tap table repacked at load (kiln_cd_pack). */
    int cd_nv, cd_r, cd_padded;
    int cd_pv;                   /* M <= 8, stride 1: lanes over 16 output pixels instead */
    int64_t cd_hp, cd_wp;        /* padded input plane */
    const float *cd_w;
    const int32_t *cd_tap;
} cp_params;

/* Completes p from its attributes and n, c, h, w, m, oh, ow (checked by the caller): panels,
 * K, the K slice, the ISA; asks for the workspace. */
kiln_status kiln_cp_init(kiln_check *c, cp_params *p);
/* y = conv(x) with weights w packed [ceil(M/6), C*kh*kw, 6], plus bias (or NULL), act. */
void kiln_cp_run(const kiln_exec *e, const cp_params *p, const float *x, const float *w, const float *bias, float *y);
/* OIHW weight bytes g [m, k] (k = C*kh*kw, little-endian f32) -> panels u [ceil(m/6), k, 6]
 * (u zeroed by the caller: the rows past m stay zero). */
void kiln_cp_pack_oihw(int64_t m, int64_t k, const uint8_t *g, float *u);

/* Direct kernel: chooses it for p (sets cd_nv, 0 when not used); the floats its weights
 * and tap table need (0 when not used); repacks the weights (f32 bytes: the 6-row panels
 * above, or OIHW when oihw) into mem and points p at them. kiln_cp_init calls kiln_cd_pick; a caller without
 * constant weights sets cd_nv = 0. */
void kiln_cd_pick(cp_params *p);
size_t kiln_cd_floats(const cp_params *p);
void kiln_cd_pack(cp_params *p, const uint8_t *src, int oihw, float *mem);
/* The direct kernel's row buffer stride for rows of ow outputs (32 rows per thread). */
size_t kiln_cd_row_ld(int64_t ow);
/* Pixels per channel-lane tile: at most 14 with nv = 2 (28 accumulators), 16 with nv = 1. */
#define KILN_CD_RMAX2 14
#define KILN_CD_RMAX1 16
#ifdef KILN_HAVE_AVX512
void kiln_cd_run(const kiln_exec *e, const cp_params *p, const float *x, const float *bias, float *y);
#endif

#endif
