import KilnIR
import KilnPasses

/// A compiled plan with what the CLI reports about it.
public struct CompiledPlan: Sendable {
    public var bytes: [UInt8]
    public var program: Program
    public var memory: MemoryAssignment

    /// Bytes of weights as stored (distinct constant tensors, uncompressed, unpadded; f16
    /// storage counts 2 bytes an element).
    public var constantBytes: Int {
        var seen = Set<[UInt8]>()
        var total = 0
        for t in program.tensors {
            guard case .constant(let c) = t.storage, seen.insert(c.bytes).inserted else { continue }
            total += t.storedAsF16 ? 2 * c.count : c.bytes.count
        }
        return total
    }

    /// `12 instructions, arena 1.2 MB, constants 3.4 MB, plan 3.1 MB`
    public var summary: String {
        "\(program.instructions.count) instructions, arena \(byteString(memory.arenaSize)), "
            + "constants \(byteString(constantBytes)), plan \(byteString(bytes.count))"
    }
}

/// Graph → lowered program → memory plan → plan bytes.
public enum PlanCompiler {
    public static func compile(_ graph: Graph, options: PlanOptions = PlanOptions()) throws -> CompiledPlan {
        var program = try Lowering.lower(graph)
        if options.halfWeights { program.storeWeightsAsF16() }
        let memory = program.planMemory()
        var options = options
        options.decomposedLayers = graph.decomposedLayers.map(\.description)
        let bytes = try PlanWriter.write(program, memory: memory, options: options)
        return CompiledPlan(bytes: bytes, program: program, memory: memory)
    }
}

/// `1234` → "1234 B", `1234567` → "1.18 MiB".
func byteString(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var v = Double(n)
    var u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    if u == 0 { return "\(n) B" }
    let scaled = (v * 100).rounded() / 100
    return "\(scaled) \(units[u])"
}
