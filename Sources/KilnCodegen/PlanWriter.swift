import KilnIR

/// What goes into a plan besides the program.
public struct PlanOptions: Sendable {
    /// Store CONSTANTS as one zstd frame (default); false stores them raw so a device can
    /// map the file and use the weights in place.
    public var compress: Bool
    /// Hex SHA-256 of the source model file (`source_sha256` metadata).
    public var sourceSHA256: String
    /// The pass pipeline, e.g. "-O2 canonicalize,fold-constants,…" (`pipeline` metadata).
    public var pipeline: String
    /// Store large f32 constants as f16 (`--quantize fp16`, see `HalfWeights`).
    public var halfWeights: Bool
    /// The decomposed layers (`DecomposedLayer.description`, one per line in the
    /// `decomposed_layers` metadata, written only when there are any). `PlanCompiler`
    /// fills it from the graph.
    public var decomposedLayers: [String] = []

    public init(compress: Bool = true, sourceSHA256: String = "", pipeline: String = "", halfWeights: Bool = false) {
        self.compress = compress; self.sourceSHA256 = sourceSHA256; self.pipeline = pipeline
        self.halfWeights = halfWeights
    }
}

/// The compiler's version, written as `producer_version`.
public let kilnVersion = "0.1.0"

/// Serializes a lowered, memory-planned program into the plan format (PLAN_FORMAT.md).
///
/// Layout: header, section table, then STRINGS, TENSORS, ATTRIBUTES, PROGRAM, METADATA,
/// QPARAMS (when any tensor is quantized) and CONSTANTS last, each section at an 8-byte
/// aligned offset (CONSTANTS at a 64-byte aligned one), padding zeroed. Everything is
/// emitted in tensor-id and instruction order, and the lookup tables that deduplicate
/// strings, constants and attribute blocks only ever answer "seen before?", so the same
/// program and options always give the same bytes.
public enum PlanWriter {
    public static func write(_ program: Program, memory: MemoryAssignment, options: PlanOptions) throws -> [UInt8] {
        var s = SectionBuilder()
        let constants = try s.layOutConstants(program)
        try s.writeTensors(program, memory: memory, constantOffsets: constants.offsets)
        s.writeProgram(program, arenaSize: memory.arenaSize)
        s.writeMetadata([
            ("producer", "kiln"),
            ("producer_version", kilnVersion),
            ("source_sha256", options.sourceSHA256),
            ("pipeline", options.pipeline),
            ("arena_size", String(memory.arenaSize)),
            ("peak_memory", String(memory.peakLiveBytes)),
        ] + (options.decomposedLayers.isEmpty ? [] : [("decomposed_layers", options.decomposedLayers.joined(separator: "\n"))]))
        var sections: [(SectionKind, stored: [UInt8], size: Int)] = [
            (.strings, s.strings.bytes, s.strings.bytes.count),
            (.tensors, s.tensors.bytes, s.tensors.bytes.count),
        ]
        if !s.attributes.bytes.isEmpty { sections.append((.attributes, s.attributes.bytes, s.attributes.bytes.count)) }
        sections.append((.program, s.program.bytes, s.program.bytes.count))
        sections.append((.metadata, s.metadata.bytes, s.metadata.bytes.count))
        if !s.qparams.bytes.isEmpty { sections.append((.qparams, s.qparams.bytes, s.qparams.bytes.count)) }
        // Compression (the default): every table section that zstd makes smaller is stored
        // as one frame (format 1.2; names and 112-byte tensor entries shrink 5-15x, which is
        // most of a small model's plan), and CONSTANTS as one frame (header flag, 1.0).
        var tableFlags: [UInt32] = Array(repeating: 0, count: sections.count)
        if options.compress {
            for i in sections.indices {
                let packed = try Zstd.compress(sections[i].stored)
                if packed.count < sections[i].stored.count {
                    sections[i].stored = packed
                    tableFlags[i] = PlanFormat.sectionZstd
                }
            }
        }
        let compressed = options.compress && !constants.bytes.isEmpty
        if !constants.bytes.isEmpty {
            sections.append((.constants, compressed ? try Zstd.compress(constants.bytes) : constants.bytes, constants.bytes.count))
            tableFlags.append(0)
        }
        // Format 1.2 added compressed table sections and opcode 82 (QMAXPOOL), 1.3 opcodes 83
        // to 86 (QADD, QCONCAT, QGLOBAL_AVG_POOL, QLOOKUP): a plan using one says so, so an older runtime answers "needs a newer runtime".
        let uses13 = program.instructions.contains { [.qadd, .qconcat, .qglobalAvgPool, .qlookup].contains($0.opcode) }
        let uses12 = tableFlags.contains(PlanFormat.sectionZstd) || program.instructions.contains { $0.opcode == .qmaxpool }
        let minor: UInt16 = uses13 ? 3 : uses12 ? 2 : program.usesF16Storage ? 1 : 0
        return assemble(sections, flags: tableFlags, compressed: compressed, minor: minor)
    }

    /// Header, section table (with CRCs) and the sections.
    private static func assemble(_ sections: [(SectionKind, stored: [UInt8], size: Int)], flags: [UInt32], compressed: Bool,
                                 minor: UInt16) -> [UInt8] {
        var file = ByteWriter()
        file.append(PlanFormat.magic)
        file.u16(PlanFormat.majorVersion)
        file.u16(minor)
        file.u32(compressed ? PlanFormat.flagConstantsZstd : 0)
        file.u32(UInt32(sections.count))
        file.u32(0)  // header CRC, patched below
        let tableStart = file.bytes.count
        file.append([UInt8](repeating: 0, count: PlanFormat.sectionEntrySize * sections.count))
        var table = ByteWriter()
        for ((kind, stored, size), sectionFlags) in zip(sections, flags) {
            file.pad(to: kind == .constants ? PlanFormat.alignment : 8)
            table.u32(kind.rawValue)
            table.u32(sectionFlags)
            table.u64(UInt64(file.bytes.count))
            table.u64(UInt64(stored.count))
            table.u64(UInt64(size))
            table.u32(CRC32.checksum(stored))
            table.u32(0)
            file.append(stored)
        }
        var bytes = file.bytes
        bytes.replaceSubrange(tableStart..<(tableStart + table.bytes.count), with: table.bytes)
        let crc = CRC32.checksum(bytes[0..<(tableStart + table.bytes.count)])
        bytes.replaceSubrange(20..<24, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        return bytes
    }
}
