import Foundation
import KilnIR

/// eliminate-common-subexpressions: nodes with the same op (attributes included) and the
/// same operands compute the same values; later ones are replaced by the first. Identical
/// constants (same type, same bytes) are merged the same way.
///
///     %a = relu(%x)
///     %b = relu(%x)
///     %y = add(%a, %b)
///   becomes
///     %a = relu(%x)
///     %y = add(%a, %a)
///
/// Algorithm: one walk in program order with a hash map from (op, operands, result types)
/// to the first node's results. Constants are kept out of that map: hashing an `Op` that
/// holds a tensor hashes every byte through the generic hasher (seconds on a 45 MB model),
/// so constants are bucketed by (type, a 64-bit fingerprint read a word at a time) and
/// compared byte for byte only within a bucket.
///
/// Precondition: verified graph (ops are pure). Guarantees: same outputs bit for bit.
public struct EliminateCommonSubexpressions: Pass {
    public init() {}
    public var name: String { "eliminate-common-subexpressions" }

    struct Key: Hashable {
        var op: Op
        var operands: [ValueID]
        var types: [TensorType]
    }

    struct ConstantKey: Hashable {
        var type: TensorType
        var fingerprint: UInt64
    }

    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        var seen = [Key: [ValueID]]()
        var constants = [ConstantKey: [(bytes: [UInt8], results: [ValueID])]]()
        var changed = false
        var i = 0
        while i < graph.nodes.count {
            let n = graph.nodes[i]
            var earlier: [ValueID]?
            if case .constant(let t) = n.op {
                let key = ConstantKey(type: t.type, fingerprint: Self.fingerprint(t.bytes))
                let bucket = constants[key, default: []]
                if let match = bucket.first(where: { Self.sameBytes($0.bytes, t.bytes) }) {
                    earlier = match.results
                } else {
                    constants[key, default: []].append((t.bytes, n.results))
                }
            } else {
                let key = Key(op: n.op, operands: n.operands, types: n.results.map { graph.type(of: $0) })
                earlier = seen[key]
                if earlier == nil { seen[key] = n.results }
            }
            guard let earlier, PatternDriver.keepsOutputNames(n.results, earlier, graph) else {
                i += 1
                continue
            }
            for (old, new) in zip(n.results, earlier) {
                let wasOutput = graph.outputs.contains(old)
                graph.replaceAllUses(of: old, with: new)
                if wasOutput { PatternDriver.takeOverName(from: old, to: new, in: &graph) }
            }
            graph.nodes.remove(at: i)
            changed = true
        }
        return changed
    }

    /// FNV-1a style mix over 8-byte words (then the tail bytes); only used to bucket.
    static func fingerprint(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(raw.count)
            let words = raw.count / 8
            for w in 0..<words {
                h = (h ^ raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)) &* 0x0000_0100_0000_01b3
                h ^= h >> 29
            }
            for b in raw[(words * 8)...] { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            return h
        }
    }

    static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && (a.isEmpty || a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } })
    }
}
