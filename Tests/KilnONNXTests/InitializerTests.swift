import Foundation
import KilnIR
import XCTest
@testable import KilnONNX

/// Initializers (typed fields, raw data, external data) and Constant nodes.
final class InitializerTests: XCTestCase {
    private let decoder = TensorDecoder(baseDirectory: nil)

    func testFloatRawAndTyped() throws {
        let typed = try decoder.decode(ONNX.floats("a", [2, 2], [1, -2, 3.5, 0]))
        let raw = try decoder.decode(ONNX.floats("b", [2, 2], [1, -2, 3.5, 0], raw: true))
        XCTAssertEqual(typed, raw)
        XCTAssertEqual(typed.type, TensorType(.f32, [2, 2]))
        XCTAssertEqual(typed.floats, [1, -2, 3.5, 0])
    }

    func testInt64RawAndTyped() throws {
        let typed = try decoder.decode(ONNX.int64s("a", [3], [-1, 0, 1 << 40]))
        let raw = try decoder.decode(ONNX.int64s("a", [3], [-1, 0, 1 << 40], raw: true))
        XCTAssertEqual(typed, raw)
        XCTAssertEqual(typed.int64s, [-1, 0, 1 << 40])
    }

    func testInt32DataCarriesSmallTypes() throws {
        func tensor(_ dt: Onnx_TensorProto.DataType, _ values: [Int32]) -> Onnx_TensorProto {
            var t = Onnx_TensorProto()
            t.name = "t"
            t.dataType = Int32(dt.rawValue)
            t.dims = [Int64(values.count)]
            t.int32Data = values
            return t
        }
        XCTAssertEqual(try decoder.decode(tensor(.int8, [-128, 5])).int64s, [-128, 5])
        XCTAssertEqual(try decoder.decode(tensor(.uint8, [255, 7])).int64s, [255, 7])
        XCTAssertEqual(try decoder.decode(tensor(.int16, [-300])).int64s, [-300])
        XCTAssertEqual(try decoder.decode(tensor(.uint16, [65535])).int64s, [65535])
        XCTAssertEqual(try decoder.decode(tensor(.int32, [-70000])).int64s, [-70000])
        XCTAssertEqual(try decoder.decode(tensor(.bool, [1, 0, 1])).int64s, [1, 0, 1])
        // float16 1.5 = 0x3E00, -2 = 0xC000 (bit patterns in the low 16 bits)
        let f16 = try decoder.decode(tensor(.float16, [0x3E00, 0xC000]))
        XCTAssertEqual(f16.dtype, .f16)
        XCTAssertEqual(f16.doubles, [1.5, -2])
        // bfloat16 1.0 = 0x3F80, -0.5 = 0xBF00
        let bf16 = try decoder.decode(tensor(.bfloat16, [0x3F80, 0xBF00]))
        XCTAssertEqual(bf16.dtype, .bf16)
        XCTAssertEqual(bf16.doubles, [1, -0.5])
    }

    func testDoubleAndUInt64() throws {
        var d = Onnx_TensorProto()
        d.dataType = Int32(Onnx_TensorProto.DataType.double.rawValue)
        d.dims = [2]
        d.doubleData = [0.25, -1e300]
        XCTAssertEqual(try decoder.decode(d).doubles, [0.25, -1e300])
        var u = Onnx_TensorProto()
        u.dataType = Int32(Onnx_TensorProto.DataType.uint64.rawValue)
        u.dims = [1]
        u.uint64Data = [42]
        XCTAssertEqual(try decoder.decode(u).type, TensorType(.u64, [1]))
        XCTAssertEqual(try decoder.decode(u).int64s, [42])
    }

    func testCountMismatchIsAnError() {
        XCTAssertEqual(errorMessage { try self.decoder.decode(ONNX.floats("w", [2, 3], [1, 2])) },
                       "tensor 'w': float_data holds 2 values but shape [2,3] needs 6")
        XCTAssertEqual(errorMessage { try self.decoder.decode(ONNX.floats("w", [3], [1, 2], raw: true)) },
                       "tensor 'w': raw_data holds 8 bytes but f32[3] needs 12")
    }

    func testInitializerBecomesConstantAndInitializerInputsAreConstants() throws {
        // `w` is an initializer and also listed as a graph input: it is a constant.
        let g = ONNX.graph([ONNX.node("Add", ["x", "w"], ["y"], name: "add")],
                           inputs: [ONNX.input("x", [2]), ONNX.input("w", [2])], outputs: ["y", "w"],
                           initializers: [ONNX.floats("w", [2], [10, 20], raw: true)])
        let graph = try ONNX.load(ONNX.model(g))
        XCTAssertEqual(graph.inputs.map { graph[$0].name }, ["x"])
        XCTAssertEqual(graph.outputs.map { graph[$0].name }, ["y", "w"])
        XCTAssertEqual(graph.constantValue(graph.outputs[1])?.floats, [10, 20])
        let out = try Evaluator.run(graph, inputs: [Tensor([2], floats: [1, 2])])
        XCTAssertEqual(out[0].floats, [11, 22])
    }

