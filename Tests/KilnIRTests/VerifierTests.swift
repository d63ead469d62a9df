import XCTest
@testable import KilnIR

final class VerifierTests: XCTestCase {
    /// x: f32[1,3,8,8] → conv(w: [4,3,3,3]) → relu. Verifies as built.
    func makeGraph() throws -> Graph {
        var b = GraphBuilder(name: "g")
        let x = b.input("x", TensorType(.f32, [1, 3, 8, 8]))
        let w = b.constant(Tensor(.f32, [4, 3, 3, 3], doubles: [Double](repeating: 0.1, count: 108)), name: "w")
        let c = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, w],
                           name: "c", nodeName: "/conv/Conv")
        let y = try b.add1(.unary(.relu), [c], name: "y")
        b.output(y)
        try Verifier.verify(b.graph)
        return b.graph
    }

    func testRejectsWrongOperandShapeNamingNodeAndOperand() throws {
        var g = try makeGraph()
        // Break it by hand: the weight now has 2 input channels instead of 3.
        g.nodes[0].op = .constant(Tensor(.f32, [4, 2, 3, 3], doubles: [Double](repeating: 0.1, count: 72)))
        g.values[1].type = TensorType(.f32, [4, 2, 3, 3])
        XCTAssertThrowsError(try Verifier.verify(g)) { error in
            XCTAssertEqual("\(error)", "verifier: node '/conv/Conv' (conv, result %c): conv: weight [4,2,3,3] has 2 input channels per group, expected 3 (3 input channels / group 1) (operands: %x: f32[1,3,8,8], %w: f32[4,2,3,3])")
        }
    }

    func testRejectsWrongResultType() throws {
        var g = try makeGraph()
        g.values[3].type = TensorType(.f32, [1, 4, 8, 9])  // %y
        XCTAssertThrowsError(try Verifier.verify(g)) { error in
            XCTAssertEqual("\(error)", "verifier: node %y (relu): result %y has type f32[1,4,8,9] but the op infers f32[1,4,8,8]")
        }
    }

    func testRejectsUseBeforeDefinition() throws {
        var g = try makeGraph()
        g.nodes.swapAt(1, 2)
        XCTAssertThrowsError(try Verifier.verify(g)) { error in
            XCTAssertEqual("\(error)", "verifier: node %y (relu): operand #0 %c is used before it is defined")
        }
    }

    func testRejectsDuplicateNames() throws {
        var g = try makeGraph()
        g.values[3].name = "c"
        XCTAssertThrowsError(try Verifier.verify(g)) { error in
            XCTAssertEqual("\(error)", "verifier: value name '%c' is defined twice")
        }
    }
}
