import XCTest
@testable import KilnIR

/// Expected values come from onnx.reference (opset 22) / numpy on `arange` inputs.
final class LayoutTests: XCTestCase {
    func arange(_ shape: Shape, _ dtype: DType = .f32) -> Tensor {
        Tensor(dtype, shape, doubles: (0..<shape.elementCount).map { Double($0) })
    }

    func testReshapeAndIdentity() throws {
        let r = try evaluateOp1(.reshape(Reshape(shape: [3, 2])), [arange([2, 3], .i64)])
        XCTAssertEqual(r.shape, [3, 2])
        XCTAssertEqual(r.int64s, [0, 1, 2, 3, 4, 5])
        assertKilnError("reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)") {
            try inferTypes(.reshape(Reshape(shape: [4, 2])), [TensorType(.f32, [2, 3])])
        }
        let q = TensorType(.i8, [2, 3], quantization: Quantization(scales: [0.5], zeroPoints: [1]))
        XCTAssertEqual(try inferTypes(.identity(Identity()), [q]), [q])
        XCTAssertEqual(try inferTypes(.reshape(Reshape(shape: [6])), [q])[0].quantization, q.quantization)
    }

    func testTranspose() throws {
        let t = try evaluateOp1(.transpose(Transpose(perm: [2, 0, 1])), [arange([2, 3, 4])])
        XCTAssertEqual(t.shape, [4, 2, 3])
        XCTAssertEqual(t.doubles, [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23])
        assertKilnError("transpose: perm [0, 0] is not a permutation of the 2 axes") {
            try inferTypes(.transpose(Transpose(perm: [0, 0])), [TensorType(.f32, [2, 2])])
        }
        // per-axis quantization follows its axis
        let q = TensorType(.i8, [2, 3], quantization: Quantization(scales: [1, 2], zeroPoints: [0, 0], axis: 0))
        XCTAssertEqual(try inferTypes(.transpose(Transpose(perm: [1, 0])), [q])[0].quantization?.axis, 1)
    }

    func testConcatAndSplit() throws {
        let a = arange([2, 2], .i32), b = Tensor(.i32, [2, 1], int64s: [10, 11])
        let c = try evaluateOp1(.concat(Concat(axis: 1)), [a, b])
        XCTAssertEqual(c.shape, [2, 3])
        XCTAssertEqual(c.int64s, [0, 1, 10, 2, 3, 11])
        assertKilnError("concat: operand #1 has shape [3,1], which differs from [2,2] outside axis 1") {
            try inferTypes(.concat(Concat(axis: 1)), [TensorType(.f32, [2, 2]), TensorType(.f32, [3, 1])])
        }
        assertKilnError("concat: axis 2 is out of range for rank 2") {
            try inferTypes(.concat(Concat(axis: 2)), [TensorType(.f32, [2, 2])])
        }
        let parts = try evaluateOp(.split(Split(axis: 1, sizes: [1, 0, 2])), [arange([2, 3])])
        XCTAssertEqual(parts.map(\.shape), [[2, 1], [2, 0], [2, 2]])
        XCTAssertEqual(parts[0].doubles, [0, 3])
        XCTAssertEqual(parts[2].doubles, [1, 2, 4, 5])
        assertKilnError("split: sizes [1, 1] sum to 2, but axis 1 of [2,3] has 3") {
            try inferTypes(.split(Split(axis: 1, sizes: [1, 1])), [TensorType(.f32, [2, 3])])
        }
    }

    func testSliceClampsAndSteps() throws {
        let x = arange([2, 3, 4])
        // axis 1 from 1 to INT64_MAX; axis 2 from -1 to INT64_MIN by -2
        let s1 = try evaluateOp1(.slice(Slice(starts: [1, -1], ends: [Int.max, Int.min], axes: [1, -1], steps: [1, -2])), [x])
        XCTAssertEqual(s1.shape, [2, 2, 2])
        XCTAssertEqual(s1.doubles, [7, 5, 11, 9, 19, 17, 23, 21])
        let s2 = try evaluateOp1(.slice(Slice(starts: [-100, 10], ends: [2, -10], axes: [0, 2], steps: [1, -3])), [x])
        XCTAssertEqual(s2.shape, [2, 3, 2])
        XCTAssertEqual(s2.doubles, [3, 0, 7, 4, 11, 8, 15, 12, 19, 16, 23, 20])
        let empty = try evaluateOp1(.slice(Slice(starts: [2], ends: [1], axes: [2], steps: [1])), [x])
        XCTAssertEqual(empty.shape, [2, 3, 0])
        assertKilnError("slice: step for axis 0 is 0") {
            try inferTypes(.slice(Slice(starts: [0], ends: [1], axes: [0], steps: [0])), [TensorType(.f32, [2])])
        }
        assertKilnError("slice: axis 3 is out of range for rank 3") {
            try inferTypes(.slice(Slice(starts: [0], ends: [1], axes: [3], steps: [1])), [x.type])
        }
    }

    func testExpandAndTile() throws {
        let e = try evaluateOp1(.expand(Expand(shape: [2, 2, 3])), [Tensor(.i64, [2, 1], int64s: [7, 8])])
        XCTAssertEqual(e.shape, [2, 2, 3])
        XCTAssertEqual(e.int64s, [7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8])
        assertKilnError("expand: input shape [2,3] does not broadcast to [2,2]") {
            try inferTypes(.expand(Expand(shape: [2, 2])), [TensorType(.f32, [2, 3])])
        }
        let small = f32([2, 3], [0, 1, 2, 4, 5, 6])
        let t = try evaluateOp1(.tile(Tile(repeats: [2, 2])), [small])
        XCTAssertEqual(t.shape, [4, 6])
        XCTAssertEqual(t.doubles, [0, 1, 2, 0, 1, 2, 4, 5, 6, 4, 5, 6, 0, 1, 2, 0, 1, 2, 4, 5, 6, 4, 5, 6])
        assertKilnError("tile: 1 repeats given for an operand of rank 2") {
            try inferTypes(.tile(Tile(repeats: [2])), [TensorType(.f32, [2, 3])])
        }
    }

