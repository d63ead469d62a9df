import ArgumentParser
import Foundation
import KilnCodegen
import KilnIR
import KilnONNX

@main
struct Kiln: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Kiln: an ahead-of-time compiler for ONNX models.",
        discussion: """
            Compile ONNX models to plans for the Kiln C runtime, run and time them, and inspect every stage: \
            the typed graph IR, the optimization passes, and the plan. Models are .onnx files or Kiln IR \
            text (.kir); plans are .kplan files.
            """,
        version: kilnVersion,
        subcommands: [Compile.self, Inspect.self, Eval.self, Opt.self, Run.self, Bench.self, Ops.self])
}

/// Reports a failure the way every subcommand does: one line on stderr, exit status 1.
struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// Runs `body`, turning compiler errors into ArgumentParser's one-line error exit.
func reporting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as KilnError {
        throw Failure(e.message)
    } catch let e as CocoaError {
        throw Failure(e.localizedDescription)
    }
}

struct Ops: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the ONNX operators (ai.onnx domain) that Kiln imports, one per line.")

    func run() throws {
        print(ONNXImporter.supportedOperators.joined(separator: "\n"))
    }
}
