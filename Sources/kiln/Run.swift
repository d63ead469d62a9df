import ArgumentParser
import Foundation
import KilnIR
import KilnRuntime

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a compiled plan with the C runtime and write each output as .npy.",
        discussion: """
            Inputs are .npy files: --input NAME=FILE.npy binds by name, --input FILE.npy binds the next \
            unbound input in order. Outputs are written like `kiln eval` writes them. The standalone C tool \
            `kiln-run` (Runtime/Makefile) takes the same arguments.
            """)

    @Argument(help: "The plan file (.kplan) written by `kiln compile`.")
    var plan: String

    @Option(name: .customLong("input"), help: ArgumentHelp("An input: NAME=FILE.npy or FILE.npy (repeatable).", valueName: "input"))
    var inputs: [String] = []

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Directory for the output .npy files (created if missing).", valueName: "dir"))
    var outputDir: String

    @Option(help: "Worker threads for the session.")
    var threads: Int = 1

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
    }

    func run() throws {
        try reporting {
            let loaded = try loadPlan(plan)
            let session = try runtime { try Session(plan: loaded, threads: threads) }
            let tensors = try bindInputs(loaded.inputs.map { ($0.name, try tensorType($0)) }, inputs)
            for (i, t) in tensors.enumerated() { try runtime { try session.setInput(i, bytes: t.bytes) } }
            try runtime { try session.run() }
            let outputs = try loaded.outputs.enumerated().map { i, info in
                Tensor(type: try tensorType(info), bytes: try runtime { try session.output(i) })
            }
            try writeOutputs(loaded.outputs.map(\.name), outputs, to: outputDir)
        }
    }
}

/// Loads a plan file, turning runtime errors into one-line messages naming the file.
func loadPlan(_ path: String) throws -> Plan {
    guard FileManager.default.fileExists(atPath: path) else { throw KilnError("\(path): no such file") }
    do {
        return try Plan(path: path, mmap: false)
    } catch let e as KilnRuntimeError {
        throw KilnError("\(path): \(e.message)")
    }
}

/// Runs a runtime call, turning its error into a KilnError.
func runtime<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as KilnRuntimeError { throw KilnError(e.message) }
}

func tensorType(_ info: TensorInfo) throws -> TensorType {
    guard let dtype = DType(rawValue: info.dtype.name) else {
        throw KilnError("plan tensor '\(info.name)' has dtype \(info.dtype.name), which Kiln cannot read or write")
    }
    return TensorType(dtype, Shape(info.shape))
}