    func testPadModes() throws {
        let y = arange([3, 4])
        let pads = [2, 5, 1, 3]  // longer than the axis: reflect and wrap keep repeating
        let reflect = try evaluateOp1(.pad(Pad(mode: .reflect, pads: pads, value: 0)), [y])
        XCTAssertEqual(reflect.shape, [6, 12])
        XCTAssertEqual(reflect.doubles, [9, 10, 11, 10, 9, 8, 9, 10, 11, 10, 9, 8, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6, 5, 4, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6, 5, 4, 9, 10, 11, 10, 9, 8, 9, 10, 11, 10, 9, 8, 5, 6, 7, 6, 5, 4, 5, 6, 7, 6, 5, 4])
        let edge = try evaluateOp1(.pad(Pad(mode: .edge, pads: pads, value: 0)), [y])
        XCTAssertEqual(edge.doubles, [0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11, 11, 11, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11, 11, 11])
        let wrap = try evaluateOp1(.pad(Pad(mode: .wrap, pads: pads, value: 0)), [y])
        XCTAssertEqual(wrap.doubles, [7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
        let constant = try evaluateOp1(.pad(Pad(mode: .constant, pads: [1, 0, 0, 2], value: 9.5)), [y])
        XCTAssertEqual(constant.shape, [4, 6])
        XCTAssertEqual(constant.doubles, [9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 0, 1, 2, 3, 9.5, 9.5, 4, 5, 6, 7, 9.5, 9.5, 8, 9, 10, 11, 9.5, 9.5])
        // a negative pad crops; the other side still reflects the original data
        let cropped = try evaluateOp1(.pad(Pad(mode: .reflect, pads: [-1, 0, 0, 2], value: 0)), [y])
        XCTAssertEqual(cropped.shape, [2, 6])
        XCTAssertEqual(cropped.doubles, [4, 5, 6, 7, 6, 5, 8, 9, 10, 11, 10, 9])
        assertKilnError("pad: pads [-4, 0, 0, 0] crop axis 0 of [3,4] below zero") {
            try inferTypes(.pad(Pad(mode: .constant, pads: [-4, 0, 0, 0], value: 0)), [y.type])
        }
        assertKilnError("pad: edge mode cannot pad the empty axis 0") {
            try inferTypes(.pad(Pad(mode: .edge, pads: [1, 0], value: 0)), [TensorType(.f32, [0])])
        }
    }

    func testDepthToSpaceAndBack() throws {
        let z = arange([2, 8, 2, 3])
        let dcr = try evaluateOp1(.depthToSpace(DepthToSpace(blockSize: 2, crd: false)), [z])
        XCTAssertEqual(dcr.shape, [2, 2, 4, 6])
        XCTAssertEqual(dcr.doubles, [0, 12, 1, 13, 2, 14, 24, 36, 25, 37, 26, 38, 3, 15, 4, 16, 5, 17, 27, 39, 28, 40, 29, 41, 6, 18, 7, 19, 8, 20, 30, 42, 31, 43, 32, 44, 9, 21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47, 48, 60, 49, 61, 50, 62, 72, 84, 73, 85, 74, 86, 51, 63, 52, 64, 53, 65, 75, 87, 76, 88, 77, 89, 54, 66, 55, 67, 56, 68, 78, 90, 79, 91, 80, 92, 57, 69, 58, 70, 59, 71, 81, 93, 82, 94, 83, 95])
        let crd = try evaluateOp1(.depthToSpace(DepthToSpace(blockSize: 2, crd: true)), [z])
        XCTAssertEqual(crd.doubles, [0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20, 3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23, 24, 30, 25, 31, 26, 32, 36, 42, 37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47, 48, 54, 49, 55, 50, 56, 60, 66, 61, 67, 62, 68, 51, 57, 52, 58, 53, 59, 63, 69, 64, 70, 65, 71, 72, 78, 73, 79, 74, 80, 84, 90, 85, 91, 86, 92, 75, 81, 76, 82, 77, 83, 87, 93, 88, 94, 89, 95])
        let s2d = try evaluateOp1(.spaceToDepth(SpaceToDepth(blockSize: 2)), [arange([1, 2, 4, 6])])
        XCTAssertEqual(s2d.shape, [1, 8, 2, 3])
        XCTAssertEqual(s2d.doubles, [0, 2, 4, 12, 14, 16, 24, 26, 28, 36, 38, 40, 1, 3, 5, 13, 15, 17, 25, 27, 29, 37, 39, 41, 6, 8, 10, 18, 20, 22, 30, 32, 34, 42, 44, 46, 7, 9, 11, 19, 21, 23, 31, 33, 35, 43, 45, 47])
        // DCR depth-to-space undoes space-to-depth
        let back = try evaluateOp1(.depthToSpace(DepthToSpace(blockSize: 2, crd: false)), [s2d])
        XCTAssertEqual(back, arange([1, 2, 4, 6]))
        assertKilnError("depth_to_space: channels 6 are not divisible by block size² 4") {
            try inferTypes(.depthToSpace(DepthToSpace(blockSize: 2, crd: false)), [TensorType(.f32, [1, 6, 2, 2])])
        }
        assertKilnError("space_to_depth: spatial dims 3x4 are not divisible by block size 2") {
            try inferTypes(.spaceToDepth(SpaceToDepth(blockSize: 2)), [TensorType(.f32, [1, 1, 3, 4])])
        }
    }
}
