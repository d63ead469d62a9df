import KilnIR

/// Lowers a verified graph to a runtime `Program` (PLAN_FORMAT.md §7).
///
/// Algorithm:
/// 1. Liveness: walking the nodes backwards from the graph outputs marks the nodes whose
///    results are needed; only those are lowered (dead shape arithmetic emits nothing).
/// 2. Every graph input becomes an INPUT tensor; constants become CONSTANT tensors on first
///    use. A node whose operands are all constants is evaluated with the reference
///    evaluator and becomes a constant (a lowering decision, made at every -O level);
///    `shape` and `size` are static and always become constants.
/// 3. Every other node is lowered by its family (`Lowering+<Family>.swift`) to one or more
///    instructions: kernels are chosen here (depthwise vs im2col conv, pointwise conv without
///    scratch), batch norm statistics are folded, scratch buffers become extra results,
///    unsupported dtypes and ops are reported. The IR's fused activations become the
///    kernels' `act` fields (`Lowering+Activation.swift`); the lowering fuses nothing itself.
/// 4. Graph outputs that are not the result of an instruction (inputs, constants, values
///    listed twice) get a COPY into an OUTPUT tensor; other outputs' tensors become OUTPUTs.
/// Errors of all nodes are collected and reported together.
public enum Lowering {
    public static func lower(_ graph: Graph) throws -> Program {
        var l = Lowerer(graph: graph)
        return try l.run()
    }
}

struct Lowerer {
    let graph: Graph
    var program = Program()
    /// The plan tensor holding each value (created on first use).
    var tensorOf: [Int?]
    /// Values known at compile time: constant nodes and folded nodes.
    var known: [Tensor?]
    /// Values read by a lowered node or listed as an output.
    var needed: [Bool]
    var errors: [String] = []
    /// The node being lowered, for naming temporaries.
    var current: Node?

    init(graph: Graph) {
        self.graph = graph
        tensorOf = Array(repeating: nil, count: graph.values.count)
        known = Array(repeating: nil, count: graph.values.count)
        needed = Array(repeating: false, count: graph.values.count)
    }

    mutating func run() throws -> Program {
        for o in graph.outputs { needed[o.index] = true }
        var live = [Bool](repeating: false, count: graph.nodes.count)
        for (i, n) in graph.nodes.enumerated().reversed() where n.results.contains(where: { needed[$0.index] }) {
            live[i] = true
            for o in n.operands { needed[o.index] = true }
        }
        for (i, v) in graph.inputs.enumerated() {
            tensorOf[v.index] = program.addTensor(graph[v].name, graph.type(of: v), .input(i))
        }
        for (i, n) in graph.nodes.enumerated() where live[i] {
            current = n
            do {
                try lowerNode(n)
            } catch let e as KilnError {
                errors.append("\(describe(n)): \(e.message)")
                for r in n.results where tensorOf[r.index] == nil && known[r.index] == nil { _ = result(r) }
            }
        }
        current = nil
        if !errors.isEmpty {
            let count = errors.count == 1 ? "1 node" : "\(errors.count) nodes"
            throw KilnError("cannot lower \(count) to the runtime: " + errors.joined(separator: "; "))
        }
        try markOutputs()
        try checkTensors()
        return program
    }

    /// `conv 'Conv_3'` or `conv (%y)` for messages.
    func describe(_ n: Node) -> String {
        if !n.name.isEmpty { return "\(n.op.mnemonic) '\(n.name)'" }
        return "\(n.op.mnemonic) (%\(n.results.first.map { graph[$0].name } ?? "?"))"
    }

    private mutating func lowerNode(_ n: Node) throws {
        if case .constant(let t) = n.op {
            known[n.results[0].index] = t
            return
        }
        if let folded = try staticValues(n) {
            for (r, t) in zip(n.results, folded) { known[r.index] = t }
            return
        }
        for v in n.operands + n.results {
            try require(type(v).shape.rank <= PlanFormat.maxRank,
                        "%\(graph[v].name) has rank \(type(v).shape.rank); the runtime handles rank \(PlanFormat.maxRank) or less")
        }
        try dispatch(n)
    }

