import KilnIR

extension Program {
    /// The planning problem of this program: every arena tensor (intermediates, scratch,
    /// inputs, outputs) is an item; inputs are pinned for the whole program; outputs live
    /// to the end.
    ///
    /// In-place rule (PLAN_FORMAT.md §6: a result may occupy exactly an operand's bytes only
    /// for kernels marked *in place*): for UNARY, BINARY, WHERE and CAST any operand with the
    /// result's dtype and byte size may be overwritten; for the normalizations, SOFTMAX and
    /// TRILU only operand 0 (the data; their other operands are parameters read throughout).
    /// A COPY aliases its operand (the spec's in-place COPY is a no-op), including an input.
    public var memoryProblem: MemoryProblem {
        let sizes = tensors.map { $0.type.byteCount }
        let planned = tensors.map(\.inArena)
        let pinned = tensors.map { $0.storageKind == .input }
        let outputs = tensors.map { $0.storageKind == .output }
        let steps = instructions.map { ins -> MemoryProblem.Step in
            let operands = ins.operands.compactMap { $0 }
            let results = ins.results.compactMap { $0 }
            var inPlace: [Int] = []
            var alias = false
            if let r = ins.results.first ?? nil {
                let rt = tensors[r].type
                func fits(_ position: Int) -> Bool {
                    guard position < ins.operands.count, let o = ins.operands[position] else { return false }
                    return tensors[o].type.dtype == rt.dtype && tensors[o].type.byteCount == rt.byteCount
                }
                switch ins.opcode {
                case .copy:
                    alias = ins.operands.first.map { $0 != nil } ?? false
                case .unary, .binary, .where, .cast, .qadd:
                    // Positions among the present operands (absent ones are dropped above).
                    inPlace = ins.operands.indices.filter(fits).map { p in ins.operands[..<p].filter { $0 != nil }.count }
                case .batchNorm, .instanceNorm, .layerNorm, .groupNorm, .softmax, .trilu, .qlookup:
                    inPlace = fits(0) ? [0] : []
                case .conv2d, .depthwiseConv2d, .convTranspose2d, .gemm, .matmul, .pool2d, .lrn, .reduce,
                     .argReduce, .cumsum, .topk, .transpose, .concat, .split, .slice, .expand, .tile, .pad,
                     .depthToSpace, .spaceToDepth, .gather, .gatherElements, .resize, .recurrent,
                     .quantizeLinear, .dequantizeLinear, .oneHot, .range, .attention,
                     .conv2dPacked, .conv2dWinograd, .qconv2d, .qgemm, .qmaxpool, .qconcat, .qglobalAvgPool, .sparseGemm, .dynQgemm,
                     .dynQparams, .dynQrecurrent:
                    inPlace = []
                }
            }
            return MemoryProblem.Step(operands: operands, results: results, inPlace: inPlace, alias: alias)
        }
        return MemoryProblem(sizes: sizes, planned: planned, pinned: pinned, outputs: outputs, steps: steps)
    }

    /// Plans the arena: offsets for every arena, input and output tensor.
    public func planMemory() -> MemoryAssignment {
        MemoryPlanner.plan(memoryProblem, alignment: PlanFormat.alignment)
    }
}
