/// Mutation helpers shared by passes and the importer.
extension Graph {
    /// Adds a value (not yet defined by any node) with a name unique in the graph.
    public mutating func addValue(name preferred: String, type: TensorType) -> ValueID {
        let taken = Set(values.map(\.name))
        var name = preferred.isEmpty ? "v\(values.count)" : preferred
        var k = 1
        while taken.contains(name) { name = "\(preferred.isEmpty ? "v" : preferred)_\(k)"; k += 1 }
        values.append(Value(name: name, type: type))
        return ValueID(values.count - 1)
    }

    /// Replaces every use of `old` (as an operand or graph output) with `new`.
    public mutating func replaceAllUses(of old: ValueID, with new: ValueID) {
        guard old != new else { return }
        for i in nodes.indices {
            for k in nodes[i].operands.indices where nodes[i].operands[k] == old { nodes[i].operands[k] = new }
        }
        for k in outputs.indices where outputs[k] == old { outputs[k] = new }
    }

    /// Removes nodes none of whose results reach a graph output; returns how many.
    @discardableResult
    public mutating func removeDeadNodes() -> Int {
        var live = [Bool](repeating: false, count: values.count)
        for o in outputs { live[o.index] = true }
        var keep = [Bool](repeating: false, count: nodes.count)
        for i in stride(from: nodes.count - 1, through: 0, by: -1) where nodes[i].results.contains(where: { live[$0.index] }) {
            keep[i] = true
            for o in nodes[i].operands { live[o.index] = true }
        }
        let before = nodes.count
        nodes = nodes.indices.filter { keep[$0] }.map { nodes[$0] }
        return before - nodes.count
    }

    /// Reorders nodes topologically (stable: keeps the current order where it is valid).
    /// Passes that insert nodes out of order call this before finishing.
    public mutating func sortTopologically() {
        let producers = self.producers
        var visited = [UInt8](repeating: 0, count: nodes.count) // 0 new, 1 on stack, 2 done
        var order: [Int] = []
        func visit(_ i: Int) {
            guard visited[i] == 0 else { return }
            visited[i] = 1
            for o in nodes[i].operands { if let p = producers[o.index], visited[p] == 0 { visit(p) } }
            visited[i] = 2
            order.append(i)
        }
        for i in nodes.indices { visit(i) }
        nodes = order.map { nodes[$0] }
    }
}
