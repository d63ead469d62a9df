import KilnIR

/// A plan file decoded by `PlanReader` (for `kiln inspect` and round-trip tests).
public struct PlanFile: Sendable {
    public struct Section: Sendable {
        public var kind: UInt32
        public var flags: UInt32
        public var offset: Int
        public var storedSize: Int
        public var uncompressedSize: Int
        public var crc: UInt32
        public var name: String { SectionKind(rawValue: kind).map { cEnumName($0) } ?? "KIND_\(kind)" }
    }

    public struct TensorEntry: Sendable {
        public var name: String
        public var dtypeCode: UInt8
        public var dims: [Int]
        public var storageCode: UInt8
        /// Entry flags (byte 11): `PlanFormat.tensorF16Storage`.
        public var flags: UInt8 = 0
        public var ioIndex: Int
        public var offset: Int
        public var byteSize: Int
        /// Scales and zero points when quantized; the axis is -1 for per tensor.
        public var quantAxis: Int
        public var scales: [Float]
        public var zeroPoints: [Int64]

        public var dtype: DType? { DType(planCode: dtypeCode) }
        public var storage: StorageKind? { StorageKind(rawValue: storageCode) }
        /// An f32 constant stored as f16 in CONSTANTS (2 bytes an element).
        public var storedAsF16: Bool { flags & PlanFormat.tensorF16Storage != 0 }
        /// Bytes it occupies in CONSTANTS.
        public var storedSize: Int { storedAsF16 ? byteSize / 2 : byteSize }
    }

    public struct InstructionEntry: Sendable {
        public var opcodeCode: UInt16
        public var attributes: [UInt8]
        public var operands: [UInt32]
        public var results: [UInt32]
        public var opcode: Opcode? { Opcode(rawValue: opcodeCode) }
    }

    public var major: UInt16
    public var minor: UInt16
    public var flags: UInt32
    public var sections: [Section]
    public var tensors: [TensorEntry]
    public var instructions: [InstructionEntry]
    public var arenaSize: Int
    public var metadata: [(key: String, value: String)]
    /// The uncompressed CONSTANTS section.
    public var constants: [UInt8]

    /// The bytes of a CONSTANT tensor as the kernels see them (f16 storage widened to f32).
    public func constantBytes(_ t: TensorEntry) -> ArraySlice<UInt8> {
        let n = t.storedSize
        guard t.storage == .constant, t.offset >= 0, n >= 0, t.offset <= constants.count - n else { return [] }
        let stored = constants[t.offset..<(t.offset + n)]
        guard t.storedAsF16 else { return stored }
        var out = [UInt8]()
        out.reserveCapacity(2 * n)
        var i = stored.startIndex
        while i + 1 < stored.endIndex {
            let f = Float(Float16(bitPattern: UInt16(stored[i]) | UInt16(stored[i + 1]) << 8)).bitPattern
            for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: f >> (8 * k))) }
            i += 2
        }
        return out[...]
    }

    public func metadata(_ key: String) -> String? { metadata.first { $0.key == key }?.value }
}

/// Reads the plan format. Every offset and size is checked against the file and every
/// CRC is verified, so a truncated or corrupt file is a `KilnError`, never a trap. It does
/// not validate the program's semantics (the C loader does).
public enum PlanReader {
    /// Whether `bytes` start with the plan magic.
    public static func isPlan(_ bytes: [UInt8]) -> Bool { bytes.starts(with: PlanFormat.magic) }

