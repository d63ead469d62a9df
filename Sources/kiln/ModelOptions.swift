import ArgumentParser
import Foundation
import KilnIR
import KilnONNX

/// Options shared by every command that imports a model.
struct ModelOptions: ParsableArguments {
    @Argument(help: "The model: an ONNX file (.onnx) or Kiln textual IR (.kir).")
    var model: String

    @Option(name: .customLong("input-shape"),
            help: ArgumentHelp("Pin an input's shape, e.g. x=1,3,224,224 (repeatable). Needed for dynamic dims other than a leading batch dim (which defaults to 1); plans have static shapes.", valueName: "name=dims"))
    var inputShapes: [String] = []

    @Option(name: .customLong("bind"),
            help: ArgumentHelp("Freeze a graph input to a constant: NAME=VALUE (a number or comma list) or NAME=FILE.npy (repeatable).", valueName: "name=value"))
    var binds: [String] = []

    func validate() throws {
        for s in inputShapes { _ = try parseShapeOption(s) }
        for b in binds where !b.contains("=") {
            throw ValidationError("--bind expects NAME=VALUE or NAME=FILE.npy, got '\(b)'")
        }
    }

    /// Imports the model and verifies it.
    func load() throws -> Graph {
        try reporting {
            guard FileManager.default.fileExists(atPath: model) else { throw KilnError("\(model): no such file") }
            var graph: Graph
            if model.hasSuffix(".kir") {
                let text = try String(contentsOfFile: model, encoding: .utf8)
                do { graph = try Parser.parse(text) } catch let e as KilnError { throw KilnError("\(model):\(e.message)") }
                try bindInputs(&graph)
            } else {
                var options = ImportOptions()
                for s in inputShapes {
                    let (name, dims) = try parseShapeOption(s)
                    options.inputShapes[name] = dims
                }
                for b in binds {
                    let (name, tensor) = try parseBind(b)
                    options.bindings[name] = tensor
                }
                graph = try ONNXImporter.load(path: model, options: options)
            }
            try Verifier.verify(graph)
            return graph
        }
    }

    /// `.kir` graphs take `--bind` by replacing the input with a constant of its type.
    private func bindInputs(_ graph: inout Graph) throws {
        for b in binds {
            let (name, tensor) = try parseBind(b)
            guard let idx = graph.inputs.firstIndex(where: { graph[$0].name == name }) else {
                throw KilnError("--bind \(name): the graph has no input named '\(name)'")
            }
            let id = graph.inputs[idx]
            let want = graph.type(of: id)
            let value = try coerce(tensor, to: want, what: "--bind \(name)")
            graph.inputs.remove(at: idx)
            graph.nodes.insert(Node(op: .constant(value), operands: [], results: [id]), at: 0)
        }
        graph.compact()
    }
}

/// `x=1,3,224,224` → ("x", [1,3,224,224]).
func parseShapeOption(_ s: String) throws -> (String, [Int]) {
    guard let eq = s.lastIndex(of: "=") else {
        throw ValidationError("--input-shape expects NAME=D1,D2,..., got '\(s)'")
    }
    let name = String(s[..<eq])
    let dimsText = s[s.index(after: eq)...]
    let dims = dimsText.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !name.isEmpty, dims.allSatisfy({ $0 != nil && $0! > 0 }) else {
        throw ValidationError("--input-shape expects NAME=D1,D2,... with positive dims, got '\(s)'")
    }
    return (name, dims.map { $0! })
}

/// `NAME=FILE.npy` or `NAME=1.5` or `NAME=1,2,3` → a tensor (numbers become f32 if any has
/// a '.', 'e' or is not an integer, else i64; the importer casts to the input's dtype).
func parseBind(_ s: String) throws -> (String, Tensor) {
    guard let eq = s.firstIndex(of: "=") else { throw KilnError("--bind expects NAME=VALUE, got '\(s)'") }
    let name = String(s[..<eq])
    let value = String(s[s.index(after: eq)...])
    if value.hasSuffix(".npy") {
        return (name, try readNpy(value))
    }
    let parts = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    if let ints = Optional(parts.compactMap { Int64($0) }), ints.count == parts.count, !ints.isEmpty {
        return (name, Tensor(.i64, ints.count == 1 ? [] : [ints.count], int64s: ints))
    }
    let doubles = parts.compactMap { Double($0) }
    guard doubles.count == parts.count, !doubles.isEmpty else {
        throw KilnError("--bind \(name): '\(value)' is neither a number list nor a .npy file")
    }
    return (name, Tensor(.f32, doubles.count == 1 ? [] : [doubles.count], doubles: doubles))
}

/// Casts a bound value to the input type when only the dtype differs and the element count
/// matches (a scalar `3` binds an i32[1] input).
func coerce(_ t: Tensor, to want: TensorType, what: String) throws -> Tensor {
    guard t.count == want.shape.elementCount else {
        throw KilnError("\(what): value has shape \(t.shape) but the input is \(want)")
    }
    if t.dtype == want.dtype { return t.reshaped(want.shape) }
    if t.dtype.isFloat { return Tensor(want.dtype, want.shape, doubles: t.doubles) }
    return Tensor(want.dtype, want.shape, int64s: t.int64s)
}

func readNpy(_ path: String) throws -> Tensor {
    guard let data = FileManager.default.contents(atPath: path) else { throw KilnError("\(path): no such file") }
    return try Npy.decode(Array(data), what: path)
}
