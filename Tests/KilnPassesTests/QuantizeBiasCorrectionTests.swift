import KilnIR
import XCTest
@testable import KilnPasses

/// Bias correction of int8 weights (`QuantizeBiasCorrection`) and the per-channel means
/// `Calibration` measures for it.
final class QuantizeBiasCorrectionTests: XCTestCase {
    /// Calibration means: channel axis 1 of NCHW values, averaged over samples and pixels.
    func testCalibrationMeansArePerChannel() throws {
        var b = GraphBuilder(name: "id")
        let x = b.input("x", TensorType(.f32, [1, 2, 2, 2]))
        let y = try b.add1(.unary(.relu), [x], name: "y")
        b.output(y)
        let s1 = Tensor([1, 2, 2, 2], floats: [1, 2, 3, 4, -1, -1, -1, -1])
        let s2 = Tensor([1, 2, 2, 2], floats: [5, 6, 7, 8, 0, 0, 0, 4])
        let cal = try Calibration.run(b.graph, values: [x, y], samples: [[s1], [s2]], method: .minmax, percentile: 100)
        XCTAssertEqual(cal.means[x], [4.5, 0])
        XCTAssertEqual(cal.means[y], [4.5, 0.5])
    }

    /// A 1x1 conv whose weights all round the same way (w = (k + 0.45)/127 beside a 1.0
    /// that sets the scale 1/127), fed ones (exact on the input's u8 grid): without
    /// correction every output is off by ΔW·x = 63 · 0.45/127 ≈ 0.22; with it the bias
    /// absorbs the shift and the output equals fp32 up to the output's rounding.
    func testCorrectedConvMatchesFloat() throws {
        let c = 64
        let w = Tensor([2, c, 1, 1], floats: (0..<(2 * c)).map { i in i % c == 0 ? 1 : (Float((i + i / c) % 7) + 0.45) / 127 })
        var b = GraphBuilder(name: "conv1x1")
        let x = b.input("x", TensorType(.f32, [1, c, 2, 2]))
        let wv = b.constant(w, name: "w")
        let bias = b.constant(Tensor([2], floats: [0.1, -0.2]), name: "b")
        let conv = Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1)
        b.output(try b.add1(.conv(conv), [x, wv, bias], name: "y"))
        let float = b.graph
        let ones = Tensor([1, c, 2, 2], floats: [Float](repeating: 1, count: c * 4))
        let want = try Evaluator.run(float, inputs: [ones])[0].floats
        let cands = QuantizeInt8.candidates(float)
        let cal = try Calibration.run(float, values: QuantizeInt8.observedValues(float, cands), samples: [[ones]],
                                      method: .minmax, percentile: 100)
        XCTAssertEqual(cal.means[x], [Float](repeating: 1, count: c))
        let plain = try Evaluator.run(try QuantizeInt8.rewrite(float, cands, ranges: cal.ranges).0, inputs: [ones])[0].floats
        let corrected = try Evaluator.run(try QuantizeInt8.rewrite(float, cands, ranges: cal.ranges, means: cal.means).0,
                                          inputs: [ones])[0].floats
        let range = cal.ranges[cands[0].out]!, step = (max(range.max, 0) - min(range.min, 0)) / 255
        for i in want.indices {
            XCTAssertEqual(plain[i] - want[i], -63 * 0.45 / 127, accuracy: step)
            XCTAssertEqual(corrected[i], want[i], accuracy: step / 2 + 1e-5)
        }
    }

    /// The correction is −ΔW·E[x] per output channel, group by group for a depthwise conv.
    func testDepthwiseCorrectionUsesEachChannelsOwnMean() {
        let w = Tensor([2, 1, 1, 2], floats: [0.5, 0.26, -1.0, 0.013])
        let (wq, scales) = QuantizeInt8.quantizeWeights(w, channels: 2, channelAxisFirst: true)
        let shift = QuantizeBiasCorrection.correction(w: w, wq: wq, scales: scales, convGroups: 2, inputMeans: [2, -3])!
        let dq = wq.int64s.enumerated().map { Double($1) * Double(scales[$0 / 2]) }
        let expected0 = -((dq[0] - 0.5) + (dq[1] - Double(Float(0.26)))) * 2
        let expected1 = -((dq[2] + 1.0) + (dq[3] - Double(Float(0.013)))) * -3
        XCTAssertEqual(shift[0], expected0, accuracy: 1e-12)
        XCTAssertEqual(shift[1], expected1, accuracy: 1e-12)
        XCTAssertNotEqual(shift[0], 0)
        XCTAssertNil(QuantizeBiasCorrection.correction(w: w, wq: wq, scales: scales, convGroups: 2, inputMeans: [1]))
    }
}
