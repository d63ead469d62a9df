/// Graphviz rendering of a graph: one box per node (op and result types), one ellipse per
/// graph input and output, constants folded into their users' labels to keep big models
/// readable.
extension Graph {
    public func dot() -> String {
        func q(_ s: String) -> String {
            "\"" + s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"") + "\""
        }
        let producers = self.producers
        var lines = ["digraph \(q(name)) {", "  rankdir=TB;", "  node [fontname=\"Helvetica\", fontsize=10];"]
        for id in inputs {
            lines.append("  v\(id.index) [shape=ellipse, style=filled, fillcolor=\"#dde8f6\", label=\(q("%\(self[id].name)\n\(type(of: id))"))];")
        }
        for (i, n) in nodes.enumerated() {
            if case .constant = n.op { continue }
            let consts = n.operands.filter { o in
                guard let p = producers[o.index] else { return false }
                if case .constant = nodes[p].op { return true }
                return false
            }
            var label = n.op.mnemonic
            if let act = n.op.fusedActivation { label += " + " + Printer.activationValue(act).text }
            if !n.name.isEmpty { label += "\n" + n.name }
            for c in consts { label += "\n%\(self[c].name): \(type(of: c))" }
            label += "\n→ " + n.results.map { type(of: $0).description }.joined(separator: ", ")
            lines.append("  n\(i) [shape=box, style=rounded, label=\(q(label))];")
        }
        func source(_ v: ValueID) -> String? {
            guard let p = producers[v.index] else { return "v\(v.index)" }
            if case .constant = nodes[p].op { return nil }
            return "n\(p)"
        }
        for (i, n) in nodes.enumerated() {
            if case .constant = n.op { continue }
            for o in n.operands {
                if let s = source(o) { lines.append("  \(s) -> n\(i);") }
            }
        }
        for (k, o) in outputs.enumerated() {
            lines.append("  out\(k) [shape=ellipse, style=filled, fillcolor=\"#e6f4e0\", label=\(q("%\(self[o].name)\n\(type(of: o))"))];")
            if let s = source(o) { lines.append("  \(s) -> out\(k);") }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
