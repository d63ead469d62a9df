import ArgumentParser
import Foundation
import KilnIR

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model with Kiln's reference evaluator and write each output as .npy.",
        discussion: """
            Inputs are .npy files: --input NAME=FILE.npy binds by name, --input FILE.npy binds the next \
            unbound graph input in order. Each graph output is written to DIR/<name>.npy, with every \
            character other than letters, digits, '.', '_' and '-' in the name replaced by '_'. \
            The reference evaluator is plain and slow; it is the correctness oracle, not the runtime.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("input"), help: ArgumentHelp("An input: NAME=FILE.npy or FILE.npy (repeatable).", valueName: "input"))
    var inputs: [String] = []

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Directory for the output .npy files (created if missing).", valueName: "dir"))
    var outputDir: String

    func run() throws {
        let graph = try modelOptions.load()
        try reporting {
            let tensors = try bindInputs(graph, inputs)
            let outputs = try Evaluator.run(graph, inputs: tensors)
            try writeOutputs(graph, outputs, to: outputDir)
        }
    }
}

/// Matches `--input` arguments to graph inputs and reads them, checking dtype and shape.
func bindInputs(_ graph: Graph, _ args: [String]) throws -> [Tensor] {
    try bindInputs(graph.inputs.map { (graph[$0].name, graph.type(of: $0)) }, args)
}

/// Matches `--input NAME=FILE.npy` / `--input FILE.npy` arguments to the named inputs (in
/// order) and reads them, checking dtype and shape. Every input must be bound.
func bindInputs(_ inputs: [(name: String, type: TensorType)], _ args: [String]) throws -> [Tensor] {
    var bound = [Tensor?](repeating: nil, count: inputs.count)
    var nextPositional = 0
    for arg in args {
        var name: String?
        var path = arg
        if let eq = arg.firstIndex(of: "="), !FileManager.default.fileExists(atPath: arg) {
            name = String(arg[..<eq])
            path = String(arg[arg.index(after: eq)...])
        }
        let index: Int
        if let name {
            guard let i = inputs.firstIndex(where: { $0.name == name }) else {
                let known = inputs.map { "'\($0.name)'" }.joined(separator: ", ")
                throw KilnError("--input \(name): the model has no input named '\(name)' (inputs: \(known))")
            }
            index = i
        } else {
            while nextPositional < bound.count && bound[nextPositional] != nil { nextPositional += 1 }
            guard nextPositional < bound.count else {
                throw KilnError("--input \(path): the model takes only \(inputs.count) input(s)")
            }
            index = nextPositional
        }
        let (inputName, want) = inputs[index]
        try require(bound[index] == nil, "--input: input '\(inputName)' is given twice")
        let t = try readNpy(path)
        try require(t.dtype == want.dtype,
                    "\(path): input '\(inputName)' expects dtype \(want.dtype.rawValue), the file has \(t.dtype.rawValue)")
        try require(t.shape == want.shape,
                    "\(path): input '\(inputName)' expects shape \(want.shape), the file has \(t.shape)")
        bound[index] = t
    }
    let missing = zip(inputs, bound).filter { $0.1 == nil }.map { "'\($0.0.name)' (\($0.0.type))" }
    try require(missing.isEmpty, "missing input(s): \(missing.joined(separator: ", ")); pass --input NAME=FILE.npy")
    return bound.map { $0! }
}

/// Writes one .npy per graph output into `dir`.
func writeOutputs(_ graph: Graph, _ outputs: [Tensor], to dir: String) throws {
    try writeOutputs(graph.outputs.map { graph[$0].name }, outputs, to: dir)
}

/// Writes `DIR/<sanitized name>.npy` for each output.
func writeOutputs(_ names: [String], _ outputs: [Tensor], to dir: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    } catch {
        throw KilnError("cannot create the output directory \(dir)")
    }
    for (name, t) in zip(names, outputs) {
        let file = URL(fileURLWithPath: dir).appendingPathComponent(Npy.fileName(for: name) + ".npy")
        let bytes = try Npy.encode(t)
        do { try Data(bytes).write(to: file) } catch { throw KilnError("\(file.path): cannot write the output") }
    }
}
