/* qconv4.c — QCONV2D's quad-layout path (a dot-product core: AVX-512 VNNI, AVX-VNNI,
 * NEON; qgemm.h): four kernel taps per packed row, weights as i8 quads packed at load.
 * Algorithm: per image and group, the group's input channels are copied once into
 * zero-point-padded phase planes (qconv.h: plane (a, b) of channel c holds padded rows
 * a, a + sh, ... and columns b, b + sw, ..., phh x phw bytes). The output is computed on a
 * virtual grid of oh rows x phw columns: virtual pixel v = r * phw + col reads tap (c, ki, kj)
 * at plane (ki*dh % sh, kj*dw % sw) of c, row r + ki*dh / sh, column col + kj*dw / sw, so a
 * tap's row for a block of consecutive virtual pixels is one contiguous run at a fixed
 * offset (p->tapoff) — no im2col, and no bounds checks: the padding is in the planes.
 * Phase planes no tap reads (a 1x1 stride-2 conv reads one of four) are not built.
 * Columns col >= ow read the next row (finite garbage) and are never stored; the last
 * virtual pixel is the last real one, so every read stays inside the planes. Per block
 * of virtual pixels (the packed block near 512 KB, half of L2: few passes over the
 * weights) four runs are interleaved into quads, the core computes the group's [mg, block] sums and requantizes
 * them in its tiles (AVX-512 VNNI: straight into the output when the virtual grid is the
 * real one, else into a u8 block whose real row segments are copied out), or writes an
 * int32 block whose row segments are then requantized. A 1x1 stride-1 unpadded conv ("direct")
 * reads the input channels themselves as the runs (phw = ow). */
#include "qconv.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Bytes after the phase planes that the stride-2 gather's last vector may write. */
#define QCONV4_SLACK 16

size_t kiln_qconv4_setup(qconv_params *p) {
    const kiln_conv_attrs *a = &p->a;
    int64_t kq = p->kq;
    if (p->direct) {
        p->phh = p->oh;
        p->phw = p->ow;
        p->vcount = p->ohw;
        p->phase_bytes = 0;
    } else {
        int64_t hp = p->h + a->pt + a->pb, wp = p->w + a->pl + a->pr;
        p->phh = (hp + a->sh - 1) / a->sh;
        p->phw = (wp + a->sw - 1) / a->sw;
        p->vcount = (p->oh - 1) * p->phw + p->ow;
        p->phase_bytes = p->cg * a->sh * a->sw * p->phh * p->phw;
    }
    p->gemm4q = kiln_qgemm4q_vnni512();
    int64_t nb = (131072 / kq) / 32 * 32;
    if (nb < 32) nb = 32;
    if (nb > 1024) nb = 1024;
    if (nb > p->vcount) nb = p->vcount;
    p->nb = nb;
    p->nblocks = (p->vcount + nb - 1) / nb;
    int64_t plane = p->phh * p->phw;
    p->phase_used = a->sh * a->sw > 64 ? ~(uint64_t)0 : 0;
    for (int64_t k = 0; k < 4 * kq; k++) {
        if (k >= p->kdim) { p->tapoff[k] = p->phase_bytes + QCONV4_SLACK; continue; } /* the x_zp row */
        int64_t kj = k % a->kw, ki = (k / a->kw) % a->kh, ci = k / (a->kw * a->kh);
        if (p->direct) { p->tapoff[k] = ci * p->ohw; continue; }
        int64_t y = ki * a->dh, x = kj * a->dw;
        int64_t ph = (y % a->sh) * a->sw + x % a->sw;
        if (ph < 64) p->phase_used |= (uint64_t)1 << ph;
        p->tapoff[k] = (ci * a->sh * a->sw + ph) * plane + (y / a->sh) * p->phw + x / a->sw;
    }
    /* bpack (kq * nb quads), cblock (mg * nb i32), the phase planes, their slack and the x_zp row. */
    return (size_t)(kq * nb * 4 + p->mg * nb * 4 + p->phase_bytes + QCONV4_SLACK + nb);
}

