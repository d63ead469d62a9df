import Foundation
import KilnIR
import XCTest
@testable import KilnPasses

/// The entropy (KL-divergence) calibration: the histogram that grows by merging bins, and
/// the threshold search on distributions whose right answer is known.
final class CalibrationHistogramTests: XCTestCase {
    /// Evenly spread values in [0, 1): uniform, with no outlier to clip.
    func uniform(_ n: Int) -> [Float] { (0..<n).map { (Float($0) + 0.5) / Float(n) } }

    func testGrowingRangeMergesBinsAndKeepsEveryCount() {
        var h = AbsHistogram()
        h.add([0.5, -1])
        XCTAssertEqual(h.maxAbs, 1)
        let firstWidth = h.width
        h.add([3.5, 0.25, .nan, 0])
        XCTAssertEqual(h.maxAbs, 3.5)
        XCTAssertEqual(h.width, firstWidth * 4)  // doubled twice: 1 → 2 → 4 > 3.5
        XCTAssertEqual(h.counts.reduce(0, +), 4)  // the NaN and the zero are not counted
        XCTAssertEqual(h.counts[Int(3.5 / h.width)], 1)
        XCTAssertEqual(h.counts[Int(0.5 / h.width)], 1)
    }

    func testUniformValuesKeepTheirFullRange() {
        var h = AbsHistogram()
        h.add(uniform(100_000))
        // Nothing to clip: the best threshold is (within a bin or two) the max.
        XCTAssertGreaterThan(h.threshold(levels: 255), 0.98)
        XCTAssertLessThanOrEqual(h.threshold(levels: 255), h.maxAbs)
    }

    /// Exponentially distributed values (mean 1, by inverse CDF on an even grid).
    func exponential(_ n: Int) -> [Float] { uniform(n).map { -Foundation.log($0) } }

    /// KL keeps what changes the shape of a bell or tail and clips rare far outliers. (A
    /// uniform bulk is not clipped: merging its bins loses nothing KL can see.)
    func testRareOutliersAreClipped() {
        var h = AbsHistogram()
        h.add(exponential(100_000))
        h.add([50, -40, 45])  // 3 values in 100k, far beyond the tail (max 12.2)
        let t = h.threshold(levels: 128)
        XCTAssertGreaterThan(t, 2)
        XCTAssertLessThan(t, 40)
    }

    func testEntropyCalibrationClipsTheRangeOfAValue() throws {
        var b = GraphBuilder(name: "id")
        let x = b.input("x", TensorType(.f32, [1, 1000]))
        b.output(try b.add1(.unary(.relu), [x], name: "y"))
        let g = b.graph
        var values = exponential(1000).enumerated().map { $0.offset % 2 == 0 ? $0.element : -$0.element }
        values[500] = 80
        let sample = [Tensor([1, 1000], floats: values)]
        let minmax = try Calibration.run(g, values: [x], samples: [sample], method: .minmax, percentile: 100).ranges[x]!
        let entropy = try Calibration.run(g, values: [x], samples: [sample], method: .entropy, percentile: 100)
        XCTAssertEqual(minmax.max, 80)
        let r = entropy.ranges[x]!
        XCTAssertLessThan(r.max, 80)
        XCTAssertGreaterThan(r.max, 2)
        // The graph outputs on each sample come back as the fp32 reference.
        XCTAssertEqual(entropy.outputs.count, 1)
        XCTAssertEqual(entropy.outputs[0][0].floats[500], 80)
    }
}
