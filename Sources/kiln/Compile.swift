import ArgumentParser
import Foundation
import KilnCodegen
import KilnIR
import KilnPasses
import KilnRuntime

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a model into a plan (.kplan) for the C runtime.",
        discussion: """
            Imports the model, runs the -O level's pass pipeline (-O0: none), lowers every op to
            runtime kernels, plans the arena and writes the plan. Constants and table sections are
            zstd-compressed unless --no-compress. The written plan is loaded once by the runtime as a check.
            Prints one line: instructions, arena bytes, constant bytes and the file size.
            --report adds the pass ledger (see the README); --dump-ir and --print-ir-after-all show \
            the IR between passes.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var quantizeOptions: QuantizeOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The plan file to write.", valueName: "plan.kplan"))
    var output: String

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimization level 0-3 (-O0 … -O3).")
    var level: Int = 2

    @Flag(name: .customLong("no-compress"), help: "Store every section raw (mmap-able, weights used in place; readable by NO_ZSTD runtimes).")
    var noCompress = false

    @OptionGroup(title: "Inspection") var inspection: InspectionOptions

    @OptionGroup(title: "Compression") var compression: CompressionOptions

    func validate() throws {
        guard OptLevel(rawValue: level) != nil else { throw ValidationError("-O takes 0, 1, 2 or 3") }
    }

    func run() throws {
        let start = ContinuousClock.now
        var graph = try modelOptions.load()
        let importSeconds = start.duration(to: .now).seconds
        try reporting {
            let optLevel = OptLevel(rawValue: level) ?? .o2
            let observers = try inspection.makeInspection(for: graph, importSeconds: importSeconds)
            let passes = PassManager.pipelineNames(for: optLevel) + (try compression.passNames())
            var context = PassContext(optLevel: optLevel, explicitPasses: passes, instrumentations: observers.instrumentations)
            context.remarks = printRemark
            try PassManager.run(&graph, context: context)
            let quantized = try quantizeOptions.apply(&graph) { observers.recorder?.setQuantization($0) }
            let recorded = passes + (quantized.map { [$0] } ?? [])
            let source = FileManager.default.contents(atPath: modelOptions.model).map { Array($0) } ?? []
            let options = PlanOptions(compress: !noCompress, sourceSHA256: SHA256.hex(source),
                                      pipeline: (["-O\(level)"] + (recorded.isEmpty ? [] : [recorded.joined(separator: ",")])).joined(separator: " "),
                                      halfWeights: quantizeOptions.halfWeights)
            let plan = try PlanCompiler.compile(graph, options: options)
            do {
                _ = try Plan(bytes: plan.bytes)
            } catch let e as KilnRuntimeError where e.isOutOfMemory {
                // The load check allocates the arena: a model whose tensors do not fit this
                // machine is the input's problem, not the compiler's.
                throw KilnError("the plan's \(plan.memory.arenaSize)-byte tensor arena does not fit in this machine's memory (loading it as a check: \(e.message))")
            } catch let e as KilnRuntimeError {
                throw KilnError("internal error: the runtime rejects the compiled plan: \(e.message)")
            }
            do {
                try Data(plan.bytes).write(to: URL(fileURLWithPath: output))
            } catch {
                let dir = (output as NSString).deletingLastPathComponent
                var isDirectory: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDirectory)
                    && isDirectory.boolValue
                throw KilnError("\(output): cannot write the plan" + (exists ? "" : " (no directory \(dir))"))
            }
            print("\(output): \(plan.summary)")
            try observers.finish(planBytes: plan.bytes.count, options: inspection)
        }
    }
}
