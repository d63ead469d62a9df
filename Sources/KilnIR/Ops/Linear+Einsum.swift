// Einsum: type rule and reference evaluation.

import Foundation

extension Einsum: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try require(!operands.isEmpty, "einsum takes 1 or more operands, got 0")
        try checkLinearDType("einsum", operands)
        let plan = try EinsumPlan(equation, operands.map(\.shape))
        return [TensorType(operands[0].dtype, plan.outputShape)]
    }

    /// Algorithm: one odometer over every label — output labels first, then the summed
    /// labels — keeps each operand's flat offset up to date by adding that label's stride
    /// (the sum of the strides of the operand's axes carrying it, so a repeated label
    /// walks a diagonal; 0 for a broadcast ellipsis axis of size 1). Each step adds the
    /// product of the operands' elements into the current output element; summed labels
    /// are innermost, so the output element is `step / (product of summed extents)`.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let plan = try EinsumPlan(equation, operands.map(\.shape))
        let out = results[0]
        let labels = plan.outputLabels + plan.summedLabels
        let extents = labels.map { plan.extent[$0] ?? 1 }
        let strides = operands.indices.map { plan.strides(operand: $0, labels: labels) }
        let total = extents.reduce(1, *)
        let summed = plan.summedLabels.map { plan.extent[$0] ?? 1 }.reduce(1, *)

        func run<T>(_ values: [[T]], zero: T, one: T, mul: (T, T) -> T, add: (T, T) -> T) -> [T] {
            var y = [T](repeating: zero, count: out.shape.elementCount)
            var counters = [Int](repeating: 0, count: labels.count)
            var offsets = [Int](repeating: 0, count: values.count)
            for step in 0..<total {
                var prod = one
                for k in 0..<values.count { prod = mul(prod, values[k][offsets[k]]) }
                y[step / summed] = add(y[step / summed], prod)
                var d = labels.count - 1
                while d >= 0 {
                    counters[d] += 1
                    for k in 0..<values.count { offsets[k] += strides[k][d] }
                    if counters[d] < extents[d] { break }
                    for k in 0..<values.count { offsets[k] -= strides[k][d] * extents[d] }
                    counters[d] = 0
                    d -= 1
                }
            }
            return y
        }
        if out.dtype.isFloat {
            let y = run(operands.map(\.doubles), zero: 0.0, one: 1.0, mul: *, add: +)
            return [Tensor(out.dtype, out.shape, doubles: y)]
        }
        let y = run(operands.map(\.int64s), zero: Int64(0), one: Int64(1), mul: { $0 &* $1 }, add: { $0 &+ $1 })
        return [Tensor(out.dtype, out.shape, int64s: y)]
    }
}

/// A parsed einsum equation bound to operand shapes.
///
/// Labels are Ints: a letter is its ASCII code; the axes an ellipsis stands for are
/// `ellipsisBase + j`, numbered so that ellipsis axes align on the right across operands
/// (numpy broadcasting: an axis of size 1 broadcasts).
private struct EinsumPlan {
    static let ellipsisBase = 1000
    var operandLabels: [[Int]]
    var operandShapes: [Shape]
    var outputLabels: [Int]
    var summedLabels: [Int]
    var extent: [Int: Int] = [:]

    var outputShape: Shape { Shape(outputLabels.map { extent[$0] ?? 1 }) }