/* dst[col] = src[2 col] for col in [lo, hi), src readable below byte `avail` (the end of
 * the input tensor) and dst writable below byte `room` (the end of the phase planes and
 * their slack): whole vectors may run past hi, and the caller rewrites dst[hi, phw) after,
 * while later rows and planes (filled in address order) overwrite what runs past the row.
 * SSE2: 32 bytes at a time, the even ones kept by a 0x00FF mask on the 16-bit lanes and a
 * pack. */
static void gather2(uint8_t *dst, const uint8_t *src, int64_t lo, int64_t hi, int64_t avail, int64_t room) {
    int64_t col = lo;
#if defined(__SSE2__)
    const __m128i even = _mm_set1_epi16(0xFF);
    for (; col < hi && col + 16 <= room && 2 * col + 32 <= avail; col += 16) {
        __m128i v0 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(src + 2 * col)), even);
        __m128i v1 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(src + 2 * col + 16)), even);
        _mm_storeu_si128((__m128i *)(dst + col), _mm_packus_epi16(v0, v1));
    }
#else
    (void)avail;
    (void)room;
#endif
    for (; col < hi; col++) dst[col] = src[2 * col];
}

/* The group's input channels into their phase planes; xend: the end of the input tensor. */
static void build_phases(const qconv_params *p, const uint8_t *xg, const uint8_t *xend, uint8_t *dst) {
    const uint8_t *dend = dst + p->phase_bytes + QCONV4_SLACK;
    const kiln_conv_attrs *a = &p->a;
    uint8_t zp = (uint8_t)p->q.x_zp;
    for (int64_t ci = 0; ci < p->cg; ci++)
        for (int64_t pa = 0; pa < a->sh; pa++)
            for (int64_t pb = 0; pb < a->sw; pb++) {
                int64_t ph = pa * a->sw + pb;
                if (ph < 64 && !(p->phase_used >> ph & 1)) { dst += p->phh * p->phw; continue; } /* never read (1x1 stride 2) */
                const uint8_t *in = xg + ci * p->h * p->w;
                /* Columns col with iw = col * sw + pb - pl inside [0, w): [lo, hi). */
                int64_t lo = kiln_ceil_div(a->pl - pb, a->sw), hi = kiln_ceil_div(p->w + a->pl - pb, a->sw);
                if (lo < 0) lo = 0;
                if (hi > p->phw) hi = p->phw;
                if (hi < lo) hi = lo;
                for (int64_t r = 0; r < p->phh; r++, dst += p->phw) {
                    int64_t ih = r * a->sh + pa - a->pt;
                    if (ih < 0 || ih >= p->h) { memset(dst, zp, (size_t)p->phw); continue; }
                    const uint8_t *row = in + ih * p->w;
                    int64_t off = pb - a->pl; /* dst[col] = row[col * sw + off] */
                    memset(dst, zp, (size_t)lo);
                    if (a->sw == 1) memcpy(dst + lo, row + lo + off, (size_t)(hi - lo));
                    else if (a->sw == 2) gather2(dst, row + off, lo, hi, xend - (row + off), dend - dst);
                    else for (int64_t col = lo; col < hi; col++) dst[col] = row[col * a->sw + off];
                    memset(dst + hi, zp, (size_t)(p->phw - hi));
                }
            }
}

/* The real pixels among virtual pixels [v0, v0 + cnt), one output row segment at a time:
 * requantized from the int32 row acc (channel m) into the channel's output plane out. */
static void requant_segments(const qconv_params *p, int64_t v0, int64_t cnt, int64_t m, const int32_t *acc, uint8_t *out) {
    for (int64_t v = v0; v < v0 + cnt;) {
        int64_t r = v / p->phw, col = v % p->phw, stop = r * p->phw + p->phw;
        if (stop > v0 + cnt) stop = v0 + cnt;
        int64_t len = (col + (stop - v) < p->ow ? col + (stop - v) : p->ow) - col;
        if (len > 0) p->requant(acc + (v - v0), len, p->bias[m], p->mult[m], p->shift[m], &p->q, out + r * p->ow + col);
        v = stop;
    }
}

