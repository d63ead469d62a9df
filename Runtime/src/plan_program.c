/* plan_program.c — validating the instruction list: opcodes, operand/result counts and
 * ids, attribute blocks, dataflow (every operand defined before use, every result written
 * once, nothing writes inputs or constants, no partial overlap between an instruction's
 * operands and results) and each kernel's own attribute and shape checks. */
#include "loader.h"

#include <stdlib.h>

static int overlaps(const kiln_tdesc *a, const kiln_tdesc *b) {
    return a->bytes && b->bytes && a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes;
}

static int in_arena(const kiln_tdesc *t) { return t->storage != KILN_STORAGE_CONSTANT; }

static kiln_status check_dataflow(kiln_loader *l, kiln_check *c, int inplace_ok) {
    kiln_plan *p = l->plan;
    kiln_instr *ins = c->ins;
    for (uint32_t k = 0; k < ins->nin; k++) {
        uint32_t id = ins->ids[k];
        if (id == KILN_NO_TENSOR) continue;
        const kiln_tdesc *t = &p->tensors[id];
        if ((t->storage == KILN_STORAGE_ARENA || t->storage == KILN_STORAGE_OUTPUT) && t->producer < 0)
            return kiln_check_fail(c, "operand %u (tensor %u) is read before any instruction writes it", k, id);
    }
    for (uint32_t r = 0; r < ins->nout; r++) {
        uint32_t id = ins->ids[ins->nin + r];
        if (id == KILN_NO_TENSOR) continue;
        kiln_tdesc *t = &p->tensors[id];
        if (t->storage != KILN_STORAGE_ARENA && t->storage != KILN_STORAGE_OUTPUT)
            return kiln_check_fail(c, "result %u (tensor %u) is an input or a constant", r, id);
        if (t->producer >= 0)
            return kiln_check_fail(c, "result %u (tensor %u) was already written by instruction %lld", r, id,
                                   (long long)t->producer);
        for (uint32_t r2 = 0; r2 < r; r2++) {
            uint32_t id2 = ins->ids[ins->nin + r2];
            if (id2 != KILN_NO_TENSOR && overlaps(t, &p->tensors[id2]))
                return kiln_check_fail(c, "results %u and %u overlap in the arena", r2, r);
        }
        for (uint32_t k = 0; k < ins->nin; k++) {
            uint32_t oid = ins->ids[k];
            if (oid == KILN_NO_TENSOR) continue;
            const kiln_tdesc *o = &p->tensors[oid];
            if (!in_arena(o) || !overlaps(t, o)) continue;
            int exact = o->offset == t->offset && o->bytes == t->bytes;
            int in_place = exact && inplace_ok && o->storage != KILN_STORAGE_INPUT;
            int alias = exact && ins->opcode == KILN_OP_COPY;
            if (!in_place && !alias)
                return kiln_check_fail(c, "result %u overlaps operand %u%s", r, k,
                                       exact ? " (this kernel cannot run in place)" : "");
        }
        /* Nothing but an exact-alias COPY may write over an input. */
        for (uint32_t q = 0; q < p->input_count; q++) {
            const kiln_tdesc *in = &p->tensors[p->inputs[q]];
            int alias = ins->opcode == KILN_OP_COPY && ins->nin == 1 && ins->ids[0] == p->inputs[q] &&
                        in->offset == t->offset && in->bytes == t->bytes;
            if (overlaps(t, in) && !alias)
                return kiln_check_fail(c, "result %u overlaps input \"%s\"", r, in->name);
        }
    }
    return KILN_OK;
}

