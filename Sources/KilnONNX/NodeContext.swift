import KilnIR

/// What an op mapping sees of one ONNX node: its inputs (as IR values or compile-time
/// constants), its attributes, and ways to emit IR nodes.
///
/// A mapping returns one IR value per ONNX output it produces (nil or missing entries are
/// outputs it does not produce; using those later is an error). Errors thrown by a mapping
/// get the node's name prefixed by the importer.
struct NodeContext {
    let proto: Onnx_NodeProto
    let importer: Importer
    let attr: Attributes
    /// The ONNX node name, or its first output's name when the node is unnamed; names of
    /// synthesized values and nodes derive from it.
    let baseName: String
    let opset: Int

    var opType: String { proto.opType }

    // MARK: Inputs

    /// Whether input `i` is given (present and not the empty name).
    func has(_ i: Int) -> Bool { i < proto.input.count && !proto.input[i].isEmpty }

    func inputName(_ i: Int) -> String { i < proto.input.count ? proto.input[i] : "" }

    /// `input 1 ('shape')` for messages.
    func describeInput(_ i: Int) -> String { "input \(i) ('\(inputName(i))')" }

    /// Input `i`, which must be given.
    func input(_ i: Int) throws -> ValueID {
        guard has(i) else { throw KilnError("required input \(i) is missing") }
        guard let id = importer.value(proto.input[i]) else {
            throw KilnError("\(describeInput(i)) is not available")
        }
        return id
    }

    /// Input `i`, or nil when it is not given.
    func optionalInput(_ i: Int) throws -> ValueID? { has(i) ? try input(i) : nil }

    /// Every given input, in order (for variadic ops).
    func allInputs() throws -> [ValueID] {
        try proto.input.indices.filter { has($0) }.map { try input($0) }
    }

    func type(_ id: ValueID) -> TensorType { importer.builder.type(of: id) }
    func inputType(_ i: Int) throws -> TensorType { type(try input(i)) }

    /// The type of input `i` without materializing an initializer as a node.
    func peekType(_ i: Int) throws -> TensorType {
        guard has(i) else { throw KilnError("required input \(i) is missing") }
        if case .initializer(let t)? = importer.env[proto.input[i]] { return t.type }
        return try inputType(i)
    }

    /// The compile-time value of parameter input `i`, or nil when the input is not given.
    /// Throws when the value depends on graph inputs.
    func constant(_ i: Int, _ what: String) throws -> Tensor? {
        guard has(i) else { return nil }
        if case .initializer(let t)? = importer.env[proto.input[i]] { return t }
        let id = try input(i)
        guard let t = try importer.known(id) else {
            throw KilnError("\(what) (input \(i) '\(inputName(i))') must be known at compile time, but it depends on \(importer.inputsClause(id))")
        }
        return t
    }

    func requiredConstant(_ i: Int, _ what: String) throws -> Tensor {
        guard let t = try constant(i, what) else { throw KilnError("required input \(i) (\(what)) is missing") }
        return t
    }

    // MARK: Outputs

    var outputCount: Int { proto.output.count }

    /// Whether output `i` exists and something reads it.
    func outputUsed(_ i: Int) -> Bool {
        i < proto.output.count && !proto.output[i].isEmpty && importer.usedNames.contains(proto.output[i])
    }

    func outputName(_ i: Int) -> String {
        i < proto.output.count && !proto.output[i].isEmpty ? proto.output[i] : "\(baseName)/output\(i)"
    }

    // MARK: Emitting

    /// Adds the node producing the ONNX outputs: named like the ONNX node, its results
    /// named like the ONNX outputs.
    func emit(_ op: Op, _ operands: [ValueID]) throws -> [ValueID] {
        let n = try op.resultTypes(operands.map(type)).count
        return try importer.add(op, operands, names: (0..<n).map(outputName), nodeName: proto.name)
    }

    func emit1(_ op: Op, _ operands: [ValueID]) throws -> ValueID {
        try importer.add(op, operands, names: [outputName(0)], nodeName: proto.name)[0]
    }

    /// Adds a node the importer synthesizes, named `<node>/<tag>`.
    func helper(_ tag: String, _ op: Op, _ operands: [ValueID]) throws -> ValueID {
        let name = "\(baseName)/\(tag)"
        return try importer.add(op, operands, names: [name], nodeName: name)[0]
    }

    /// Adds a constant the importer synthesizes, named `<node>/<tag>`.
    func helperConstant(_ tag: String, _ t: Tensor) -> ValueID {
        let name = "\(baseName)/\(tag)"
        return importer.constant(t, name: name, nodeName: name)
    }

    /// Emits a constant as the node's output 0.
    func emitConstant(_ t: Tensor) -> ValueID {
        importer.constant(t, name: outputName(0), nodeName: proto.name)
    }

    /// Reshape helper.
    func reshape(_ tag: String, _ x: ValueID, _ shape: [Int]) throws -> ValueID {
        try helper(tag, .reshape(Reshape(shape: shape)), [x])
    }
}

// MARK: - Shared checks

/// Normalizes a possibly negative axis against `rank`.
func normalizeAxis(_ axis: Int, rank: Int, _ what: String = "axis") throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    try require(a >= 0 && a < max(rank, 1), "\(what) \(axis) is out of range for rank \(rank)")
    return a
}

/// Normalizes, sorts and checks the uniqueness of a list of axes.
func normalizeAxes(_ axes: [Int], rank: Int, _ what: String = "axes") throws -> [Int] {
    let n = try axes.map { try normalizeAxis($0, rank: rank, what) }
    try require(Set(n).count == n.count, "\(what) \(axes) repeats an axis")
    return n.sorted()
}
