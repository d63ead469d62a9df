import XCTest
import KilnIR
@testable import KilnPasses

/// Decomposition and pruning passes beyond the .kir cases: exactness at full rank with
/// pseudo-random weights (the original graph's reference evaluation is the oracle), the
/// rank rules, and option errors.
final class CompressionTests: XCTestCase {
    /// Deterministic values in [-1, 1) (a 64-bit LCG).
    func values(_ n: Int, seed: UInt64) -> [Double] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Double(s >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    func convGraph(cin: Int, cout: Int, kernel: [Int], strides: [Int], pads: [Int]) throws -> Graph {
        var b = GraphBuilder(name: "conv")
        let x = b.input("x", TensorType(.f32, Shape([1, cin, 5, 6])))
        let w = b.constant(Tensor(.f32, Shape([cout, cin] + kernel), doubles: values(cout * cin * kernel.reduce(1, *), seed: 7)), name: "w")
        let bias = b.constant(Tensor(.f32, [cout], doubles: values(cout, seed: 9)), name: "b")
        let conv = Conv(strides: strides, pads: pads, dilations: [1, 1], group: 1)
        b.output(try b.add1(.conv(conv), [x, w, bias], name: "y", nodeName: "layer"))
        return b.graph
    }

    func assertSameOutputs(_ a: Graph, _ b: Graph, input: Tensor, tolerance: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        let ya = try Evaluator.run(a, inputs: [input])[0].doubles, yb = try Evaluator.run(b, inputs: [input])[0].doubles
        XCTAssertEqual(ya.count, yb.count, file: file, line: line)
        let scale = ya.map(abs).max() ?? 1
        for (p, q) in zip(ya, yb) { XCTAssertEqual(p, q, accuracy: tolerance * scale, file: file, line: line) }
    }

    func testFullRankDepthwiseIsExact() throws {
        // Cout 5 < K 6: full rank is 5; stride and asymmetric pads carry to the depthwise conv.
        let g = try convGraph(cin: 3, cout: 5, kernel: [2, 3], strides: [2, 1], pads: [1, 0, 0, 2])
        var d = g
        let report = try DecomposeDepthwise(rank: .full).decompose(&d)
        try Verifier.verify(d)
        XCTAssertEqual(report.layers.map(\.choice), ["rank 5/5"])
        XCTAssertLessThan(report.layers[0].error, 1e-5)
        XCTAssertEqual(d.nodes.compactMap { if case .conv(let c) = $0.op { return c.group } else { return nil } }, [3, 1])
        XCTAssertEqual(d.nodes.map(\.name).filter { !$0.isEmpty }, ["layer.depthwise", "layer.pointwise"])
        try assertSameOutputs(g, d, input: Tensor(.f32, [1, 3, 5, 6], doubles: values(90, seed: 3)), tolerance: 1e-5)
    }

    func testLowRankFullIsExactForGemmAndMatMul() throws {
        var b = GraphBuilder(name: "dense")
        let x = b.input("x", TensorType(.f32, [2, 4]))
        let w1 = b.constant(Tensor(.f32, [3, 4], doubles: values(12, seed: 1)), name: "w1")
        let c = b.constant(Tensor(.f32, [3], doubles: values(3, seed: 2)), name: "c")
        let h = try b.add1(.gemm(Gemm(alpha: 0.5, beta: 2, transA: false, transB: true)), [x, w1, c], name: "h")
        let w2 = b.constant(Tensor(.f32, [3, 5], doubles: values(15, seed: 4)), name: "w2")
        b.output(try b.add1(.matMul(MatMul()), [h, w2], name: "y"))
        var d = b.graph
        let report = try DecomposeLowRank(rank: .full).decompose(&d)
        try Verifier.verify(d)
        XCTAssertEqual(report.layers.map(\.choice), ["rank 3/3", "rank 3/3"])
        try assertSameOutputs(b.graph, d, input: Tensor(.f32, [2, 4], doubles: values(8, seed: 5)), tolerance: 1e-5)
    }

    func testRankRules() throws {
        let error: (Int) -> Double = { [0.9, 0.5, 0.04, 0.01, 0][$0] }
        let flops: (Int) -> Int = { $0 * 10 }
        // auto: rank 2 is the first within 0.05, 20 < 25 FLOPs.
        XCTAssertEqual(RankRule.auto.choose(maxRank: 4, budget: 0.05, error: error, flops: flops, flopsBefore: 25).rank, 2)
        // ... but not when it costs as much as the original.
        let kept = RankRule.auto.choose(maxRank: 4, budget: 0.05, error: error, flops: flops, flopsBefore: 20)
        XCTAssertNil(kept.rank)
        XCTAssertEqual(kept.note, "rank 2/4 meets the budget but does not reduce FLOPs")
        // FLOPs drop (20 < 25) but the modelled time does not (3.0 ≥ 2.5e-6 s).
        let slow = RankRule.auto.choose(maxRank: 4, budget: 0.05, error: error, flops: flops, flopsBefore: 25,
                                        time: { Double($0) * 1.5e-6 }, timeBefore: 2.5e-6)
        XCTAssertNil(slow.rank)
        XCTAssertEqual(slow.note, "rank 2/4 meets the budget and cuts FLOPs 20% but modelled time 3 µs ≥ 2.5 µs")
        XCTAssertEqual(RankRule.auto.choose(maxRank: 4, budget: 0.05, error: error, flops: flops, flopsBefore: 25,
                                            time: { Double($0) }, timeBefore: 2.5).rank, 2)
        XCTAssertEqual(RankRule.fixed(9).choose(maxRank: 4, budget: 0, error: error, flops: flops, flopsBefore: 1).rank, 4)
        XCTAssertEqual(RankRule.full.choose(maxRank: 4, budget: 0, error: error, flops: flops, flopsBefore: 1).rank, 4)
        XCTAssertEqual(try RankRule(parsing: "3"), .fixed(3))
        XCTAssertThrowsError(try RankRule(parsing: "0")) {
            XCTAssertEqual(($0 as? KilnError)?.message, "rank must be full, auto or a positive integer, got '0'")
        }
    }

    func testPassOptionErrors() {
        func message(_ spec: String) -> String? {
            do { _ = try PassManager.pass(named: spec); return nil } catch { return (error as? KilnError)?.message }
        }
        XCTAssertEqual(message("decompose-depthwise{rank=2;budget=1}"),
                       "pass decompose-depthwise: unknown option 'budget' (options: rank, rel)")
        XCTAssertEqual(message("decompose-low-rank{rel=2}"), "pass decompose-low-rank: rel must be a number in [0.0, 1.0], got '2'")
        XCTAssertEqual(message("prune-magnitude{layer=conv1}"),
                       "pass prune-magnitude: layer option must be NAME=FRACTION with a fraction in [0, 1], got 'conv1'")
        XCTAssertEqual(message("fold-batchnorm{x=1}"), "pass 'fold-batchnorm' takes no options")
        XCTAssertEqual(message("decompose-depthwise{rank}"), "pass decompose-depthwise: option 'rank' is not key=value")
        XCTAssertNil(message("decompose-depthwise{rank=auto;rel=0.05}"))
    }

    func testAutoKeepsLayerWhoseModelledTimeGrows() throws {
        // Cin 1, Cout 4, 3x3, rank-1 weight (one non-zero): 5x6 pixels. FLOPs 2·30·36 = 2160
        // before, 2·30·13 = 780 after; modelled 2160/57e9 = 0.0379 µs before,
        // 2·30·9/14e9 + 2·30·4/62e9 = 0.0424 µs after (ConvCostModel's constants).
        var b = GraphBuilder(name: "conv")
        let x = b.input("x", TensorType(.f32, Shape([1, 1, 5, 6])))
        var w = [Double](repeating: 0, count: 36)
        w[3 * 9 + 4] = 2
        let wv = b.constant(Tensor(.f32, Shape([4, 1, 3, 3]), doubles: w), name: "w")
        b.output(try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, wv],
                            name: "y", nodeName: "layer"))
        var g = b.graph
        let report = try DecomposeDepthwise(rank: .auto, budget: 0.01).decompose(&g)
        XCTAssertEqual(report.layers.map(\.choice), ["kept"])
        XCTAssertEqual(report.layers[0].note, "rank 1/4 meets the budget and cuts FLOPs 64% but modelled time 0.0424 µs ≥ 0.0379 µs")
        XCTAssertEqual(g.nodes.count, b.graph.nodes.count)
    }

    func testReportTotals() throws {
        var g = try convGraph(cin: 2, cout: 4, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1])
        let report = try DecomposeDepthwise(rank: .fixed(1)).decompose(&g)
        // Output 5x6 pixels: before 2·30·4·2·9 = 4320 FLOPs, after 2·30·2·1·(9 + 4) = 1560;
        // params 4·2·9 + 4 = 76 before, 2·1·(9 + 4) + 4 = 30 after.
        XCTAssertEqual(report.layers.map { [$0.flopsBefore, $0.flopsAfter, $0.paramsBefore, $0.paramsAfter] }, [[4320, 1560, 76, 30]])
        XCTAssertTrue(report.text.hasSuffix("total: 1 of 1 layers changed; MFLOPs 0.004→0.002 (-63.9%); params 76→30 (-60.5%)\n"),
                      report.text)
    }
}
