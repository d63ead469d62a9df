#define _DEFAULT_SOURCE
/* plan_prepare.c — the last load stage: once every instruction is checked, the kernels
 * with a prepare function (GEMM, MATMUL) may turn their constant operands into the layout
 * their inner loops read (weights packed into strips, gemm_prepack.c), so no run repacks
 * them. A constant is
 * rewritten in place only when the plan owns a heap copy of it and one operand slot reads
 * it; otherwise the kernel packs a copy into a plan-owned block, and a read-only mapped
 * plan's pages of the original are handed back to the OS as the packing passes them (so
 * the peak stays near one copy). */
#include "loader.h"

#include <stdlib.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define KILN_HAVE_MADVISE 1
#endif

void *kiln_plan_alloc(kiln_plan *p, size_t bytes) {
    void **grown = realloc(p->blocks, sizeof(void *) * ((size_t)p->block_count + 1));
    if (!grown) return NULL;
    p->blocks = grown;
    void *b = kiln_aligned_alloc(bytes ? bytes : 1);
    if (b) p->blocks[p->block_count++] = b;
    return b;
}

void kiln_plan_free_blocks(kiln_plan *p) {
#ifndef KILN_NO_PREPACK
    for (uint32_t i = 0; i < p->block_count; i++) kiln_aligned_free(p->blocks[i]);
    free(p->blocks);
#else
    (void)p;                     /* size builds allocate none */
#endif
}

static int within(const uint8_t *x, uint64_t n, const uint8_t *base, uint64_t size) {
    return base && x >= base && (uint64_t)(x - base) <= size && n <= size - (uint64_t)(x - base);
}

/* Slot `slot` of instruction `index` is the only reader of its constant tensor's bytes. */
static int sole_reader(const kiln_plan *p, uint32_t index, uint32_t slot) {
    uint32_t id = p->instrs[index].ids[slot];
    const kiln_tdesc *t = &p->tensors[id];
    if (t->storage != KILN_STORAGE_CONSTANT || !t->data || !t->bytes) return 0;
    for (uint32_t i = 0; i < p->instr_count; i++)
        for (uint32_t k = 0; k < p->instrs[i].nin; k++)
            if (p->instrs[i].ids[k] == id && (i != index || k != slot)) return 0;
    for (uint32_t u = 0; u < p->tensor_count; u++) {
        const kiln_tdesc *o = &p->tensors[u];
        if (u != id && o->data && o->bytes && o->data < t->data + t->bytes && t->data < o->data + o->bytes) return 0;
    }
    return 1;
}

void *kiln_constant_writable(kiln_plan *p, uint32_t index, uint32_t slot) {
    if (!sole_reader(p, index, slot)) return NULL;
    const kiln_tdesc *t = &p->tensors[p->instrs[index].ids[slot]];
    if (within(t->data, t->bytes, p->constants_owned, p->constants_size) ||
        (t->flags & KILN_TENSOR_F16_STORAGE) ||   /* widened into widened_owned */
        (!p->mapped && within(t->data, t->bytes, p->buffer, p->size)))
        return (void *)(uintptr_t)t->data;
    return NULL;
}

void kiln_constant_release(kiln_plan *p, uint32_t index, uint32_t slot, uint64_t from, uint64_t to) {
#ifdef KILN_HAVE_MADVISE
    if (!p->mapped || !sole_reader(p, index, slot)) return;
    const kiln_tdesc *t = &p->tensors[p->instrs[index].ids[slot]];
    if (!within(t->data, t->bytes, p->buffer, p->size) || to > t->bytes || from >= to) return;
    /* Pages of an unwritten private file mapping: dropped, read again from the file if
     * touched (a neighbour's bytes on the end pages stay correct). */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = (uintptr_t)(t->data + from), hi = (uintptr_t)(t->data + to);
    lo = lo / page * page;
    hi = (hi + page - 1) / page * page;
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
#else
    (void)p; (void)index; (void)slot; (void)from; (void)to;
#endif
}

kiln_status kiln_prepare_program(kiln_loader *l) {
    kiln_plan *p = l->plan;
    for (uint32_t i = 0; i < p->instr_count; i++) {
        kiln_instr *ins = &p->instrs[i];
        kiln_check c = {p, ins, i, NULL, l->error, 0};
        kiln_status st = ins->opcode == KILN_OP_GEMM     ? kiln_prepare_gemm(&c)
                         : ins->opcode == KILN_OP_MATMUL ? kiln_prepare_matmul(&c)
                                                         : KILN_OK;
        if (st != KILN_OK) return st;
    }
    return KILN_OK;
}