    /// Results known at compile time: shape/size always, anything with constant operands.
    private func staticValues(_ n: Node) throws -> [Tensor]? {
        let types = n.results.map { graph.type(of: $0) }
        if case .shapeOf(let s) = n.op {
            let dims = graph.type(of: n.operands[0]).shape.dims
            let picked = Array(dims[max(0, min(s.start, dims.count))..<max(0, min(s.end, dims.count))])
            return [Tensor(.i64, types[0].shape, int64s: picked.map(Int64.init))]
        }
        if case .sizeOf = n.op {
            return [Tensor(.i64, types[0].shape, int64s: [Int64(graph.type(of: n.operands[0]).shape.elementCount)])]
        }
        // Any other op is folded when every operand is known.
        let operands = n.operands.map { known[$0.index] }
        guard !operands.isEmpty, operands.allSatisfy({ $0 != nil }) else { return nil }
        var outs = try n.op.evaluate(operands.map { $0! }, results: types)
        for i in outs.indices { outs[i].type.quantization = types[i].quantization }
        return outs
    }

    /// One case per op; the families live in `Lowering+<Family>.swift`.
    private mutating func dispatch(_ n: Node) throws {
        switch n.op {
        case .constant, .shapeOf, .sizeOf: preconditionFailure("handled by lowerNode")
        case .unary(let u): try lowerUnary(u, n)
        case .binary(let b, let act): try lowerBinary(b, act, n)
        case .clip(let c): try lowerClip(c, n)
        case .where: try lowerWhere(n)
        case .cast: try lowerCast(n)
        case .conv(let c): try lowerConv(c, n)
        case .convTranspose(let c): try lowerConvTranspose(c, n)
        case .pool(let p): try lowerPool(p, n)
        case .batchNorm(let b): try lowerBatchNorm(b, n)
        case .instanceNorm(let a): try lowerInstanceNorm(a, n)
        case .layerNorm(let a): try lowerLayerNorm(a, n)
        case .groupNorm(let a): try lowerGroupNorm(a, n)
        case .lrn(let a): try lowerLRN(a, n)
        case .softmax(let a): try lowerSoftmax(a, n)
        case .reduce(let a): try lowerReduce(a, n)
        case .argReduce(let a): try lowerArgReduce(a, n)
        case .cumSum(let a): try lowerCumSum(a, n)
        case .topK(let a): try lowerTopK(a, n)
        case .gemm(let a): try lowerGemm(a, n)
        case .matMul(let m): try lowerMatMul(m, n)
        case .einsum(let e): try lowerEinsum(e, n)
        case .reshape, .identity: try lowerCopy(n)
        case .transpose(let t): try lowerTranspose(t, n)
        case .concat(let c): try lowerConcat(c, n)
        case .split(let s): try lowerSplit(s, n)
        case .slice(let s): try lowerSlice(s, n)
        case .expand: try lowerView(.expand, n)
        case .tile: try lowerView(.tile, n)
        case .pad(let p): try lowerPad(p, n)
        case .depthToSpace(let d): try lowerDepthToSpace(d, n)
        case .spaceToDepth(let s): try lowerSpaceToDepth(s, n)
        case .gather(let g): try lowerGather(g.axis, .gather, n)
        case .gatherElements(let g): try lowerGather(g.axis, .gatherElements, n)
        case .range: try lowerRange(n)
        case .oneHot(let o): try lowerOneHot(o, n)
        case .trilu(let t): try lowerTrilu(t, n)
        case .resize(let r): try lowerResize(r, n)
        case .recurrent(let r): try lowerRecurrent(r, n)
        case .quantizeLinear(let q): try lowerQuantize(axis: q.axis, blockSize: q.blockSize, .quantizeLinear, n)
        case .dequantizeLinear(let q): try lowerQuantize(axis: q.axis, blockSize: q.blockSize, .dequantizeLinear, n)
        case .attention(let a): try lowerAttention(a, n)
        case .qlinearConv(let q): try lowerQLinearConv(q, n)
        case .qlinearMatMul(let q): try lowerQLinearMatMul(q, n)
        case .qlinearAdd(let q): try lowerQLinearAdd(q, n)
        case .qlinearConcat(let q): try lowerQLinearConcat(q, n)
        case .qlinearGlobalAveragePool(let q): try lowerQLinearGlobalAveragePool(q, n)
        case .qlinearLookup: try lowerQLinearLookup(n)
        case .dynamicQuantParams: try lowerDynamicQuantParams(n)
        case .dynQuantMatMul(let q): try lowerDynQuantMatMul(q, n)
        }
    }