    init(_ equation: String, _ shapes: [Shape]) throws {
        let text = equation.filter { !$0.isWhitespace }
        let sides = text.components(separatedBy: "->")
        try require(sides.count <= 2, "einsum: equation '\(equation)' has more than one '->'")
        let terms = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        try require(terms.count == shapes.count,
                    "einsum: equation '\(equation)' has \(terms.count) input terms but there are \(shapes.count) operands")
        let parsed = try terms.map { try EinsumPlan.parseTerm($0, equation) }
        // Ellipsis rank: what each operand's ellipsis covers; all align on the right.
        var ellipsisRanks: [Int] = []
        for ((letters, hasEllipsis), shape) in zip(parsed, shapes) {
            let named = letters.filter { $0 >= 0 }.count
            let e = shape.rank - named
            if hasEllipsis {
                try require(e >= 0, "einsum: a term with \(named) letters and '...' does not fit operand shape \(shape)")
            } else {
                try require(e == 0, "einsum: a term with \(named) letters does not fit operand shape \(shape)")
            }
            ellipsisRanks.append(hasEllipsis ? e : 0)
        }
        let maxEllipsis = ellipsisRanks.max() ?? 0
        let ellipsisLabels = (0..<maxEllipsis).map { EinsumPlan.ellipsisBase + $0 }
        operandShapes = shapes
        operandLabels = []
        for ((letters, _), e) in zip(parsed, ellipsisRanks) {
            var labels: [Int] = []
            for l in letters {
                if l < 0 { labels += ellipsisLabels.suffix(e) } else { labels.append(l) }
            }
            operandLabels.append(labels)
        }
        // Extents: letters must agree exactly; ellipsis axes broadcast.
        for (labels, shape) in zip(operandLabels, shapes) {
            for (axis, l) in labels.enumerated() {
                let d = shape[axis]
                guard let known = extent[l] else { extent[l] = d; continue }
                if known == d { continue }
                if l >= EinsumPlan.ellipsisBase && (known == 1 || d == 1) {
                    extent[l] = max(known, d)
                } else if l >= EinsumPlan.ellipsisBase {
                    throw KilnError("einsum: ellipsis dimensions \(known) and \(d) do not broadcast")
                } else {
                    throw KilnError("einsum: label '\(Character(UnicodeScalar(UInt8(l))))' has sizes \(known) and \(d)")
                }
            }
        }
        let allLetters = parsed.flatMap { $0.letters.filter { $0 >= 0 } }
        if sides.count == 2 {
            let (letters, _) = try EinsumPlan.parseTerm(sides[1], equation)
            var out: [Int] = []
            for l in letters {
                if l < 0 { out += ellipsisLabels; continue }
                try require(allLetters.contains(l), "einsum: output label '\(Character(UnicodeScalar(UInt8(l))))' does not appear in the inputs")
                try require(!out.contains(l), "einsum: output label '\(Character(UnicodeScalar(UInt8(l))))' is repeated")
                out.append(l)
            }
            outputLabels = out
        } else {
            // Implicit output: the ellipsis axes, then the letters used exactly once, sorted.
            let once = Set(allLetters.filter { l in allLetters.filter { $0 == l }.count == 1 })
            outputLabels = ellipsisLabels + once.sorted()
        }
        var summed: [Int] = []
        for labels in operandLabels {
            for l in labels where !outputLabels.contains(l) && !summed.contains(l) { summed.append(l) }
        }
        summedLabels = summed
    }

    /// Letters of one term as ASCII codes, with -1 marking the ellipsis.
    private static func parseTerm(_ term: String, _ equation: String) throws -> (letters: [Int], hasEllipsis: Bool) {
        var letters: [Int] = []
        var hasEllipsis = false
        let chars = Array(term.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "." {
                try require(i + 2 < chars.count && chars[i + 1] == "." && chars[i + 2] == ".",
                            "einsum: equation '\(equation)' has a '.' outside an ellipsis '...'")
                try require(!hasEllipsis, "einsum: term '\(term)' has more than one ellipsis")
                hasEllipsis = true
                letters.append(-1)
                i += 3
                continue
            }
            try require(c.isASCII && c.properties.isAlphabetic,
                        "einsum: equation '\(equation)' has an invalid character '\(c)'")
            letters.append(Int(c.value))
            i += 1
        }
        return (letters, hasEllipsis)
    }

    /// Per label in `labels`, how far operand `k`'s flat offset moves when that label
    /// advances by one.
    func strides(operand k: Int, labels: [Int]) -> [Int] {
        let shape = operandShapes[k], axisStrides = shape.strides
        return labels.map { l in
            var s = 0
            for (axis, al) in operandLabels[k].enumerated() where al == l && shape[axis] != 1 {
                s += axisStrides[axis]
            }
            return s
        }
    }
}
