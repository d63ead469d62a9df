import Foundation
import KilnIR

extension Ledger {
    /// The columns of `table()`: header, minimum width, right-aligned. Minimum widths keep
    /// the header line the same for every model up to ResNet-50 size.
    static let columns: [(header: String, width: Int, right: Bool)] = [
        ("#", 2, false), ("pass", 32, false), ("time", 10, true), ("nodes", 6, true),
        ("params", 12, true), ("FLOPs", 15, true), ("const bytes", 12, true),
        ("max abs", 9, true), ("max rel", 9, true),
    ]

    /// An aligned text table, one line per row, then the per-output drift of the final
    /// graph when there are several outputs, the plan size and the notes:
    ///
    ///     #   pass        time  nodes  params  FLOPs  const bytes   max abs   max rel
    ///     00  input     1.2 ms     12  …
    ///
    /// Counts are grouped by commas; times in milliseconds; drift as `%.2e`, "-" when it
    /// was not measured.
    public func table() -> String {
        let cells: [[String]] = rows.map { r in
            let d = r.overallDrift
            return [
                String(format: "%02d", r.index), r.pass,
                r.seconds.map { String(format: "%.1f ms", $0 * 1000) } ?? "-",
                grouped(r.nodes), grouped(r.parameters), grouped(r.flops), grouped(r.constantBytes),
                d.map { scientific($0.maxAbs) } ?? "-", d.map { scientific($0.maxRel) } ?? "-",
            ]
        }
        let cols = Self.columns
        let widths = cols.indices.map { c in max(cols[c].width, cells.map { $0[c].count }.max() ?? 0) }
        func line(_ fields: [String]) -> String {
            let padded = fields.indices.map { c -> String in
                let pad = String(repeating: " ", count: widths[c] - fields[c].count)
                return cols[c].right ? pad + fields[c] : fields[c] + pad
            }
            var s = padded.joined(separator: "  ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        var lines = [line(cols.map(\.header))]
        lines += cells.map(line)
        if outputs.count > 1, let last = rows.last?.drift {
            lines.append("drift of the final graph per output (max abs, max rel):")
            let w = outputs.map(\.count).max() ?? 0
            for (name, d) in zip(outputs, last) {
                let fields = [d.maxAbs, d.maxRel].map { x -> String in
                    let t = scientific(x)
                    return String(repeating: " ", count: max(0, 8 - t.count)) + t
                }
                lines.append("  " + name + String(repeating: " ", count: w - name.count) + "  " + fields.joined(separator: "  "))
            }
        }
        if let planBytes { lines.append("plan: \(grouped(planBytes)) bytes") }
        lines += notes
        return lines.joined(separator: "\n") + "\n"
    }

    /// The ledger as JSON (keys in a fixed order; non-finite numbers as null):
    /// `{"outputs": [...], "rows": [{"index", "pass", "seconds", "changed", "nodes",
    /// "parameters", "flops", "constant_bytes", "drift": {"max_abs", "max_rel",
    /// "outputs": [{"name", "max_abs", "max_rel"}]} | null, "drift_reused"}], "plan_bytes",
    /// "notes", "quantization": {"settings", "int8_layers", "float_layers", "accuracy":
    /// [{"set", "output", "samples", "cosine_min", "cosine_mean", "max_abs", "max_rel",
    /// "top1_agree"}]} | null}`.
    public func json() -> String {
        func num(_ x: Double?) -> String {
            guard let x, x.isFinite else { return "null" }
            return "\(x)"
        }
        func str(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                default:
                    if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
                }
            }
            return out + "\""
        }
        let rowTexts = rows.map { r -> String in
            var drift = "null"
            if let ds = r.drift, let all = r.overallDrift {
                let per = zip(outputs, ds).map { "{\"name\": \(str($0)), \"max_abs\": \(num($1.maxAbs)), \"max_rel\": \(num($1.maxRel))}" }
                drift = "{\"max_abs\": \(num(all.maxAbs)), \"max_rel\": \(num(all.maxRel)), \"outputs\": [\(per.joined(separator: ", "))]}"
            }
            return "    {\"index\": \(r.index), \"pass\": \(str(r.pass)), \"seconds\": \(num(r.seconds)), "
                + "\"changed\": \(r.changed), \"nodes\": \(r.nodes), \"parameters\": \(r.parameters), "
                + "\"flops\": \(r.flops), \"constant_bytes\": \(r.constantBytes), \"drift\": \(drift), "
                + "\"drift_reused\": \(r.driftReused)}"
        }
        return """
            {
              "outputs": [\(outputs.map(str).joined(separator: ", "))],
              "rows": [
            \(rowTexts.joined(separator: ",\n"))
              ],
              "plan_bytes": \(planBytes.map(String.init) ?? "null"),
              "notes": [\(notes.map(str).joined(separator: ", "))],
              "quantization": \(quantizationJSON(num: num, str: str))
            }

            """
    }
}

extension Ledger {
    fileprivate func quantizationJSON(num: (Double?) -> String, str: (String) -> String) -> String {
        guard let q = quantization else { return "null" }
        let rows = q.accuracy.map { a in
            "{\"set\": \(str(a.set)), \"output\": \(str(a.output)), \"samples\": \(a.samples), "
                + "\"cosine_min\": \(num(a.minCosine)), \"cosine_mean\": \(num(a.meanCosine)), \"max_abs\": \(num(a.maxAbs)), "
                + "\"max_rel\": \(num(a.maxRel)), \"top1_agree\": \(a.top1Agree.map(String.init) ?? "null")}"
        }
        return "{\"settings\": \(str(q.settings)), \"int8_layers\": [\(q.int8Layers.map(str).joined(separator: ", "))], "
            + "\"float_layers\": [\(q.floatLayers.map(str).joined(separator: ", "))], "
            + "\"accuracy\": [\(rows.joined(separator: ", "))]}"
    }
}

/// 1234567 → "1,234,567".
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return n < 0 ? "-" + out : out
}

/// `%.2e`, with "inf"/"nan" spelled out.
func scientific(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return String(format: "%.2e", x)
}
