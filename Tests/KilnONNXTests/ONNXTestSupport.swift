import Foundation
import KilnIR
import SwiftProtobuf
import XCTest
@testable import KilnONNX

/// Small builders for ONNX protobuf models used by the importer tests.
enum ONNX {
    enum Dim { case value(Int), param(String), unknown }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "",
                     domain: String = "", _ attrs: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = name
        if !domain.isEmpty { n.domain = domain }
        n.attribute = attrs
        return n
    }

    static func attr(_ name: String, int v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(v); return a
    }
    static func attr(_ name: String, float v: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = v; return a
    }
    static func attr(_ name: String, ints v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map { Int64($0) }; return a
    }
    static func attr(_ name: String, floats v: [Float]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .floats; a.floats = v; return a
    }
    static func attr(_ name: String, string v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(v.utf8); return a
    }
    static func attr(_ name: String, tensor v: Onnx_TensorProto) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .tensor; a.t = v; return a
    }
    static func attr(_ name: String, graph v: Onnx_GraphProto) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .graph; a.g = v; return a
    }

    /// A float tensor stored in `float_data`, or in `raw_data` when `raw`.
    static func floats(_ name: String, _ dims: [Int], _ values: [Float], raw: Bool = false) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = dims.map { Int64($0) }
        if raw { t.rawData = values.withUnsafeBytes { Data($0) } } else { t.floatData = values }
        return t
    }

    static func int64s(_ name: String, _ dims: [Int], _ values: [Int64], raw: Bool = false) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.dims = dims.map { Int64($0) }
        if raw { t.rawData = values.withUnsafeBytes { Data($0) } } else { t.int64Data = values }
        return t
    }

    static func input(_ name: String, _ elem: Onnx_TensorProto.DataType = .float, _ dims: [Dim]?) -> Onnx_ValueInfoProto {
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        var tt = Onnx_TypeProto.Tensor()
        tt.elemType = Int32(elem.rawValue)
        if let dims {
            var shape = Onnx_TensorShapeProto()
            shape.dim = dims.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                switch d {
                case .value(let v): dim.dimValue = Int64(v)
                case .param(let p): dim.dimParam = p
                case .unknown: break
                }
                return dim
            }
            tt.shape = shape
        }
        vi.type.tensorType = tt
        return vi
    }

    static func input(_ name: String, _ elem: Onnx_TensorProto.DataType = .float, _ dims: [Int]) -> Onnx_ValueInfoProto {
        input(name, elem, dims.map { Dim.value($0) })
    }

    static func output(_ name: String) -> Onnx_ValueInfoProto {
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        return vi
    }

    static func graph(_ nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [String],
                      initializers: [Onnx_TensorProto] = [], name: String = "g") -> Onnx_GraphProto {
        var g = Onnx_GraphProto()
        g.name = name
        g.node = nodes
        g.input = inputs
        g.output = outputs.map(output)
        g.initializer = initializers
        return g
    }

    static func model(_ g: Onnx_GraphProto, opset: Int = 17) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var os = Onnx_OperatorSetIdProto()
        os.domain = ""
        os.version = Int64(opset)
        m.opsetImport = [os]
        m.graph = g
        return m
    }

    static func bytes(_ m: Onnx_ModelProto) throws -> [UInt8] { try m.serializedBytes() }

    /// Serializes and imports a model, as the CLI would.
    static func load(_ m: Onnx_ModelProto, options: ImportOptions = ImportOptions(),
                     baseDirectory: String? = nil) throws -> Graph {
        try ONNXImporter.load(data: bytes(m), baseDirectory: baseDirectory, options: options)
    }
}

/// The KilnError message of `body`, failing the test if it does not throw one.
func errorMessage(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        _ = try body()
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch let e as KilnError {
        return e.message
    } catch {
        XCTFail("expected a KilnError, got \(error)", file: file, line: line)
        return ""
    }
}

/// Directory of the committed fixtures.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

func assertClose(_ a: [Double], _ b: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
                 _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): element count", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > atol + rtol * abs(y) && !(x.isNaN && y.isNaN) {
        XCTFail("\(what): element \(i) is \(x), expected \(y)", file: file, line: line)
        return
    }
}