/* The real pixels among virtual pixels [v0, v0 + cnt) of the u8 block yb (mg rows of cnt)
 * into the group's output planes: per output row segment (found once, not per channel),
 * every channel's copy. */
static void copy_segments(const qconv_params *p, int64_t v0, int64_t cnt, const uint8_t *yb, uint8_t *outg) {
    int64_t r = v0 / p->phw, col = v0 % p->phw;
    for (int64_t v = v0; v < v0 + cnt; r++, col = 0) {
        int64_t stop = r * p->phw + p->phw < v0 + cnt ? r * p->phw + p->phw : v0 + cnt;
        int64_t len = (col + (stop - v) < p->ow ? col + (stop - v) : p->ow) - col;
        for (int64_t mm = 0; mm < p->mg && len > 0; mm++)
            memcpy(outg + mm * p->ohw + r * p->ow + col, yb + mm * cnt + (v - v0), (size_t)len);
        v = stop;
    }
}

void kiln_qconv4_blocks(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qconv_job *j = ctx;
    const qconv_params *p = j->p;
    uint8_t *bpack = (uint8_t *)(j->ws + thread * j->ws_floats);
    int32_t *cblock = (int32_t *)(bpack + p->kq * p->nb * 4);
    uint8_t *phases = (uint8_t *)(cblock + p->mg * p->nb), *zprow = phases + p->phase_bytes + QCONV4_SLACK;
    int64_t built = -1; /* the (image, group) whose phase planes are in the workspace */
    memset(zprow, p->q.x_zp, (size_t)p->nb);
    for (size_t job = begin; job < end; job++) {
        int64_t blk = (int64_t)job % p->nblocks, ng = (int64_t)job / p->nblocks;
        int64_t g = ng % p->a.group, n = ng / p->a.group;
        int64_t v0 = blk * p->nb, cnt = p->vcount - v0 < p->nb ? p->vcount - v0 : p->nb;
        const uint8_t *xg = j->x + (n * p->c + g * p->cg) * p->h * p->w;
        const uint8_t *base = phases;
        if (p->direct) base = xg;
        else if (built != ng) { build_phases(p, xg, j->x + p->n * p->c * p->h * p->w, phases); built = ng; }
        for (int64_t t = 0; t < p->kq; t++) {
            const uint8_t *s[4];
            for (int u = 0; u < 4; u++) {
                int64_t k = 4 * t + u;
                s[u] = k < p->kdim ? base + p->tapoff[k] + v0 : zprow;
            }
            p->pack4(s[0], s[1], s[2], s[3], cnt, bpack + t * cnt * 4);
        }
        uint8_t *outg = j->y + (n * p->m + g * p->mg) * p->ohw;
        const int32_t *ag = p->apack + g * p->mg * p->kq;
        if (p->gemm4q) { /* requantized in the tiles: into the output, or a virtual block to compact */
            kiln_qrequant_rows r = {p->bias + g * p->mg, p->mult + g * p->mg, p->shift + g * p->mg, &p->q};
            if (p->phw == p->ow) { p->gemm4q(p->mg, cnt, p->kq, ag, bpack, &r, outg + v0, p->ohw); continue; }
            uint8_t *yb = (uint8_t *)cblock;
            p->gemm4q(p->mg, cnt, p->kq, ag, bpack, &r, yb, cnt);
            copy_segments(p, v0, cnt, yb, outg);
            continue;
        }
        p->gemm4(p->mg, cnt, p->kq, ag, bpack, cblock);
        for (int64_t mm = 0; mm < p->mg; mm++) {
            int64_t m = g * p->mg + mm;
            const int32_t *acc = cblock + mm * cnt;
            if (p->phw == p->ow) { p->requant(acc, cnt, p->bias[m], p->mult[m], p->shift[m], &p->q, outg + mm * p->ohw + v0); continue; }
            requant_segments(p, v0, cnt, m, acc, outg + mm * p->ohw);
        }
    }
}