    func testExternalData() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-ext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // weights.bin: 8 junk bytes, then the 3 floats of `w`.
        var blob = [UInt8](repeating: 0xEE, count: 8)
        blob += [Float(1.5), -2, 4].withUnsafeBytes { Array($0) }
        try Data(blob).write(to: dir.appendingPathComponent("weights.bin"))
        var w = Onnx_TensorProto()
        w.name = "w"
        w.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        w.dims = [3]
        w.dataLocation = .external
        w.externalData = [("location", "weights.bin"), ("offset", "8"), ("length", "12")].map {
            var e = Onnx_StringStringEntryProto(); e.key = $0.0; e.value = $0.1; return e
        }
        let model = ONNX.model(ONNX.graph([ONNX.node("Mul", ["x", "w"], ["y"])],
                                          inputs: [ONNX.input("x", [3])], outputs: ["y"], initializers: [w]))
        let path = dir.appendingPathComponent("net.onnx")
        try Data(ONNX.bytes(model)).write(to: path)
        let graph = try ONNXImporter.load(path: path.path)
        let out = try Evaluator.run(graph, inputs: [Tensor([3], floats: [2, 2, 2])])
        XCTAssertEqual(out[0].floats, [3, -4, 8])

        // A missing data file is a clear error naming the tensor and the path.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("weights.bin"))
        let msg = errorMessage { try ONNXImporter.load(path: path.path) }
        XCTAssertEqual(msg, dir.appendingPathComponent("net.onnx").path + ": initializer 'w': external data file '\(dir.path)/weights.bin' cannot be opened")
    }

    func testExternalDataFixtureWrittenByOnnx() throws {
        // Written by make_fixtures.py with onnx.save_model(save_as_external_data=True).
        let graph = try ONNXImporter.load(path: fixturesDirectory.appendingPathComponent("external/model.onnx").path)
        let out = try Evaluator.run(graph, inputs: [Tensor([2, 3], floats: [1, 1, 1, 1, 1, 1])])
        XCTAssertEqual(out[0].floats, [1, 2, 3, 4, 5, 6])
    }

    func testConstantNodeForms() throws {
        let g = ONNX.graph([
            ONNX.node("Constant", [], ["t"], name: "c_t", [ONNX.attr("value", tensor: ONNX.floats("", [2], [1, 2], raw: true))]),
            ONNX.node("Constant", [], ["f"], name: "c_f", [ONNX.attr("value_float", float: 0.5)]),
            ONNX.node("Constant", [], ["fs"], name: "c_fs", [ONNX.attr("value_floats", floats: [3, 4, 5])]),
            ONNX.node("Constant", [], ["i"], name: "c_i", [ONNX.attr("value_int", int: 7)]),
            ONNX.node("Constant", [], ["is"], name: "c_is", [ONNX.attr("value_ints", ints: [-1, 8])]),
        ], inputs: [], outputs: ["t", "f", "fs", "i", "is"])
        let graph = try ONNX.load(ONNX.model(g))
        let values = graph.outputs.map { graph.constantValue($0) }
        XCTAssertEqual(values[0], Tensor([2], floats: [1, 2]))
        XCTAssertEqual(values[1], Tensor([], floats: [0.5]))
        XCTAssertEqual(values[2], Tensor([3], floats: [3, 4, 5]))
        XCTAssertEqual(values[3], Tensor(.i64, [], int64s: [7]))
        XCTAssertEqual(values[4], Tensor(.i64, [2], int64s: [-1, 8]))
        XCTAssertEqual(graph.nodes.map(\.name), ["c_t", "c_f", "c_fs", "c_i", "c_is"])
    }

    func testSparseConstantIsAnError() {
        var a = Onnx_AttributeProto()
        a.name = "sparse_value"
        a.type = .sparseTensor
        a.sparseTensor = Onnx_SparseTensorProto()
        let g = ONNX.graph([ONNX.node("Constant", [], ["s"], name: "sp", [a])], inputs: [], outputs: ["s"])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g)) },
                       "model.onnx: node 'sp' (Constant): attribute 'sparse_value' is not supported (sparse constants)")
    }

    func testConstantOfShape() throws {
        var fill = Onnx_TensorProto()
        fill.dataType = Int32(Onnx_TensorProto.DataType.int32.rawValue)
        fill.dims = [1]
        fill.int32Data = [3]
        let g = ONNX.graph([ONNX.node("ConstantOfShape", ["shape"], ["y"], name: "cos", [ONNX.attr("value", tensor: fill)])],
                           inputs: [], outputs: ["y"], initializers: [ONNX.int64s("shape", [2], [2, 2])])
        let graph = try ONNX.load(ONNX.model(g))
        XCTAssertEqual(graph.constantValue(graph.outputs[0]), Tensor(.i32, [2, 2], int64s: [3, 3, 3, 3]))
    }
}
