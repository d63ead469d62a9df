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

    // MARK: - The generic planner (plan tensors)

    /// Items: 0 input (pinned, 64 B), 1..n results; `steps` as (operands, results).
    func problem(_ sizes: [Int], pinned: Set<Int> = [], outputs: Set<Int> = [],
                 _ steps: [MemoryProblem.Step]) -> MemoryProblem {
        MemoryProblem(sizes: sizes, planned: sizes.map { _ in true }, pinned: sizes.indices.map { pinned.contains($0) },
                      outputs: sizes.indices.map { outputs.contains($0) }, steps: steps)
    }

    func testPinnedInputsAreNeverOverwrittenAndOutputsLiveToTheEnd() {
        // x (input) → a → b (output); in place is offered everywhere.
        let p = problem([64, 64, 64], pinned: [0], outputs: [2], [
            .init(operands: [0], results: [1], inPlace: [0]),
            .init(operands: [1], results: [2], inPlace: [0]),
        ])
        let a = MemoryPlanner.plan(p)
        XCTAssertTrue(a.overlaps.isEmpty)
        XCTAssertNotEqual(a.offsets[1], a.offsets[0], "the input is not overwritten in place")
        XCTAssertEqual(a.offsets[2], a.offsets[1], "b overwrites the dying a")
        XCTAssertEqual(a.lifetimes[0], 0...2)
        XCTAssertEqual(a.lifetimes[2], 1...2)
        XCTAssertEqual(a.arenaSize, 128)
        XCTAssertEqual(a.peakLiveBytes, 128)
    }

    func testAliasSharesBytesAndExtendsTheLifetime() {
        // a = f(x); v = copy(a) (alias); b = g(a) may not overwrite a in place while v lives;
        // c = h(v, b).
        let p = problem([64, 64, 64, 64, 64], pinned: [0], [
            .init(operands: [0], results: [1]),
            .init(operands: [1], results: [2], alias: true),
            .init(operands: [1], results: [3], inPlace: [0]),
            .init(operands: [2, 3], results: [4], inPlace: [0, 1]),
        ])
        let a = MemoryPlanner.plan(p)
        XCTAssertTrue(a.overlaps.isEmpty)
        XCTAssertEqual(a.offsets[2], a.offsets[1], "the copy aliases")
        XCTAssertNotEqual(a.offsets[3], a.offsets[1], "a's bytes are still read through the alias")
        // c may overwrite the buffer of v (= a), which dies at the last step.
        XCTAssertEqual(a.offsets[4], a.offsets[1])
    }

    func testAliasOfAnInputOnlyAsItsDirectView() {
        // v = copy(x) aliases the input x; w = copy(v) gets its own bytes (the runtime lets
        // only a COPY whose operand is the input itself overlap it).
        let p = problem([64, 64, 64], pinned: [0], outputs: [2], [
            .init(operands: [0], results: [1], alias: true),
            .init(operands: [1], results: [2], alias: true),
        ])
        let a = MemoryPlanner.plan(p)
        XCTAssertEqual(a.offsets[1], a.offsets[0])
        XCTAssertNotEqual(a.offsets[2], a.offsets[0])
        XCTAssertTrue(a.overlaps.isEmpty)
    }

    func testInPlaceTriesOperandsInOrder() {
        // a and b both die at step 2; c = a + b may take either: operand 1 is listed first.
        let p = problem([64, 64, 64, 64], pinned: [0], [
            .init(operands: [0], results: [1]),
            .init(operands: [0], results: [2]),
            .init(operands: [1, 2], results: [3], inPlace: [1, 0]),
        ])
        let a = MemoryPlanner.plan(p)
        XCTAssertEqual(a.offsets[3], a.offsets[2])
        XCTAssertTrue(a.overlaps.isEmpty)
        // A different size never joins.
        var q = p
        q.sizes[3] = 128
        XCTAssertNotEqual(MemoryPlanner.plan(q).offsets[3], MemoryPlanner.plan(q).offsets[2])
    }
}
