/* test.h — a minimal test framework and helpers for the runtime's C tests. */
#ifndef KILN_TEST_H
#define KILN_TEST_H

#include "../include/kiln.h"
#include "../src/opcodes.h"
#include "plan_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int g_failures, g_checks;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        g_checks++;                                                                         \
        if (!(cond)) {                                                                      \
            g_failures++;                                                                   \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                     \
            printf(__VA_ARGS__);                                                            \
            printf("\n");                                                                   \
        }                                                                                   \
    } while (0)

/* Deterministic uniform floats in [-1, 1). */
float test_rand(uint32_t *state);
void test_fill(float *x, size_t n, uint32_t seed);
/* Max |a-b| > atol + rtol*|b| anywhere? Returns the number of mismatches, reports the first. */
size_t test_compare(const char *what, const float *got, const float *want, size_t n, float rtol, float atol);

/* Loads the plan, runs it with `threads`, binds inputs in order and copies every output
 * into outputs[i] (sized by the caller). Returns the first failing status. */
kiln_status test_run(const uint8_t *plan, size_t size, uint32_t threads, const void *const *inputs,
                     void *const *outputs, char *err, size_t err_size);
/* Finishes the builder (uncompressed, current version), runs at 1 and 2 threads, checks
 * every output against want[i] (f32) within tolerances. */
void test_run_f32(pb *b, const char *what, const void *const *inputs, uint32_t nout, float *const *want,
                  const size_t *counts, float rtol, float atol);

/* One-instruction plans: operands are plan inputs (bound in order) unless `constant`;
 * `absent` passes KILN_NO_TENSOR. Results are compared with `data` (f32 within
 * tolerances, other dtypes exactly); a result with data == NULL is scratch. Runs at 1 and
 * 2 threads. */
typedef struct tspec {
    uint8_t dtype;
    uint32_t rank;
    const int64_t *dims;
    const void *data;
    int constant, absent;
} tspec;
void test_op(const char *what, uint16_t opcode, const void *attr, uint32_t attr_size, uint32_t nin, const tspec *ins,
             uint32_t nout, const tspec *outs, float rtol, float atol);
#define F32(name) {KILN_F32, name##_rank, name##_dims, name, 0, 0}
#define F32C(name) {KILN_F32, name##_rank, name##_dims, name, 1, 0}

/* Attribute block helpers: write little-endian fields. */
typedef struct attr_buf { uint8_t data[256]; uint32_t size; } attr_buf;
void ab_i32(attr_buf *a, int32_t v);
void ab_f32(attr_buf *a, float v);
void ab_i64(attr_buf *a, int64_t v);
void ab_f64(attr_buf *a, double v);

void test_loader(void);
void test_gemm(void);
void test_dynq(void);
void test_dynq_rnn(void);
void test_conv(void);
void test_elementwise(void);
void test_layout(void);
void test_nn(void);
void test_misc(void);
void test_threads(void);
void test_attention(void);
void test_f16(void);
void test_quant_kernels(void);
void test_qadd(void);
void test_qlookup(void);
void test_qquad_kernels(void);
void test_concurrency(void);
void test_vmath(void);
void test_gemm_small(void);
void test_prepack(void);
void test_sparse(void);

#endif