static kiln_status load_instruction(kiln_loader *l, uint32_t index, const uint8_t *rec, uint64_t avail,
                                    uint64_t *used, uint32_t **pool) {
    kiln_plan *p = l->plan;
    kiln_instr *ins = &p->instrs[index];
    if (avail < KILN_INSTR_HEADER_SIZE)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: instruction %u is truncated", index);
    ins->opcode = kiln_rd16(rec);
    ins->nin = rec[2];
    ins->nout = rec[3];
    uint32_t aoff = kiln_rd32(rec + 4), asize = kiln_rd32(rec + 8);
    uint64_t nids = (uint64_t)ins->nin + ins->nout, size = KILN_INSTR_HEADER_SIZE + 4 * nids;
    if (avail < size) return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: instruction %u is truncated", index);
    *used = size;
    ins->ids = *pool;
    *pool += nids;
    for (uint64_t k = 0; k < nids; k++) {
        uint32_t id = kiln_rd32(rec + KILN_INSTR_HEADER_SIZE + 4 * k);
        if (id != KILN_NO_TENSOR && id >= p->tensor_count)
            return kiln_fail(l->error, KILN_ERR_MALFORMED,
                             "plan: instruction %u: %s %u refers to tensor %u, but the plan has %u tensors", index,
                             k < ins->nin ? "operand" : "result", (unsigned)(k < ins->nin ? k : k - ins->nin), id,
                             p->tensor_count);
        ins->ids[k] = id;
    }
    const kiln_kernel *kern = kiln_kernel_for(ins->opcode);
    if (!kern) {
        if (p->minor > KILN_FORMAT_MINOR)
            return kiln_fail(l->error, KILN_ERR_UNSUPPORTED,
                             "plan: instruction %u uses opcode %u, unknown to this runtime (plan format %u.%u, runtime "
                             "reads %u.%u); use a newer runtime",
                             index, ins->opcode, p->major, p->minor, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: instruction %u has unknown opcode %u", index, ins->opcode);
    }
    ins->kernel = kern;
    kiln_check c = {p, ins, index, NULL, l->error, 0};
    if (ins->nin < kern->min_in || ins->nin > kern->max_in || ins->nout < kern->min_out || ins->nout > kern->max_out)
        return kiln_check_fail(&c, "has %u operands and %u results, expected %u..%u and %u..%u", ins->nin, ins->nout,
                               kern->min_in, kern->max_in, kern->min_out, kern->max_out);
    if (asize != kern->attr_size && (kern->attr_size_ext == 0 || asize != kern->attr_size_ext)) {
        if (kern->attr_size_ext)
            return kiln_check_fail(&c, "attribute block is %u bytes, expected %u or %u", asize, kern->attr_size,
                                   kern->attr_size_ext);
        return kiln_check_fail(&c, "attribute block is %u bytes, expected %u", asize, kern->attr_size);
    }
    const kiln_section *attrs = &l->sec[KILN_SECTION_ATTRIBUTES];
    uint64_t asec = attrs->present ? attrs->size : 0;
    if (asize && ((uint64_t)aoff > asec || asize > asec - aoff))
        return kiln_check_fail(&c, "attribute block (offset %u, %u bytes) lies outside the ATTRIBUTES section", aoff,
                               asize);
    c.attr = asize ? attrs->data + aoff : NULL;
    c.attr_size = asize;
    kiln_status st = check_dataflow(l, &c, kern->inplace);
    if (st != KILN_OK) return st;
    st = kern->check ? kern->check(&c) : KILN_OK;
    if (st != KILN_OK) return st;
    for (uint32_t r = 0; r < ins->nout; r++) {
        uint32_t id = ins->ids[ins->nin + r];
        if (id != KILN_NO_TENSOR) p->tensors[id].producer = index;
    }
    return KILN_OK;
}

kiln_status kiln_load_program(kiln_loader *l) {
    kiln_plan *p = l->plan;
    const kiln_section *s = &l->sec[KILN_SECTION_PROGRAM];
    uint32_t count = kiln_rd32(s->data);
    if (kiln_rd32(s->data + 4) != 0)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: PROGRAM reserved header field is not zero");
    uint64_t body = s->size - KILN_PROGRAM_HEADER_SIZE;
    if (count > body / KILN_INSTR_HEADER_SIZE)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: PROGRAM claims %u instructions but holds %llu bytes", count,
                         (unsigned long long)body);
    p->instrs = calloc(count ? count : 1, sizeof(kiln_instr));
    p->id_pool = malloc(sizeof(uint32_t) * (size_t)(body / 4 + 1));
    if (!p->instrs || !p->id_pool) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    uint32_t *pool = p->id_pool;
    uint64_t pos = KILN_PROGRAM_HEADER_SIZE;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t used = 0;
        p->instr_count = i + 1;
        kiln_status st = load_instruction(l, i, s->data + pos, s->size - pos, &used, &pool);
        if (st != KILN_OK) return st;
        pos += used;
    }
    if (pos != s->size)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: PROGRAM has %llu trailing bytes after its instructions",
                         (unsigned long long)(s->size - pos));
    for (uint32_t q = 0; q < p->output_count; q++)
        if (p->tensors[p->outputs[q]].producer < 0)
            return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: output \"%s\" is never written",
                             p->tensors[p->outputs[q]].name);
    return KILN_OK;
}