    public static func read(_ bytes: [UInt8]) throws -> PlanFile {
        try require(isPlan(bytes), "plan: not a Kiln plan (no KILNPLAN header)")
        try require(bytes.count >= PlanFormat.headerSize, "plan: truncated header (\(bytes.count) bytes)")
        var r = ByteReader(bytes, at: 8)
        let major = r.u16(), minor = r.u16(), flags = r.u32(), count = Int(r.u32()), headerCRC = r.u32()
        try require(major == PlanFormat.majorVersion, "plan: format version \(major).\(minor) is not supported (reads \(PlanFormat.majorVersion).x)")
        try require(count <= 4096, "plan: \(count) sections (at most 4096)")
        let tableEnd = PlanFormat.headerSize + PlanFormat.sectionEntrySize * count
        try require(bytes.count >= tableEnd, "plan: truncated section table")
        var header = Array(bytes[0..<tableEnd])
        header.replaceSubrange(20..<24, with: [0, 0, 0, 0])
        try require(CRC32.checksum(header) == headerCRC, "plan: header checksum mismatch")

        var sections: [PlanFile.Section] = []
        var bodies: [UInt32: ArraySlice<UInt8>] = [:]
        for _ in 0..<count {
            let s = PlanFile.Section(kind: r.u32(), flags: r.u32(), offset: Int(clamping: r.u64()), storedSize: Int(clamping: r.u64()),
                                     uncompressedSize: Int(clamping: r.u64()), crc: r.u32())
            _ = r.u32()
            try require(s.offset >= tableEnd && s.storedSize <= bytes.count && s.offset <= bytes.count - s.storedSize,
                        "plan: section \(s.name) lies outside the file")
            var body = bytes[s.offset..<(s.offset + s.storedSize)]
            try require(CRC32.checksum(body) == s.crc, "plan: section \(s.name) checksum mismatch")
            try require(bodies[s.kind] == nil, "plan: section \(s.name) appears twice")
            if s.flags & PlanFormat.sectionZstd != 0 {
                try require(minor >= 2, "plan: section \(s.name) is zstd-compressed in a format \(major).\(minor) plan")
                body = try Zstd.decompress(body, expectedSize: s.uncompressedSize, section: s.name)[...]
            } else if s.kind == SectionKind.constants.rawValue && flags & PlanFormat.flagConstantsZstd != 0 {
                body = try Zstd.decompress(body, expectedSize: s.uncompressedSize)[...]
            }
            bodies[s.kind] = body
            sections.append(s)
        }
        func body(_ k: SectionKind) -> [UInt8] { bodies[k.rawValue].map(Array.init) ?? [] }
        let strings = body(.strings)
        func string(_ off: UInt32, _ len: UInt32) throws -> String {
            let (o, l) = (Int(off), Int(len))
            try require(o <= strings.count && l <= strings.count - o, "plan: string reference outside STRINGS")
            return String(decoding: strings[o..<(o + l)], as: UTF8.self)
        }

        let constants = body(.constants)
        let tensors = try readTensors(body(.tensors), qparams: body(.qparams), string: string)
        let (arena, instructions) = try readProgram(body(.program), attributes: body(.attributes))
        var m = ByteReader(body(.metadata))
        let entries = Int(m.u32())
        _ = m.u32()
        try require(entries <= m.remaining / 16, "plan: METADATA claims \(entries) entries")
        let metadata = try (0..<entries).map { _ in (key: try string(m.u32(), m.u32()), value: try string(m.u32(), m.u32())) }
        return PlanFile(major: major, minor: minor, flags: flags, sections: sections, tensors: tensors,
                        instructions: instructions, arenaSize: arena, metadata: metadata, constants: constants)
    }

    private static func readTensors(_ body: [UInt8], qparams: [UInt8], string: (UInt32, UInt32) throws -> String) throws -> [PlanFile.TensorEntry] {
        var r = ByteReader(body)
        let count = Int(r.u32()), size = Int(r.u32())
        try require(size >= PlanFormat.tensorEntrySize && size % 8 == 0 && count <= r.remaining / size,
                    "plan: TENSORS has \(count) entries of \(size) bytes in \(body.count) bytes")
        return try (0..<count).map { i in
            var e = ByteReader(Array(r.take(size)))
            let name = try string(e.u32(), e.u32())
            let dtype = e.u8(), rank = Int(e.u8()), storage = e.u8(), flags = e.u8()
            let io = Int(e.u32()), offset = Int(clamping: e.u64()), bytes = Int(clamping: e.u64())
            let dims = (0..<PlanFormat.maxRank).map { _ in Int(clamping: e.u64()) }
            let q = Int(e.u32()), axis = Int(e.i32()), qoff = Int(clamping: e.u64())
            try require(rank <= PlanFormat.maxRank, "plan: tensor \(i) has rank \(rank)")
            var scales: [Float] = [], zeros: [Int64] = []
            if q > 0 {
                try require(q <= qparams.count / 12 && qoff <= qparams.count - 12 * q, "plan: tensor \(i) quantization lies outside QPARAMS")
                var qr = ByteReader(qparams, at: qoff)
                scales = (0..<q).map { _ in qr.f32() }
                zeros = (0..<q).map { _ in qr.i64() }
            }
            return PlanFile.TensorEntry(name: name, dtypeCode: dtype, dims: Array(dims[..<rank]), storageCode: storage,
                                        flags: flags, ioIndex: io, offset: offset, byteSize: bytes, quantAxis: axis, scales: scales, zeroPoints: zeros)
        }
    }

    private static func readProgram(_ body: [UInt8], attributes: [UInt8]) throws -> (Int, [PlanFile.InstructionEntry]) {
        var r = ByteReader(body)
        let count = Int(r.u32())
        _ = r.u32()
        let arena = Int(clamping: r.u64())
        try require(count <= r.remaining / PlanFormat.instructionHeaderSize, "plan: PROGRAM claims \(count) instructions")
        let instructions = try (0..<count).map { i -> PlanFile.InstructionEntry in
            let opcode = r.u16(), nin = Int(r.u8()), nout = Int(r.u8())
            let aoff = Int(r.u32()), asize = Int(r.u32())
            let ids = (0..<(nin + nout)).map { _ in r.u32() }
            try require(!r.overrun, "plan: instruction \(i) is truncated")
            try require(aoff <= attributes.count && asize <= attributes.count - aoff, "plan: instruction \(i) attributes lie outside ATTRIBUTES")
            return PlanFile.InstructionEntry(opcodeCode: opcode, attributes: Array(attributes[aoff..<(aoff + asize)]),
                                             operands: Array(ids[..<nin]), results: Array(ids[nin...]))
        }
        try require(r.remaining == 0, "plan: PROGRAM has \(r.remaining) trailing bytes")
        return (arena, instructions)
    }
}
