import Foundation
import KilnIR

/// fuse-gelu: rebuilds GELU from the elementwise forms exporters emit.
///
///     %s = div(%x, %sqrt2) : f32[1,16,256]               // or mul(%x, 0.7071…)
///     %e = erf(%s) : f32[1,16,256]
///     %a = add(%e, %one) : f32[1,16,256]
///     %m = mul(%x, %a) : f32[1,16,256]
///     %y = mul(%m, %half) : f32[1,16,256]                // 0.5 may come first or last
///   becomes
///     %y = gelu(%x) {tanh = false} : f32[1,16,256]
///
/// and the tanh form `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (x³ as pow(x, 3) or
/// x·x·x) becomes `gelu(%x) {tanh = true}`.
///
/// Algorithm: at a mul, flatten the product tree through single-use muls into its leaf
/// factors. It is a GELU when there are exactly three: a scalar constant 0.5, the value
/// `1 + erf(x/√2)` (or `1 + tanh(…)`) recognized by walking back to its x, and that x.
/// Constants match within 1e-4 relative.
/// Precondition: verified graph. Guarantees: the same outputs up to float rounding and
/// the exporter's rounding of the constants.
public struct FuseGelu: Pass {
    public init() {}
    public var name: String { "fuse-gelu" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([MatchGelu()], to: &graph)
    }
}

struct MatchGelu: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .binary(.mul, .none) = node.op, node.operands.count == 2 else { return nil }
        let leaves = node.operands.flatMap { factors($0, r, depth: 1) }
        guard leaves.count == 3,
              let halfIndex = leaves.firstIndex(where: { r.scalar($0).map { approximately($0, 0.5) } ?? false }) else { return nil }
        for (k, a) in leaves.enumerated() where k != halfIndex {
            guard let (x, tanh) = onePlusErfOrTanh(a, r) else { continue }
            let rest = leaves.indices.filter { $0 != halfIndex && $0 != k }
            guard rest.count == 1, leaves[rest[0]] == x else { continue }
            let xt = r.type(of: x)
            guard xt.dtype.isFloat, r.type(of: node.results[0]) == xt else { return nil }
            return [try r.create1(.unary(.gelu(tanh: tanh)), [x], nodeName: node.name)]
        }
        return nil
    }

    /// The leaves of the product tree under `v`, expanding single-use muls (two levels).
    private func factors(_ v: ValueID, _ r: Rewriter, depth: Int) -> [ValueID] {
        guard depth > 0, let n = r.absorbable(v), case .binary(.mul, .none) = n.op else { return [v] }
        return n.operands.flatMap { factors($0, r, depth: depth - 1) }
    }

    /// x and the form, if `a` is `1 + erf(x/√2)` or `1 + tanh(√(2/π)·(x + 0.044715·x³))`.
    private func onePlusErfOrTanh(_ a: ValueID, _ r: Rewriter) -> (ValueID, Bool)? {
        guard let an = r.producer(of: a), let (t, one) = r.binaryWithScalar(an, .add), one == 1 else { return nil }
        if let s = r.unary(t, .erf), let x = scaledInput(s, by: 1 / 2.0.squareRoot(), r) { return (x, false) }
        if let s = r.unary(t, .tanh), let inner = scaledInput(s, by: (2 / Double.pi).squareRoot(), r),
           let (_, p, q) = r.binary(inner, .add) {
            for (x, cubic) in [(p, q), (q, p)] {
                if let cn = r.producer(of: cubic), let (cube, c) = r.binaryWithScalar(cn, .mul),
                   approximately(c, 0.044715), isCube(cube, of: x, r) { return (x, true) }
            }
        }
        return nil
    }

    /// The x of `x · c` or `x / (1/c)`.
    private func scaledInput(_ v: ValueID, by c: Double, _ r: Rewriter) -> ValueID? {
        guard let n = r.producer(of: v) else { return nil }
        if let (x, k) = r.binaryWithScalar(n, .mul), approximately(k, c) { return x }
        if let (x, k) = r.binaryWithScalar(n, .div), approximately(k, 1 / c) { return x }
        return nil
    }

    /// `v` is pow(x, 3), x·(x·x) or (x·x)·x.
    private func isCube(_ v: ValueID, of x: ValueID, _ r: Rewriter) -> Bool {
        guard let n = r.producer(of: v) else { return false }
        if let (base, e) = r.binaryWithScalar(n, .pow), base == x, e == 3, n.operands[0] == x { return true }
        guard let (_, a, b) = r.binary(v, .mul) else { return false }
        func isSquare(_ s: ValueID) -> Bool { r.binary(s, .mul).map { $0.1 == x && $0.2 == x } ?? false }
        return (a == x && isSquare(b)) || (b == x && isSquare(a))
    }
}
