import Foundation
import XCTest
import KilnIR
@testable import KilnPasses

/// prune-channels beyond the .kir cases: removing channels that are all zero (weights and
/// bias) must not change the outputs (the original graph's reference evaluation is the
/// oracle), report rows and reasons, and option errors.
final class PruneChannelsTests: XCTestCase {
    /// conv(3x3, 4 channels, channels 1 and 3 zero) → relu → maxpool → mul by [4,1,1] → conv(2 channels).
    func graph() throws -> Graph {
        var b = GraphBuilder(name: "chain")
        let x = b.input("x", TensorType(.f32, Shape([1, 2, 5, 5])))
        var w1 = (0..<72).map { Double(($0 * 37) % 11) / 5 - 1 }
        for c in [1, 3] { for i in 0..<18 { w1[c * 18 + i] = 0 } }
        let wv = b.constant(Tensor(.f32, Shape([4, 2, 3, 3]), doubles: w1), name: "w1")
        let bias = b.constant(Tensor(.f32, [4], doubles: [0.5, 0, -0.25, 0]), name: "b1")
        let conv = Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)
        let h = try b.add1(.conv(conv), [x, wv, bias], name: "h", nodeName: "conv1")
        let r = try b.add1(.unary(.relu), [h], name: "r")
        let p = try b.add1(.pool(Pool(kind: .max, kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1],
                                      ceilMode: false, countIncludePad: false)), [r], name: "p")
        let scale = b.constant(Tensor(.f32, Shape([4, 1, 1]), doubles: [1, 2, 3, 4]), name: "scale")
        let s = try b.add1(.binary(.mul), [p, scale], name: "s")
        let w2 = b.constant(Tensor(.f32, Shape([2, 4, 1, 1]), doubles: [1, -1, 2, 0.5, -3, 1, 0.25, 2]), name: "w2")
        b.output(try b.add1(.conv(Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1)), [s, w2], name: "y", nodeName: "conv2"))
        return b.graph
    }

    func testRemovingZeroChannelsKeepsOutputs() throws {
        let g = try graph()
        var d = g
        let report = try PruneChannels(fraction: 0.5).prune(&d)
        try Verifier.verify(d)
        XCTAssertEqual(report.layers.map(\.choice), ["channels 2/4", "kept"])
        XCTAssertEqual(report.layers[1].note, "y is a graph output")
        XCTAssertEqual(report.layers[0].paramsBefore, 76)
        XCTAssertEqual(report.layers[0].paramsAfter, 38)
        XCTAssertEqual(report.layers[0].error, 0)
        let input = Tensor(.f32, [1, 2, 5, 5], doubles: (0..<50).map { Double(($0 * 13) % 7) - 3 })
        let want = try Evaluator.run(g, inputs: [input])[0].doubles, got = try Evaluator.run(d, inputs: [input])[0].doubles
        XCTAssertEqual(want.count, got.count)
        for (a, b) in zip(want, got) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// A residual group (stem and project conv joined by the add) around a MobileNetV2 block
    /// (expand → depthwise → project). The channels the pass removes are zero in every
    /// member of their group (weights and bias): stem and project channels 1 and 3, expand
    /// channel 1 (its depthwise filter has no bias). Removing them must not change the outputs.
    func testRemovingZeroChannelsOfGroupsKeepsOutputs() throws {
        let g = try Parser.parse("""
        graph @blocks(%x: f32[1,2,3,3]) -> (f32[1,3,3,3]) {
          %ws = constant f32[4,2,1,1] dense<[1.0, -0.5, 0.0, 0.0, 0.7, 0.3, 0.0, 0.0]>
          %bs = constant f32[4] dense<[0.1, 0.0, -0.2, 0.0]>
          %s = conv(%x, %ws, %bs) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} : f32[1,4,3,3]
          %we = constant f32[3,4,1,1] dense<[1.0, 2.0, -1.0, 0.5, 0.0, 0.0, 0.0, 0.0, -0.4, 0.6, 0.8, 0.2]>
          %e = conv(%s, %we) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = relu} : f32[1,3,3,3]
          %wd = constant f32[3,1,3,3] dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9, 0.2, 0.0, 0.2, 0.0, 0.2, 0.0, 0.2, 0.0, 0.2]>
          %d = conv(%e, %wd) {strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 3} : f32[1,3,3,3]
          %wp = constant f32[4,3,1,1] dense<[0.5, -1.0, 0.25, 0.0, 0.0, 0.0, 1.5, 0.5, -0.5, 0.0, 0.0, 0.0]>
          %bp = constant f32[4] dense<[0.05, 0.0, 0.1, 0.0]>
          %p = conv(%d, %wp, %bp) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} : f32[1,4,3,3]
          %a = add(%p, %s) {activation = relu} : f32[1,4,3,3]
          %wy = constant f32[3,4,1,1] dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]>
          %y = conv(%a, %wy) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} : f32[1,3,3,3]
          return %y
        }
        """)
        var d = g
        let report = try PruneChannels(fraction: 0.5).prune(&d)
        try Verifier.verify(d)
        XCTAssertEqual(report.layers.map { "\($0.layer): \($0.choice) \($0.note)" },
                       ["e: channels 2/3 ", "p: channels 2/4 group of 2 layers", "s: channels 2/4 group of 2 layers",
                        "y: kept y is a graph output"])
        XCTAssertEqual(report.layers.map(\.error), [0, 0, 0, 0])
        XCTAssertEqual(d.nodes.compactMap { if case .conv(let c) = $0.op { return c.group } else { return nil } }, [1, 1, 2, 1, 1])
        let input = Tensor(.f32, [1, 2, 3, 3], doubles: (0..<18).map { Double(($0 * 5) % 7) - 2.5 })
        let want = try Evaluator.run(g, inputs: [input])[0].doubles, got = try Evaluator.run(d, inputs: [input])[0].doubles
        XCTAssertEqual(want.count, got.count)
        for (a, b) in zip(want, got) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertGreaterThan(want.map(abs).max() ?? 0, 0.1)
    }

    /// Why groups are left alone: the first problem met, for every member.
    func testReasonsForGroupsLeftAlone() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Inputs/prune-channels/prune-channels.kir")
        let graphs = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n// -----\n")
            .filter { $0.contains("graph @dont_") }.map(Parser.parse)
        var notes: [String: [String]] = [:]
        for var g in graphs {
            notes[g.name] = try PruneChannels(fraction: 0.5).prune(&g).layers.map { "\($0.layer): \($0.note)" }
        }
        XCTAssertEqual(notes, [
            "dont_prune_residual": ["h: y is a graph output"],
            "dont_prune_into_grouped_conv": ["h: feeds conv y"],
            "dont_prune_group_with_output": ["d: group of 2 layers: y is a graph output", "s: group of 2 layers: y is a graph output"],
            "dont_prune_into_enlarging_constant": ["h: feeds add a (h is broadcast to [1,4,2,2])", "y: y is a graph output"],
            "dont_prune_into_concat": ["h: feeds concat c", "y: y is a graph output"],
            "dont_prune_group_with_dynamic_weight": ["s: d comes from conv d (not a prunable layer: weights or bias not float constants, or trans_a)",
                                                     "y: y is a graph output"],
        ])
    }

    func testOptionErrors() {
        func message(_ spec: String) -> String? {
            do { _ = try PassManager.pass(named: spec); return nil } catch { return (error as? KilnError)?.message }
        }
        XCTAssertEqual(message("prune-channels{fraction=2}"), "pass prune-channels: fraction must be a number in [0.0, 1.0], got '2'")
        XCTAssertNil(message("prune-channels{fraction=0.25}"))
    }
}
