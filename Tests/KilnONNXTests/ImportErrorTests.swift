import Foundation
import KilnIR
import XCTest
@testable import KilnONNX

/// Model-level errors: unreadable files, opsets, collected problems.
final class ImportErrorTests: XCTestCase {
    private func reluModel(opset: Int = 17) -> Onnx_ModelProto {
        ONNX.model(ONNX.graph([ONNX.node("Relu", ["x"], ["y"], name: "relu")],
                              inputs: [ONNX.input("x", [1, 4])], outputs: ["y"]), opset: opset)
    }

    func testNonONNXBytes() {
        let msg = errorMessage { try ONNXImporter.load(data: Array("hello, this is not a model\n".utf8), baseDirectory: nil) }
        XCTAssertTrue(msg.hasPrefix("model.onnx: not a valid ONNX model ("), msg)
    }

    func testTruncatedFile() throws {
        let bytes = try ONNX.bytes(reluModel())
        let msg = errorMessage { try ONNXImporter.load(data: Array(bytes.prefix(bytes.count - 7)), baseDirectory: nil) }
        XCTAssertTrue(msg.hasPrefix("model.onnx: not a valid ONNX model (protobuf parse failed: "), msg)
    }

    func testEmptyGraph() {
        let msg = errorMessage { try ONNXImporter.load(data: [UInt8](), baseDirectory: nil) }
        XCTAssertEqual(msg, "model.onnx: not a valid ONNX model (empty graph)")
    }

    func testOpsetOutOfRange() {
        XCTAssertEqual(errorMessage { try ONNX.load(self.reluModel(opset: 0)) },
                       "model.onnx: opset 0 is not supported (Kiln supports ai.onnx opsets 1–28)")
        XCTAssertEqual(errorMessage { try ONNX.load(self.reluModel(opset: 29)) },
                       "model.onnx: opset 29 is not supported (Kiln supports ai.onnx opsets 1–28)")
    }

    func testMissingFileNamesPath() {
        let msg = errorMessage { try ONNXImporter.load(path: "/nonexistent/dir/net.onnx") }
        XCTAssertEqual(msg, "/nonexistent/dir/net.onnx: cannot read the file")
    }

    func testUnsupportedOpsAreListedTogetherWithNodeNames() {
        // x → NonZero(/a/NonZero) → Loop-like custom op; a second NonZero; a com.microsoft op.
        // Nodes that consume unavailable values (the final Add) are skipped silently.
        let g = ONNX.graph([
            ONNX.node("NonZero", ["x"], ["nz1"], name: "/a/NonZero"),
            ONNX.node("NonZero", ["x"], ["nz2"], name: "/b/NonZero"),
            ONNX.node("Unique", ["x"], ["u"], name: "uniq"),
            ONNX.node("Add", ["nz1", "nz2"], ["s"], name: "add"),
            ONNX.node("Relu", ["x"], ["y"], name: "relu"),
        ], inputs: [ONNX.input("x", [2, 3])], outputs: ["s", "y", "u"])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g)) },
                       "model.onnx: unsupported ops: NonZero (nodes: /a/NonZero, /b/NonZero); Unique (nodes: uniq)")
    }

    func testProblemsOfDifferentKindsAreCollected() {
        let g = ONNX.graph([
            ONNX.node("FusedConv", ["x"], ["a"], name: "fc", domain: "com.microsoft"),
            ONNX.node("Gelu", ["x"], ["b"], name: "gelu1", [ONNX.attr("approximate", string: "fast")]),
            ONNX.node("Concat", ["x", "x"], ["c"], name: "cat", [ONNX.attr("axis", float: 1)]),
            ONNX.node("Relu", ["img"], ["d"], name: "relu"),
        ], inputs: [ONNX.input("x", [2, 3]), ONNX.input("img", .float, [.param("N"), .value(3), .param("H"), .unknown])],
           outputs: ["a", "b", "c", "d"])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g, opset: 20)) }, """
            model.onnx: 4 problems:
              unsupported ops: com.microsoft.FusedConv (nodes: fc)
              input 'img' dims 2 ('H'), 3 are dynamic; pin them with numbers: --input-shape img=1,3,<H>,<dim3>
              node 'gelu1' (Gelu): attribute 'approximate' = 'fast' is not supported (expected 'none' or 'tanh')
              node 'cat' (Concat): attribute 'axis' must be an int, got a float
            """)
    }

    func testUnavailableOutputThatIsUsedIsAProblem() {
        // Inference-mode BatchNormalization has no running-mean output.
        let g = ONNX.graph([
            ONNX.node("BatchNormalization", ["x", "s", "s", "s", "s"], ["y", "rm"], name: "bn"),
        ], inputs: [ONNX.input("x", [1, 2, 2])], outputs: ["y", "rm"], initializers: [ONNX.floats("s", [2], [1, 1])])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g)) },
                       "model.onnx: node 'bn' (BatchNormalization): output 1 ('rm') is used; it only exists in training mode")
    }

    func testNonConstantParameterInputIsNamed() {
        let g = ONNX.graph([ONNX.node("Reshape", ["x", "s"], ["y"], name: "r")],
                           inputs: [ONNX.input("x", [2, 3]), ONNX.input("s", .int64, [2])], outputs: ["y"])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g)) },
                       "model.onnx: node 'r' (Reshape): shape (input 1 's') must be known at compile time, but it depends on graph input 's' (freeze it with --bind s=VALUE)")
    }

    /// The inputs a compile-time value depends on are named, but not those only read for
    /// their shape (Shape(x) is known from x's type).
    func testNonConstantParameterNamesTheInputsBehindIt() {
        let g = ONNX.graph([
            ONNX.node("Shape", ["x"], ["sx"], name: "shape"),
            ONNX.node("Add", ["sx", "a"], ["t"], name: "add_a"),
            ONNX.node("Add", ["t", "b"], ["s"], name: "add_b"),
            ONNX.node("Reshape", ["x", "s"], ["y"], name: "r"),
        ], inputs: [ONNX.input("x", [2, 3]), ONNX.input("b", .int64, [2]), ONNX.input("a", .int64, [2])], outputs: ["y"])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g)) },
                       "model.onnx: node 'r' (Reshape): shape (input 1 's') must be known at compile time, but it depends on graph inputs 'b', 'a' (freeze them with --bind NAME=VALUE)")
    }

    func testUnsupportedDataTypes() {
        var t = Onnx_TensorProto()
        t.name = "names"
        t.dataType = Int32(Onnx_TensorProto.DataType.string.rawValue)
        t.dims = [1]
        t.stringData = [Data("a".utf8)]
        var f8 = ONNX.floats("w8", [1], [0])
        f8.dataType = Int32(Onnx_TensorProto.DataType.float8E4M3Fn.rawValue)
        f8.floatData = []
        f8.int32Data = [0]
        let g = ONNX.graph([ONNX.node("Identity", ["x"], ["y"])],
                           inputs: [ONNX.input("x", .complex64, [2])], outputs: ["y", "names", "w8"],
                           initializers: [t, f8])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g)) }, """
            model.onnx: 3 problems:
              initializer 'names' has unsupported element type STRING
              initializer 'w8' has unsupported element type FLOAT8E4M3FN
              input 'x' has unsupported element type COMPLEX64
            """)
    }
}
