import XCTest
import KilnIR
@testable import KilnPasses

/// `Graph.decomposedLayers` (what `kiln inspect` and the plan metadata list) after the
/// decompose passes, for named and unnamed layers; nothing for an undecomposed graph.
final class DecomposedLayersTests: XCTestCase {
    func testFindsLayersTheDecomposePassesSplit() throws {
        let text = """
        graph @g(%x: f32[1,2,4,4]) -> (f32[1,3]) {
          %w = constant f32[3,2,3,3] dense<[\((0..<54).map { String(Double(($0 * 7) % 5) - 2) }.joined(separator: ", "))]>
          %c = conv(%x, %w) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} : f32[1,3,2,2] loc("conv1")
          %w2 = constant f32[3,3,2,2] dense<[\((0..<36).map { String(Double(($0 * 5) % 7) - 3) }.joined(separator: ", "))]>
          %d = conv(%c, %w2) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} : f32[1,3,1,1]
          %f = reshape(%d) {shape = [1, 3]} : f32[1,3]
          %wf = constant f32[3,3] dense<[1.0, 2.0, 0.0, -1.0, 0.5, 3.0, 2.0, 0.0, 1.0]>
          %y = gemm(%f, %wf) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} : f32[1,3] loc("fc")
          return %y
        }
        """
        var g = try Parser.parse(text)
        XCTAssertEqual(g.decomposedLayers, [])
        _ = try DecomposeDepthwise(rank: .fixed(2)).decompose(&g)
        _ = try DecomposeLowRank(rank: .fixed(1)).decompose(&g)
        try Verifier.verify(g)
        XCTAssertEqual(g.decomposedLayers.map(\.description),
                       ["conv1 → depthwise r=2 + pointwise", "d → depthwise r=2 + pointwise", "fc → low-rank r=1 (u, v)"])
    }
}