    private mutating func markOutputs() throws {
        var used = Set<String>()
        for (i, v) in graph.outputs.enumerated() {
            var name = graph[v].name
            var k = 1
            while used.contains(name) { name = "\(graph[v].name)_\(k)"; k += 1 }
            used.insert(name)
            if let t = tensorOf[v.index], program.tensors[t].storageKind == .arena {
                program.tensors[t].storage = .output(i)
                program.tensors[t].name = name
            } else {
                let source = tensor(v)
                let out = program.addTensor(name, graph.type(of: v), .output(i))
                program.emit(.copy, [], [source], [out])
            }
        }
    }

    // MARK: - Tensors

    func type(_ v: ValueID) -> TensorType { graph.type(of: v) }
    func constant(_ v: ValueID) -> Tensor? { known[v.index] }

    /// The tensor holding operand `v` (a constant becomes a CONSTANT tensor on first use).
    mutating func tensor(_ v: ValueID) -> Int {
        if let t = tensorOf[v.index] { return t }
        if let c = known[v.index] {
            let t = program.addTensor(graph[v].name, type(v), .constant(c))
            tensorOf[v.index] = t
            return t
        }
        // An operand no node defines cannot pass the verifier; give it a tensor so the
        // loader reports it rather than trapping here.
        return result(v)
    }

    /// The arena tensor for node result `v`.
    mutating func result(_ v: ValueID) -> Int {
        if let t = tensorOf[v.index] { return t }
        let t = program.addTensor(graph[v].name, type(v))
        tensorOf[v.index] = t
        return t
    }

    /// A fresh arena temporary named after the current node's first result.
    mutating func temp(_ suffix: String, _ type: TensorType) -> Int {
        let base = current.flatMap { $0.results.first }.map { graph[$0].name } ?? "tmp"
        return program.addTensor("\(base).\(suffix)", type)
    }

    /// A CONSTANT tensor made at compile time (folded parameters, reshaped weights).
    mutating func constantTensor(_ suffix: String, _ t: Tensor) -> Int {
        let base = current.flatMap { $0.results.first }.map { graph[$0].name } ?? "const"
        return program.addTensor("\(base).\(suffix)", t.type, .constant(t))
    }

    /// Operand `v` seen with another shape of the same element count: a reshaped constant,
    /// or a COPY that the memory planner turns into an alias.
    mutating func reshaped(_ v: ValueID, _ shape: Shape, _ suffix: String) -> Int {
        if let c = constant(v) { return constantTensor(suffix, c.reshaped(shape)) }
        var t = type(v)
        t.shape = shape
        let out = temp(suffix, t)
        program.emit(.copy, [], [tensor(v)], [out])
        return out
    }

    mutating func emit(_ opcode: Opcode, _ attributes: [AttributeValue], _ operands: [Int?], _ results: [Int?]) throws {
        program.emit(opcode, try AttributeCoder.encode(opcode, attributes), operands, results)
    }

    // MARK: - Checks

    /// Ranks and dims the tensor table can hold (rank ≤ 8, dims ≤ 2^48).
    private func checkTensors() throws {
        for t in program.tensors {
            try require(t.type.shape.rank <= PlanFormat.maxRank,
                        "tensor '\(t.name)' has rank \(t.type.shape.rank); plans hold tensors of rank \(PlanFormat.maxRank) or less")
            try require(t.type.shape.dims.allSatisfy { $0 >= 0 && $0 <= PlanFormat.maxDim },
                        "tensor '\(t.name)' has a dimension larger than 2^48: \(t.type.shape)")
        }
    }

    /// Requires `v`'s dtype to be one the kernel computes.
    func requireDType(_ v: ValueID, _ allowed: [DType], _ what: String) throws {
        let d = type(v).dtype
        guard allowed.contains(d) else {
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            throw KilnError("\(what) on \(d.rawValue) is not supported by the runtime (it computes \(list))")
        }
    }
}
