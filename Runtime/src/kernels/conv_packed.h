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
} cp_params;

/* Completes p from its attributes and n, c, h, w, m, oh, ow (checked by the caller): panels,
 * K, the K slice, the ISA; asks for the workspace. */
kiln_status kiln_cp_init(kiln_check *c, cp_params *p);
/* y = conv(x) with weights w packed [ceil(M/6), C*kh*kw, 6], plus bias (or NULL), act. */
void kiln_cp_run(const kiln_exec *e, const cp_params *p, const float *x, const float *w, const float *bias, float *y);
/* OIHW weight bytes g [m, k] (k = C*kh*kw, little-endian f32) -> panels u [ceil(m/6), k, 6]
 * (u zeroed by the caller: the rows past m stay zero). */
void kiln_cp_pack_oihw(int64_t m, int64_t k, const uint8_t *g, float *u);

#endif
