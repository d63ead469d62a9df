import XCTest
@testable import KilnPasses

/// The int8 report's and --accuracy-budget's measure of a plan against fp32.
final class OutputAccuracyTests: XCTestCase {
    func testCosineErrorsAndTop1() {
        var acc = OutputAccuracy(name: "logits")
        acc.add([1, 2, 3], [1, 2, 3])
        acc.add([3, 2, 1], [1, 2, 3])
        XCTAssertEqual(acc.minCosine, 10.0 / 14.0, accuracy: 1e-12)
        XCTAssertEqual(acc.maxAbs, 2)
        XCTAssertEqual(acc.maxRel, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(acc.agree, 1)
        XCTAssertEqual(acc.line, "logits: cosine min 0.7143 mean 0.8571, max abs 2, max rel 0.6667, top-1 1/2")
    }

    /// A NaN or an infinity the reference does not have used to vanish in Swift's min/max
    /// (a plan of NaNs measured cosine 1): now the sample is as bad as it gets.
    func testNonFiniteValuesTheReferenceDoesNotHaveFailTheSample() {
        var acc = OutputAccuracy(name: "y")
        acc.add([.nan, .nan], [1, 2])
        XCTAssertEqual(acc.minCosine, 0)
        XCTAssertEqual(acc.maxAbs, .infinity)
        XCTAssertEqual(acc.maxRel, .infinity)
        XCTAssertEqual(acc.agree, 0)
        var inf = OutputAccuracy(name: "y")
        inf.add([.infinity, 2], [1, 2])
        XCTAssertEqual(inf.minCosine, 0)
    }

    func testMatchingNonFiniteValuesAreLeftOutOfTheSums() {
        var acc = OutputAccuracy(name: "y")
        acc.add([-.infinity, .nan, 3, 4], [-.infinity, .nan, 3, 4])
        XCTAssertEqual(acc.minCosine, 1, accuracy: 1e-12)
        XCTAssertEqual(acc.maxAbs, 0)
    }
}
