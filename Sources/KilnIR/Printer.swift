/// How the printer writes constant tensors.
public enum ConstantStyle: String, CaseIterable, Hashable, Sendable {
    /// Constants with more than `Printer.inlineElementLimit` elements print as
    /// `elided<bytes = N, fnv1a = "0x…">`: short, readable, not parseable.
    case summary
    /// Every constant prints its data, so the text parses back to the same graph.
    case full
}

/// Prints a graph in the textual IR form (`.kir`), which `Parser` reads back.
///
///     graph @tiny(%x: f32[1,4]) -> (f32[1,2]) {
///       %w = constant f32[2,4] dense<"0x0000803F…">
///       %"/fc/Gemm_output_0" = gemm(%x, %w) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} : f32[1,2] loc("/fc/Gemm")
///       return %"/fc/Gemm_output_0"
///     }
///
/// Value names print bare when they match `[A-Za-z0-9_.$-]+` and quoted otherwise.
/// Attributes print in their struct's field order, every one of them (optional ones only
/// when set). Constants with at most `inlineElementLimit` elements print as a literal list
/// (`dense<[1, 2]>`); larger ones as the hex of their little-endian bytes in storage order
/// (`dense<"0x…">`, full style) or as a summary (summary style).
public enum Printer {
    /// Constants with at most this many elements always print as a literal list.
    public static let inlineElementLimit = 16

    public static func print(_ g: Graph, constants: ConstantStyle = .summary) -> String {
        var out = "graph @" + nameText(g.name) + "("
        out += g.inputs.map { valueText($0, in: g) + ": " + typeText(typeOf($0, in: g)) }.joined(separator: ", ")
        out += ") -> (" + g.outputs.map { typeText(typeOf($0, in: g)) }.joined(separator: ", ") + ") {\n"
        for node in g.nodes {
            out += "  " + nodeText(node, in: g, constants: constants) + "\n"
        }
        out += "  return"
        if !g.outputs.isEmpty { out += " " + g.outputs.map { valueText($0, in: g) }.joined(separator: ", ") }
        out += "\n}\n"
        return out
    }

    /// One statement: `%a, %b = op(%x, %y) {attrs} : t1, t2 loc("name")`.
    public static func nodeText(_ node: Node, in g: Graph, constants: ConstantStyle = .summary) -> String {
        var out = ""
        if !node.results.isEmpty {
            out += node.results.map { valueText($0, in: g) }.joined(separator: ", ") + " = "
        }
        out += node.op.mnemonic
        if case .constant(let tensor) = node.op {
            out += " " + typeText(tensor.type) + " " + constantData(tensor, style: constants)
        } else {
            out += "(" + node.operands.map { valueText($0, in: g) }.joined(separator: ", ") + ")"
            let attributes = attributes(of: node.op)
            if !attributes.isEmpty {
                out += " {" + attributes.map { "\($0.0) = \($0.1.text)" }.joined(separator: ", ") + "}"
            }
            out += " : "
            out += node.results.isEmpty ? "()" : node.results.map { typeText(typeOf($0, in: g)) }.joined(separator: ", ")
        }
        if !node.name.isEmpty { out += " loc(" + quoted(node.name) + ")" }
        return out
    }

    /// `f32[1,3,224,224]`, `f32[]`, `i8[64] quant<scales = [0.5], zero_points = [0], axis = 0>`.
    public static func typeText(_ t: TensorType) -> String {
        var out = t.dtype.rawValue + "[" + t.shape.dims.map(String.init).joined(separator: ",") + "]"
        if let q = t.quantization {
            var entries: [(String, AttributeValue)] = [
                ("scales", .list(q.scales.map { .float($0) })),
                ("zero_points", .list(q.zeroPoints.map { .int(Int(truncatingIfNeeded: $0)) })),
            ]
            if let axis = q.axis { entries.append(("axis", .int(axis))) }
            out += " quant<" + entries.map { "\($0.0) = \($0.1.text)" }.joined(separator: ", ") + ">"
        }
        return out
    }

    /// `%name` or `%"quoted name"`.
    public static func valueName(_ name: String) -> String { "%" + nameText(name) }

    /// A name bare if every character is in `[A-Za-z0-9_.$-]` (and there is one), else quoted.
    static func nameText(_ name: String) -> String {
        if !name.isEmpty && name.utf8.allSatisfy(isBareNameByte) { return name }
        return quoted(name)
    }

    static func isBareNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
             UInt8(ascii: "$"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// A string literal: `"` … `"` escaping `\"`, `\\`, `\n`, `\t`, `\r` and other control
    /// characters as `\u{hex}`, so every statement stays on one line.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    // MARK: - Values and constants

    /// Printing must not trap even on a malformed graph (it is used to debug them).
    static func valueText(_ id: ValueID, in g: Graph) -> String {
        guard g.values.indices.contains(id.index) else { return valueName("<invalid \(id)>") }
        return valueName(g.values[id.index].name)
    }

    static func typeOf(_ id: ValueID, in g: Graph) -> TensorType {
        guard g.values.indices.contains(id.index) else { return TensorType(.f32, []) }
        return g.values[id.index].type
    }

    /// Small tensors print in full in both styles: `dense<[…]>` when the literal re-encodes to
    /// the same bytes (a NaN with a payload does not), else `dense<"0x…">`. Larger tensors
    /// print as hex (full) or as `elided<…>` (summary).
    static func constantData(_ t: Tensor, style: ConstantStyle) -> String {
        let small = t.count <= inlineElementLimit
        if small, let literal = ConstantData.literalText(t) {
            return "dense<" + literal + ">"
        }
        switch style {
        case .full:
            return "dense<\"" + ConstantData.hexText(t.bytes) + "\">"
        case .summary:
            if small { return "dense<\"" + ConstantData.hexText(t.bytes) + "\">" }
            let hash = String(t.fnv1a, radix: 16)
            let padded = String(repeating: "0", count: max(0, 16 - hash.count)) + hash
            return "elided<bytes = \(t.bytes.count), fnv1a = \"0x\(padded)\">"
        }
    }
}
