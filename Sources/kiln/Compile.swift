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
            runtime kernels, plans the arena and writes the plan. Constants are zstd-compressed
            unless --no-compress. The written plan is loaded once by the runtime as a check.
            Prints one line: instructions, arena bytes, constant bytes and the file size.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The plan file to write.", valueName: "plan.kplan"))
    var output: String

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimization level 0-3 (-O0 … -O3).")
    var level: Int = 2

    @Flag(name: .customLong("no-compress"), help: "Store constants raw (mmap-able, weights used in place).")
    var noCompress = false

    func validate() throws {
        guard OptLevel(rawValue: level) != nil else { throw ValidationError("-O takes 0, 1, 2 or 3") }
    }

    func run() throws {
        var graph = try modelOptions.load()
        try reporting {
            let optLevel = OptLevel(rawValue: level) ?? .o2
            let context = PassContext(optLevel: optLevel)
            try PassManager.run(&graph, context: context)
            let passes = PassManager.pipelineNames(for: optLevel)
            let source = FileManager.default.contents(atPath: modelOptions.model).map { Array($0) } ?? []
            let options = PlanOptions(compress: !noCompress, sourceSHA256: SHA256.hex(source),
                                      pipeline: (["-O\(level)"] + (passes.isEmpty ? [] : [passes.joined(separator: ",")])).joined(separator: " "))
            let plan = try PlanCompiler.compile(graph, options: options)
            do {
                _ = try Plan(bytes: plan.bytes)
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
        }
    }
}
