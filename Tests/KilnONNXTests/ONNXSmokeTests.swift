import XCTest
@testable import KilnONNX
final class ONNXSmokeTests: XCTestCase { func testNothing() {} }
