/* qconv.h — QCONV2D's parameters and job, shared by qconv.c (checking, the pair path and
 * depthwise) and qconv4.c (the quad-layout path on phase planes). */
#ifndef KILN_KERNELS_QCONV_H
#define KILN_KERNELS_QCONV_H

#include "qgemm.h"

typedef struct qconv_params {
    kiln_conv_attrs a;
    kiln_qparams q;
    int64_t n, c, h, w, m, oh, ow, cg, mg, kdim, kk, ohw, nb, nblocks, mult_dw;
    int64_t kq;                  /* k quads (quad layout), 0 with the pair layout */
    kiln_qgemm4_fn gemm4;        /* non-NULL: the quad layout */
    kiln_qpack4_fn pack4;
    kiln_qdw_row_fn dwrow;       /* non-NULL: depthwise on the padded plane (pw x ph bytes) */
    int64_t pw, ph;
    int32_t *wq;                 /* [M][kh] weight quads for dwrow */
    int depthwise, direct;       /* direct: 1x1, stride 1, no padding (pack the input rows as they are) */
    kiln_qgemm_fn gemm;
    kiln_qpack_fn pack;
    kiln_qrequant_row_fn requant;
    kiln_qdw_tap_fn tap;
    const int8_t *wraw;          /* the constant weights (depthwise reads them directly) */
    int32_t *mult, *shift, *bias; /* bias: raw (depthwise) or bias - x_zp * sum(w) (GEMM) */
    int32_t *apack;              /* [M][kk] weight pairs or [M][kq] quads (GEMM path) */
    /* Quad path on phase planes (qconv4.c; not for direct): per image and group the input
     * is copied into sh * sw zero-point-padded phase planes per channel, plane (a, b)
     * holding padded rows a, a + sh, ... and columns b, b + sw, ... (phh x phw bytes); the
     * output is computed on a virtual grid of oh rows x phw columns (columns past ow are
     * discarded), so every kernel tap's row of virtual pixels is one contiguous run. */
    int64_t phh, phw, vcount;     /* vcount: virtual pixels (oh - 1) * phw + ow (ohw when direct) */
    int64_t phase_bytes;         /* cg * sh * sw * phh * phw, then 16 bytes of slack and an x_zp row of nb bytes */
    kiln_qgemm4q_fn gemm4q;      /* non-NULL: the quad core with requantization fused */
    kiln_qdw_rowq_fn dwrowq;     /* non-NULL: dwrow with the requantization fused (VBMI) */
    int64_t *tapoff;             /* [4 kq] offset of tap k's run in the phase planes (k >= kdim: the x_zp row) */
    kiln_qdw_planeq_fn dwplaneq; /* non-NULL: whole planes from the unpadded input (VBMI), no copy */
    uint64_t phase_used;         /* bit pa * sw + pb: some tap reads phase plane (pa, pb) (all set past 64 phases) */
    /* Channel-vector path (qconvi.c): input channels padded to icp, output channels to imp;
     * iw: weight quads per 32-channel block, irq: bias, multipliers, shifts (imp each). */
    int ind;
    int64_t icp, imp;
    int32_t *iw, *irq;
    int64_t *itapoff;            /* [kh kw] byte offset of each tap's row from the window's first */
    int64_t ipix, igroups;       /* pixels per job (a multiple of the 7-pixel tile), groups per plane */
} qconv_params;

typedef struct qconv_job { const qconv_params *p; const uint8_t *x; uint8_t *y; float *ws; size_t ws_floats; } qconv_job;

/* Sizes the quad path (pixel blocks, phase-plane geometry, tap offsets into p->tapoff,
 * which holds 4 kq entries) and returns its per-thread workspace in bytes. */
size_t kiln_qconv4_setup(qconv_params *p);
/* Runs jobs [begin, end) (image, group, pixel block) of the quad path. */
void kiln_qconv4_blocks(void *ctx, size_t begin, size_t end, uint32_t thread);

/* The channel-vector path (qconvi.c: AVX-512 VNNI, group 1, output planes up to 4096 pixels;
 * KILN_QGEMM=noind hides it): whether it serves the conv, the int32 words of its packed
 * weights and constants, their packing (p->bias/mult/shift set; returns the per-thread
 * workspace in bytes) and its jobs (image, chunk of 64 output channels). */
int kiln_qconvi_usable(const kiln_conv_attrs *a, int64_t c, int64_t m, int64_t h, int64_t w, int64_t ohw, int depthwise);
size_t kiln_qconvi_weight_words(const kiln_conv_attrs *a, int64_t c, int64_t m);
size_t kiln_qconvi_setup(qconv_params *p, int32_t *words, const int8_t *w);
void kiln_qconvi_blocks(void *ctx, size_t begin, size_t end, uint32_t thread);

#endif
