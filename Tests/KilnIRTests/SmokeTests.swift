import XCTest
@testable import KilnIR
final class SmokeTests: XCTestCase { func testShape() { XCTAssertEqual(Shape([2,3]).elementCount, 6) } }
