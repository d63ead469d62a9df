import XCTest
import KilnIR
@testable import KilnCodegen

final class MemoryPlannerTests: XCTestCase {
    /// x → relu → a → sigmoid → b ; b + a → c  (a is still alive when b is made).
    func makeGraph() -> Graph {
        var b = GraphBuilder(name: "g")
        let t = TensorType(.f32, [1, 16])  // 64 bytes
        let x = b.input("x", t)
        let a = b.addNode(.unary(.relu), [x], types: [t], names: ["a"])[0]
        let s = b.addNode(.unary(.sigmoid), [a], types: [t], names: ["s"])[0]
        let c = b.addNode(.binary(.add), [s, a], types: [t], names: ["c"])[0]
        let d = b.addNode(.unary(.tanh), [c], types: [t], names: ["d"])[0]
        b.output(d)
        return b.graph
    }

    func testGreedyPlacementWithoutInPlace() {
        let g = makeGraph()
        let plan = MemoryPlanner.plan(g)
        XCTAssertTrue(plan.overlaps.isEmpty)
        // a, s live together (steps 0-2); c (2-3) overlaps both at step 2; d (3-end).
        XCTAssertEqual(plan.arenaSize, 192)
        XCTAssertEqual(plan.buffers.count, 4)
        XCTAssertEqual(plan.offsets[ValueID(1)], 0)   // a
        XCTAssertEqual(plan.offsets[ValueID(2)], 64)  // s
        XCTAssertEqual(plan.offsets[ValueID(3)], 128) // c
        XCTAssertEqual(plan.offsets[ValueID(4)], 0)   // d reuses a's space
    }

    func testInPlaceElementwiseJoinsDyingOperand() {
        let g = makeGraph()
        // Every node may overwrite operand 0.
        let plan = MemoryPlanner.plan(g, inPlace: { _ in 0 })
        XCTAssertTrue(plan.overlaps.isEmpty)
        // s cannot overwrite a (a is read again by add); c overwrites s; d overwrites c.
        XCTAssertEqual(plan.offsets[ValueID(3)], plan.offsets[ValueID(2)])
        XCTAssertEqual(plan.offsets[ValueID(4)], plan.offsets[ValueID(2)])
        XCTAssertNotEqual(plan.offsets[ValueID(2)], plan.offsets[ValueID(1)])
        XCTAssertEqual(plan.arenaSize, 128)
    }

    func testScratchIsPlacedForItsStepOnly() {
        let g = makeGraph()
        let plan = MemoryPlanner.plan(g, scratch: [0: 1000])
        XCTAssertTrue(plan.overlaps.isEmpty)
        XCTAssertEqual(plan.scratchOffsets[0], 0)
        // a (alive with the scratch at step 0) goes after it at 1024; s, c and d fit
        // below 1000 once the scratch is dead.
        XCTAssertEqual(plan.offsets[ValueID(1)], 1024)
        XCTAssertEqual(plan.offsets[ValueID(2)], 0)
        XCTAssertEqual(plan.offsets[ValueID(3)], 64)
        XCTAssertEqual(plan.arenaSize, 1024 + 64)
    }

    func testPlanIsDeterministic() {
        let g = makeGraph()
        XCTAssertEqual(MemoryPlanner.plan(g, inPlace: { _ in 0 }), MemoryPlanner.plan(g, inPlace: { _ in 0 }))
    }
}
