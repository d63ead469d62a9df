/// Builds a graph node by node, inferring each node's result types from its operands with
/// the op's type rule and keeping value names unique.
public struct GraphBuilder {
    public private(set) var graph: Graph
    private var usedNames: Set<String> = []
    private var counter = 0

    public init(name: String) { graph = Graph(name: name) }

    /// A fresh unique name: `preferred` if free, else `preferred_1`, `preferred_2`, …;
    /// numbered when `preferred` is empty.
    public mutating func uniqueName(_ preferred: String) -> String {
        var base = preferred
        if base.isEmpty {
            repeat { base = String(counter); counter += 1 } while usedNames.contains(base)
            usedNames.insert(base)
            return base
        }
        var candidate = base
        var k = 1
        while usedNames.contains(candidate) { candidate = "\(base)_\(k)"; k += 1 }
        usedNames.insert(candidate)
        base = candidate
        return base
    }

    private mutating func newValue(_ name: String, _ type: TensorType) -> ValueID {
        let id = ValueID(graph.values.count)
        graph.values.append(Value(name: uniqueName(name), type: type))
        return id
    }

    /// Adds a graph input.
    @discardableResult
    public mutating func input(_ name: String, _ type: TensorType) -> ValueID {
        let id = newValue(name, type)
        graph.inputs.append(id)
        return id
    }

    /// Adds a node; its result types come from the op's type rule. `resultNames` may be
    /// shorter than the result list (the rest get numbered names).
    @discardableResult
    public mutating func add(_ op: Op, _ operands: [ValueID], names resultNames: [String] = [], nodeName: String = "") throws -> [ValueID] {
        let types = try op.resultTypes(operands.map { graph.type(of: $0) })
        return addNode(op, operands, types: types, names: resultNames, nodeName: nodeName)
    }

    /// Adds a node with one result and returns it.
    @discardableResult
    public mutating func add1(_ op: Op, _ operands: [ValueID], name: String = "", nodeName: String = "") throws -> ValueID {
        try add(op, operands, names: [name], nodeName: nodeName)[0]
    }

    /// Adds a node with explicitly given result types (the parser uses this; the verifier
    /// checks them later).
    @discardableResult
    public mutating func addNode(_ op: Op, _ operands: [ValueID], types: [TensorType], names: [String], nodeName: String = "") -> [ValueID] {
        let results = types.enumerated().map { i, t in newValue(i < names.count ? names[i] : "", t) }
        graph.nodes.append(Node(op: op, operands: operands, results: results, name: nodeName))
        return results
    }

    /// Adds a constant node.
    @discardableResult
    public mutating func constant(_ tensor: Tensor, name: String = "") -> ValueID {
        addNode(.constant(tensor), [], types: [tensor.type], names: [name])[0]
    }

    public mutating func output(_ id: ValueID) { graph.outputs.append(id) }

    public func type(of id: ValueID) -> TensorType { graph.type(of: id) }

    public mutating func setName(_ name: String) { graph.name = name }
}
