import XCTest
@testable import KilnONNX

/// The factoring of constant scatter maps (position → update) into data [O, M, I] with a
/// gather along M: the smallest M that reproduces the map exactly.
final class ScatterFactorTests: XCTestCase {
    /// Position → update map of `data[..., lo..<hi] = updates` on dims (last axis sliced).
    private func lastAxisSlice(_ dims: [Int], _ lo: Int, _ hi: Int) -> [Int] {
        let last = dims[dims.count - 1], outer = dims.dropLast().reduce(1, *)
        var map = [Int](repeating: -1, count: outer * last)
        for o in 0..<outer { for c in lo..<hi { map[o * last + c] = o * (hi - lo) + (c - lo) } }
        return map
    }

    func testLastAxisSliceGathersAlongThatAxis() {
        let f = scatterFactor(lastAxisSlice([1, 3, 4, 7], 2, 4), dims: [1, 3, 4, 7], updateCount: 24)
        XCTAssertEqual([f.outer, f.middle, f.inner, f.updateMiddle], [12, 7, 1, 2])
        XCTAssertEqual(f.source, [-1, -1, 0, 1, -1, -1, -1])
    }

    func testRowScatterGathersRows() {
        // data [4, 5]: rows 3 and 0 take update rows 0 and 1.
        var map = [Int](repeating: -1, count: 20)
        for i in 0..<5 { map[3 * 5 + i] = i; map[i] = 5 + i }
        let f = scatterFactor(map, dims: [4, 5], updateCount: 10)
        XCTAssertEqual([f.outer, f.middle, f.inner, f.updateMiddle], [1, 4, 5, 2])
        XCTAssertEqual(f.source, [1, -1, -1, 0])
    }

    /// Rows swapped: position (o, i) takes update (1 - o, i), so no [O, 1, I] factoring
    /// (which reads update row o for data row o) fits; rows are gathered along axis 0.
    func testSwappedRowsAreNotReadFromTheSameRow() {
        let f = scatterFactor([3, 4, 5, 0, 1, 2], dims: [2, 3], updateCount: 6)
        XCTAssertEqual([f.outer, f.middle, f.inner, f.updateMiddle], [1, 2, 3, 2])
        XCTAssertEqual(f.source, [1, 0])
    }

    func testScatteredElementsFallBackToTheWholeMap() {
        let map = [-1, 2, -1, 0, 1, -1]
        let f = scatterFactor(map, dims: [2, 3], updateCount: 3)
        XCTAssertEqual([f.outer, f.middle, f.inner, f.updateMiddle], [1, 6, 1, 3])
        XCTAssertEqual(f.source, map)
    }

    func testFullOverwriteNeedsNoMask() {
        let f = scatterFactor(Array(0..<6), dims: [2, 3], updateCount: 6)
        XCTAssertEqual(f.middle, 1)
        XCTAssertEqual(f.source, [0])
    }
}
