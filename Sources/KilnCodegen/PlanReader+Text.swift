import KilnIR

extension PlanFile {
    /// Each arena tensor's lifetime [first, last] instruction, from the program itself:
    /// inputs from -1 (bound before the run) to the end, outputs to `instructions.count`
    /// (read after the run); both are what the memory planner reserves.
    public var lifetimes: [ClosedRange<Int>?] {
        var first = [Int?](repeating: nil, count: tensors.count)
        var last = [Int](repeating: -1, count: tensors.count)
        for (i, ins) in instructions.enumerated() {
            for id in ins.results where Int(id) < tensors.count && first[Int(id)] == nil { first[Int(id)] = i }
            for id in ins.operands + ins.results where Int(id) < tensors.count { last[Int(id)] = max(last[Int(id)], i) }
        }
        return tensors.indices.map { t -> ClosedRange<Int>? in
            switch tensors[t].storage {
            case .input: return -1...instructions.count
            case .output: return first[t].map { $0...instructions.count }
            case .arena: return first[t].map { $0...max($0, last[t]) }
            case .constant, nil: return nil
            }
        }
    }

    /// The text `kiln inspect PLAN` prints: header, sections, metadata, tensor table,
    /// instructions and the memory plan.
    public var report: String {
        var out: [String] = []
        let compressed = flags & PlanFormat.flagConstantsZstd != 0
        out.append("plan format \(major).\(minor), flags 0x\(String(flags, radix: 16))\(compressed ? " (constants zstd)" : ""), \(sections.count) sections")
        out.append("")
        out.append("sections:")
        out += table([["kind", "offset", "stored", "uncompressed", "crc32"]]
                     + sections.map { [$0.name, "\($0.offset)", "\($0.storedSize)", "\($0.uncompressedSize)", hex32($0.crc)] })
        out.append("")
        out.append("metadata:")
        for (k, v) in metadata where k != "decomposed_layers" { out.append("  \(k) = \(v)") }
        if let layers = metadata("decomposed_layers") {
            let lines = layers.split(separator: "\n")
            out.append("")
            out.append("decomposed layers (\(lines.count)):")
            out += lines.map { "  \($0)" }
        }
        out.append("")
        out.append("tensors (\(tensors.count)):")
        out += table([["id", "name", "dtype", "shape", "storage", "offset", "bytes"]] + tensors.enumerated().map { i, t in
            ["\(i)", t.name.isEmpty ? "-" : t.name, t.dtype?.rawValue ?? "dtype\(t.dtypeCode)",
             Shape(t.dims).description, storageName(t), "\(t.offset)", "\(t.byteSize)"]
        })
        out.append("")
        out.append("instructions (\(instructions.count)):")
        for (i, ins) in instructions.enumerated() {
            let name = ins.opcode.map { cEnumName($0) } ?? "OPCODE_\(ins.opcodeCode)"
            let attrs = ins.opcode.flatMap { attributeText($0, ins.attributes) } ?? ""
            out.append("  \(i): \(name) \(ids(ins.operands)) -> \(ids(ins.results))\(attrs.isEmpty ? "" : "  {\(attrs)}")")
        }
        out.append("")
        out.append("memory plan: arena \(arenaSize) bytes" + (metadata("peak_memory").map { ", peak live \($0) bytes" } ?? ""))
        var rows = [["id", "tensor", "offset", "bytes", "lifetime"]]
        for (i, life) in lifetimes.enumerated() {
            guard let life else { continue }
            let t = tensors[i]
            let end = life.upperBound == instructions.count ? "end" : "\(life.upperBound)"
            let start = life.lowerBound < 0 ? "in" : "\(life.lowerBound)"
            rows.append(["\(i)", t.name.isEmpty ? "-" : t.name, "\(t.offset)", "\(t.byteSize)", "[\(start), \(end)]"])
        }
        out += table(rows)
        return out.joined(separator: "\n") + "\n"
    }

    private func storageName(_ t: TensorEntry) -> String {
        switch t.storage {
        case .arena: return "arena"
        case .constant: return t.storedAsF16 ? "constant (f16)" : "constant"
        case .input: return "input \(t.ioIndex)"
        case .output: return "output \(t.ioIndex)"
        case nil: return "storage\(t.storageCode)"
        }
    }

    private func ids(_ list: [UInt32]) -> String {
        list.map { id in
            if id == PlanFormat.noTensor { return "-" }
            let i = Int(id)
            return i < tensors.count && !tensors[i].name.isEmpty ? "%\(tensors[i].name)" : "#\(i)"
        }.joined(separator: ", ")
    }

    /// `kernel_h=3 kernel_w=3 ... perm=[0,2,1]`: every field but reserved ones and an
    /// absent fused activation; arrays lose their trailing padding.
    private func attributeText(_ op: Opcode, _ bytes: [UInt8]) -> String? {
        guard let fields = AttributeCoder.decode(op, bytes[...]) else { return "attributes: \(bytes.count) bytes?" }
        let act = fields.first { $0.0 == "act" }?.1.first
        return fields.compactMap { name, values -> String? in
            if name == "reserved" { return nil }
            if name.hasPrefix("act"), act == .int(0) { return nil }
            if values.count == 1 { return "\(name)=\(values[0])" }
            var trimmed = values
            while let last = trimmed.last, last == .int(0) || last == .float(0), trimmed.count > 1 { trimmed.removeLast() }
            return "\(name)=[" + trimmed.map(\.description).joined(separator: ",") + "]"
        }.joined(separator: " ")
    }

    private func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// Rows as left-aligned columns, two spaces apart, indented by two.
    private func table(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { cells in
            "  " + cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 2)
            }.joined()
        }
    }
}
