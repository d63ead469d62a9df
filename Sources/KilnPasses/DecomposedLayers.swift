import KilnIR

/// A layer that decompose-depthwise or decompose-low-rank split in two, as found in a graph
/// (`kiln inspect` lists them; `kiln compile` writes them to the plan's
/// `decomposed_layers` metadata, since a plan keeps no node names).
public struct DecomposedLayer: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable { case depthwise, lowRank = "low-rank" }

    /// The original layer's name: the node name the passes extend with ".depthwise" /
    /// ".pointwise" or ".u" / ".v", else the name of its result (which the second layer keeps).
    public var layer: String
    public var kind: Kind
    /// Depthwise: the channel multiplier r; low-rank: the inner dimension r.
    public var rank: Int

    /// "conv1 → depthwise r=2 + pointwise" or "fc1 → low-rank r=8 (u, v)".
    public var description: String {
        switch kind {
        case .depthwise: return "\(layer) → depthwise r=\(rank) + pointwise"
        case .lowRank: return "\(layer) → low-rank r=\(rank) (u, v)"
        }
    }
}

extension Graph {
    /// The decomposed layers, in node order. Recognized by what the passes build: a value
    /// named `<y>.dw` made by a depthwise conv (group = its C input channels, weight [C·r, 1, …]) and read by
    /// a 1x1 group-1 conv producing `<y>`; or a value `<y>.lr` made by a gemm/mat_mul and
    /// read by a gemm/mat_mul producing `<y>` (r = its last dimension). Layers quantized
    /// afterwards (qlinear ops) are not listed.
    public var decomposedLayers: [DecomposedLayer] {
        let producers = self.producers
        var found: [DecomposedLayer] = []
        for node in nodes where node.results.count == 1 && !node.operands.isEmpty {
            let y = self[node.results[0]].name, mid = node.operands[0]
            guard let p = producers[mid.index] else { continue }
            let first = nodes[p]
            func layer(_ suffix: String) -> String {
                node.name.hasSuffix(suffix) && node.name.count > suffix.count ? String(node.name.dropLast(suffix.count)) : y
            }
            if self[mid].name == y + ".dw", case .conv(let pw) = node.op, pw.group == 1,
               case .conv(let dw) = first.op, first.operands.count >= 2,
               dw.group == type(of: first.operands[0]).shape.dims.dropFirst().first,
               type(of: node.operands[1]).shape.dims.dropFirst(2).allSatisfy({ $0 == 1 }) {
                let w = type(of: first.operands[1]).shape
                guard w.rank >= 3, w[1] == 1, w[0] % dw.group == 0 else { continue }
                found.append(DecomposedLayer(layer: layer(".pointwise"), kind: .depthwise, rank: w[0] / dw.group))
            } else if self[mid].name == y + ".lr", isDense(node.op), isDense(first.op) {
                let m = type(of: mid).shape
                guard m.rank >= 1 else { continue }
                found.append(DecomposedLayer(layer: layer(".v"), kind: .lowRank, rank: m[m.rank - 1]))
            }
        }
        return found
    }

    private func isDense(_ op: Op) -> Bool {
        if case .gemm = op { return true }
        if case .matMul = op { return true }
        return false
    }
}
