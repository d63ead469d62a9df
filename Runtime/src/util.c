/* util.c — small shared helpers: dtypes, status strings, aligned allocation, f16/bf16. */
#include "internal.h"

#include <stdlib.h>

const char *kiln_status_message(kiln_status status) {
    switch (status) {
    case KILN_OK: return "ok";
    case KILN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case KILN_ERR_OUT_OF_MEMORY: return "out of memory";
    case KILN_ERR_IO: return "i/o error";
    case KILN_ERR_BAD_MAGIC: return "not a kiln plan (bad magic)";
    case KILN_ERR_VERSION: return "unsupported plan format version";
    case KILN_ERR_TRUNCATED: return "plan is truncated";
    case KILN_ERR_CHECKSUM: return "checksum mismatch";
    case KILN_ERR_MALFORMED: return "malformed plan";
    case KILN_ERR_UNSUPPORTED: return "unsupported by this runtime build";
    case KILN_ERR_NOT_FOUND: return "not found";
    case KILN_ERR_INPUT_NOT_SET: return "input not set";
    case KILN_ERR_SIZE_MISMATCH: return "size mismatch";
    case KILN_ERR_THREAD: return "could not create threads";
    }
    return "unknown status";
}

uint32_t kiln_dtype_bytes(uint8_t dtype) {
    switch (dtype) {
    case KILN_F32: case KILN_I32: case KILN_U32: return 4;
    case KILN_F16: case KILN_BF16: case KILN_I16: case KILN_U16: return 2;
    case KILN_F64: case KILN_I64: case KILN_U64: return 8;
    case KILN_I8: case KILN_U8: case KILN_BOOL: return 1;
    default: return 0;
    }
}

uint32_t kiln_dtype_size(kiln_dtype dtype) { return kiln_dtype_bytes((uint8_t)dtype); }

const char *kiln_dtype_name(kiln_dtype dtype) {
    static const char *names[] = {"?", "f32", "f16", "bf16", "f64", "i8", "u8", "i16", "u16",
                                  "i32", "u32", "i64", "u64", "bool"};
    return (dtype >= 1 && dtype <= 13) ? names[dtype] : "?";
}

int kiln_is_float(uint8_t dtype) {
    return dtype == KILN_F32 || dtype == KILN_F16 || dtype == KILN_BF16 || dtype == KILN_F64;
}

int kiln_mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int kiln_has_zstd(void) {
#ifdef KILN_USE_ZSTD
    return 1;
#else
    return 0;
#endif
}

int kiln_has_blas(void) {
#ifdef KILN_USE_BLAS
    return 1;
#else
    return 0;
#endif
}

/* The original pointer is stored just before the aligned block. */
void *kiln_aligned_alloc(size_t size) {
    if (size > SIZE_MAX - 64 - sizeof(void *)) return NULL;
    uint8_t *raw = malloc(size + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t start = (uintptr_t)(raw + sizeof(void *));
    uintptr_t aligned = (start + 63u) & ~(uintptr_t)63u;
    void **slot = (void **)(aligned - sizeof(void *));
    *slot = raw;
    return (void *)aligned;
}

void kiln_aligned_free(void *p) {
    if (!p) return;
    void **slot = (void **)((uintptr_t)p - sizeof(void *));
    free(*slot);
}

float kiln_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
    if (exp == 0x1F) bits = sign | 0x7F800000u | (man << 13);
    else if (exp != 0) bits = sign | ((exp + 112u) << 23) | (man << 13);
    else if (man == 0) bits = sign;
    else { /* subnormal: normalize */
        int e = -1;
        do { man <<= 1; e++; } while (!(man & 0x400u));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FFu) << 13);
    }
    float f; memcpy(&f, &bits, 4);
    return f;
}

void kiln_widen_f16(const uint8_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = kiln_f16_to_f32((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
}

/* Round to nearest even; overflow to infinity; NaN stays NaN. */
uint16_t kiln_f32_to_f16(float f) {
    uint32_t x; memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) return (uint16_t)(sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u : 0));
    if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);       /* rounds past 65504 */
    if (ax < 0x38800000u) {                                           /* subnormal or zero */
        if (ax < 0x33000000u) return (uint16_t)sign;
        uint32_t e = ax >> 23, man = (ax & 0x7FFFFFu) | 0x800000u, shift = 126u - e;
        uint32_t q = man >> shift, rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t q = ((ax - 0x38000000u) >> 13), rem = ax & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

float kiln_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f; memcpy(&f, &bits, 4);
    return f;
}

uint16_t kiln_f32_to_bf16(float f) {
    uint32_t x; memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7FFFu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}
