/// Identifies a value within one graph: an index into `Graph.values`.
public struct ValueID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
    public var description: String { "v\(index)" }
}

/// A value: the result of a node or a graph input. `name` is unique within the graph
/// (the ONNX tensor name on import; the printer shows it as `%name`).
public struct Value: Hashable, Sendable {
    public var name: String
    public var type: TensorType
    public init(name: String, type: TensorType) { self.name = name; self.type = type }
}

/// One operation applied to operand values, defining result values.
public struct Node: Hashable, Sendable {
    public var op: Op
    public var operands: [ValueID]
    public var results: [ValueID]
    /// The source node's name (ONNX `node.name`), kept for messages; may be empty.
    public var name: String

    public init(op: Op, operands: [ValueID], results: [ValueID], name: String = "") {
        self.op = op; self.operands = operands; self.results = results; self.name = name
    }
}

/// A static, typed SSA graph. Nodes are kept in a topological order; values are addressed
/// by `ValueID`. A value type: passes take `inout Graph`.
public struct Graph: Hashable, Sendable {
    public var name: String
    public var values: [Value]
    public var inputs: [ValueID]
    public var outputs: [ValueID]
    public var nodes: [Node]

    public init(name: String, values: [Value] = [], inputs: [ValueID] = [], outputs: [ValueID] = [], nodes: [Node] = []) {
        self.name = name; self.values = values; self.inputs = inputs; self.outputs = outputs; self.nodes = nodes
    }

    public subscript(id: ValueID) -> Value {
        get { values[id.index] }
        set { values[id.index] = newValue }
    }

    public func type(of id: ValueID) -> TensorType { values[id.index].type }

    /// For each value, the index of the node defining it (nil for graph inputs and unused ids).
    public var producers: [Int?] {
        var p = [Int?](repeating: nil, count: values.count)
        for (i, n) in nodes.enumerated() { for r in n.results { p[r.index] = i } }
        return p
    }

    /// For each value, the indices of the nodes using it (in node order, repeated per use).
    public var users: [[Int]] {
        var u = [[Int]](repeating: [], count: values.count)
        for (i, n) in nodes.enumerated() { for o in n.operands { u[o.index].append(i) } }
        return u
    }

    /// The constant tensor defining `id`, if a `constant` node defines it.
    public func constantValue(_ id: ValueID) -> Tensor? {
        for n in nodes where n.results.contains(id) {
            if case .constant(let t) = n.op { return t }
            return nil
        }
        return nil
    }

    /// Renumbers values in definition order (inputs, then node results in node order) and
    /// drops values nothing defines, so equal graphs built different ways compare equal.
    public mutating func compact() {
        var map = [Int: Int]()
        var newValues: [Value] = []
        func take(_ id: ValueID) {
            if map[id.index] == nil { map[id.index] = newValues.count; newValues.append(values[id.index]) }
        }
        inputs.forEach(take)
        for n in nodes { n.results.forEach(take) }
        func remap(_ id: ValueID) -> ValueID { ValueID(map[id.index] ?? id.index) }
        inputs = inputs.map(remap)
        outputs = outputs.map(remap)
        nodes = nodes.map { Node(op: $0.op, operands: $0.operands.map(remap), results: $0.results.map(remap), name: $0.name) }
        values = newValues
    }
}
