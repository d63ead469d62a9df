import KilnIR

/// Builds the bodies of the plan's sections (PLAN_FORMAT.md §2–§9).
struct SectionBuilder {
    var strings = ByteWriter()
    var tensors = ByteWriter()
    var attributes = ByteWriter()
    var program = ByteWriter()
    var metadata = ByteWriter()
    var qparams = ByteWriter()
    private var stringOffsets: [String: UInt32] = [:]
    private var attributeOffsets: [[UInt8]: UInt32] = [:]

    /// A string's (offset, length) in STRINGS; equal strings are stored once.
    mutating func string(_ s: String) -> (UInt32, UInt32) {
        let utf8 = Array(s.utf8)
        if utf8.isEmpty { return (0, 0) }
        if let off = stringOffsets[s] { return (off, UInt32(utf8.count)) }
        let off = UInt32(strings.bytes.count)
        strings.append(utf8)
        stringOffsets[s] = off
        return (off, UInt32(utf8.count))
    }

    /// CONSTANTS content: every constant tensor used in place at a 64-byte aligned offset,
    /// then the f16-stored ones (read only by the widening at load) packed at 2-byte
    /// alignment; identical stored bytes stored once. Returns the section and each
    /// tensor's offset.
    mutating func layOutConstants(_ p: Program) throws -> (bytes: [UInt8], offsets: [Int: Int]) {
        var out = ByteWriter()
        var seen: [[UInt8]: Int] = [:]
        var offsets: [Int: Int] = [:]
        for half in [false, true] {
            for (id, t) in p.tensors.enumerated() where t.storedAsF16 == half {
                guard case .constant(let value) = t.storage else { continue }
                let stored = half ? HalfWeights.encode(value) : value.bytes
                if let off = seen[stored], half || off % PlanFormat.alignment == 0 {
                    offsets[id] = off
                    continue
                }
                out.pad(to: half ? 2 : PlanFormat.alignment)
                offsets[id] = out.bytes.count
                seen[stored] = out.bytes.count
                out.append(stored)
            }
        }
        return (out.bytes, offsets)
    }

    /// TENSORS: count, entry size, then one 112-byte entry per tensor.
    mutating func writeTensors(_ p: Program, memory: MemoryAssignment, constantOffsets: [Int: Int]) throws {
        tensors.u32(UInt32(p.tensors.count))
        tensors.u32(UInt32(PlanFormat.tensorEntrySize))
        for (id, t) in p.tensors.enumerated() {
            let (nameOffset, nameLength) = string(t.name)
            let io: Int
            switch t.storage {
            case .input(let n), .output(let n): io = n
            case .arena, .constant: io = 0
            }
            let offset = t.storageKind == .constant ? constantOffsets[id] ?? 0 : memory.offsets[id] ?? 0
            tensors.u32(nameOffset)
            tensors.u32(nameLength)
            tensors.u8(t.type.dtype.planCode)
            tensors.u8(UInt8(t.type.shape.rank))
            tensors.u8(t.storageKind.rawValue)
            tensors.u8(t.storedAsF16 ? PlanFormat.tensorF16Storage : 0)
            tensors.u32(UInt32(io))
            tensors.u64(UInt64(offset))
            tensors.u64(UInt64(t.type.byteCount))
            for d in 0..<PlanFormat.maxRank { tensors.u64(d < t.type.shape.rank ? UInt64(t.type.shape[d]) : 0) }
            try writeQuantization(t)
        }
    }

    /// The entry's quantization fields, and its scales and zero points in QPARAMS.
    private mutating func writeQuantization(_ t: PlanTensor) throws {
        guard let q = t.type.quantization else {
            tensors.u32(0)
            tensors.i32(-1)
            tensors.u64(0)
            return
        }
        let count: Int
        if let axis = q.axis {
            try require(axis >= 0 && axis < t.type.shape.rank, "tensor '\(t.name)': quantization axis \(axis) is out of range")
            count = t.type.shape[axis]
        } else {
            count = 1
        }
        try require(q.scales.count == count && q.zeroPoints.count == count,
                    "tensor '\(t.name)': \(q.scales.count) scales and \(q.zeroPoints.count) zero points, expected \(count)")
        qparams.pad(to: 8)
        tensors.u32(UInt32(count))
        tensors.i32(Int32(q.axis ?? -1))
        tensors.u64(UInt64(qparams.bytes.count))
        for s in q.scales { qparams.f32(s) }
        for z in q.zeroPoints { qparams.i64(z) }
    }

    /// ATTRIBUTES and PROGRAM: identical attribute blocks are stored once.
    mutating func writeProgram(_ p: Program, arenaSize: Int) {
        program.u32(UInt32(p.instructions.count))
        program.u32(0)
        program.u64(UInt64(arenaSize))
        for ins in p.instructions {
            var offset: UInt32 = 0
            if !ins.attributes.isEmpty {
                if let off = attributeOffsets[ins.attributes] {
                    offset = off
                } else {
                    attributes.pad(to: 4)
                    offset = UInt32(attributes.bytes.count)
                    attributeOffsets[ins.attributes] = offset
                    attributes.append(ins.attributes)
                }
            }
            program.u16(ins.opcode.rawValue)
            program.u8(UInt8(ins.operands.count))
            program.u8(UInt8(ins.results.count))
            program.u32(offset)
            program.u32(UInt32(ins.attributes.count))
            for id in ins.operands + ins.results { program.u32(id.map { UInt32($0) } ?? PlanFormat.noTensor) }
        }
    }

    /// METADATA: count, reserved, then (key, value) string references.
    mutating func writeMetadata(_ entries: [(String, String)]) {
        metadata.u32(UInt32(entries.count))
        metadata.u32(0)
        for (k, v) in entries {
            let key = string(k), value = string(v)
            metadata.u32(key.0)
            metadata.u32(key.1)
            metadata.u32(value.0)
            metadata.u32(value.1)
        }
    }
}
