import Foundation
import KilnIR
import SwiftProtobuf

/// How to import a model: pinned input shapes and frozen inputs.
public struct ImportOptions: Sendable {
    /// Whole shapes for graph inputs (`--input-shape x=1,3,224,224`); they replace the
    /// model's symbolic or missing dims.
    public var inputShapes: [String: [Int]]
    /// Graph inputs frozen into constants (`--bind NAME=VALUE`); a bound input is no
    /// longer a graph input.
    public var bindings: [String: Tensor]

    public init(inputShapes: [String: [Int]] = [:], bindings: [String: Tensor] = [:]) {
        self.inputShapes = inputShapes
        self.bindings = bindings
    }
}

/// Imports ONNX models into Kiln graphs.
///
/// The returned graph is compacted and verified. Every problem found (unsupported ops,
/// unsupported attribute values, unknown dims, …) is reported in one `KilnError` whose
/// first line names the model and the number of problems.
///
/// Initializers that are also listed as graph inputs are imported as constants (ONNX
/// allows a runtime to override them; Kiln compiles them in).
public enum ONNXImporter {
    /// The first default-domain opset Kiln accepts.
    public static let minOpset = 1
    /// The last default-domain opset Kiln accepts (the newest in onnx 1.23).
    public static let maxOpset = 28

    public static func load(path: String, options: ImportOptions = ImportOptions()) throws -> Graph {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw KilnError("\(path): cannot read the file")
        }
        return try load(data: data, baseDirectory: url.deletingLastPathComponent().path,
                        options: options, modelName: path)
    }

    /// Imports a model from bytes. External data files are looked up relative to
    /// `baseDirectory`; `modelName` prefixes error messages.
    public static func load(data: Data, baseDirectory: String?, options: ImportOptions = ImportOptions(),
                            modelName: String = "model.onnx") throws -> Graph {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw KilnError("\(modelName): not a valid ONNX model (protobuf parse failed: \(error))")
        }
        return try load(model: model, baseDirectory: baseDirectory, options: options, modelName: modelName)
    }

    public static func load(data: [UInt8], baseDirectory: String?, options: ImportOptions = ImportOptions(),
                            modelName: String = "model.onnx") throws -> Graph {
        try load(data: Data(data), baseDirectory: baseDirectory, options: options, modelName: modelName)
    }

    /// Imports an already parsed model.
    public static func load(model: Onnx_ModelProto, baseDirectory: String?, options: ImportOptions = ImportOptions(),
                            modelName: String = "model.onnx") throws -> Graph {
        guard model.hasGraph, !model.graph.output.isEmpty else {
            throw KilnError("\(modelName): not a valid ONNX model (empty graph)")
        }
        let opset = try defaultOpset(model, modelName: modelName)
        let importer = Importer(modelName: modelName, opset: opset, options: options,
                                decoder: TensorDecoder(baseDirectory: baseDirectory))
        return try importer.run(model.graph)
    }

    /// The model's ai.onnx opset, checked against the supported range.
    static func defaultOpset(_ model: Onnx_ModelProto, modelName: String) throws -> Int {
        let versions = model.opsetImport.filter { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) }
        guard let opset = versions.max() else {
            throw KilnError("\(modelName): the model imports no ai.onnx opset (Kiln supports ai.onnx opsets \(minOpset)–\(maxOpset))")
        }
        guard opset >= minOpset && opset <= maxOpset else {
            throw KilnError("\(modelName): opset \(opset) is not supported (Kiln supports ai.onnx opsets \(minOpset)–\(maxOpset))")
        }
        return opset
    }
}
