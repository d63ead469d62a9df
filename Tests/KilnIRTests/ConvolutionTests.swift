import XCTest
@testable import KilnIR

/// Conv and ConvTranspose against onnxruntime 1.32 (inputs: `NumericOpTest.ramp`).
final class ConvolutionTests: XCTestCase {
    func testConv1DGroupsStridesDilationAsymmetricPads() throws {
        let x = NumericOpTest.ramp([1,4,9], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([6,2,3], 5, 13, 8, 0.75)
        let b = NumericOpTest.ramp([6], 3, 7, 4, 0.5)
        let inputs = [x, w, b]
        let y = try NumericOpTest.runGraph(.conv(Conv(strides: [2], pads: [2, 1], dilations: [2], group: 2)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,6,4],
                                  [-1.125, -0.28125, 1.09375, -0.28125, 1.03125, -0.4375, -0.625, 0.90625, 1.15625, 1.84375,
                                   0.09375, 0.0625, 0.46875, 0.5, 0.125, -1.28125, -0.3125, 1.34375, 1.28125, 0.1875,
                                   0, 0.4375, -1.34375, 0.3125])
    }

    func testConv2DAsymmetricPadsStridesDilations() throws {
        let x = NumericOpTest.ramp([2,3,6,5], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([4,3,3,2], 5, 13, 8, 0.75)
        let b = NumericOpTest.ramp([4], 3, 7, 4, 0.5)
        let inputs = [x, w, b]
        let y = try NumericOpTest.run(.conv(Conv(strides: [2, 1], pads: [1, 0, 0, 1], dilations: [1, 2], group: 1)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,4,3,4],
                                  [-0.34375, -0.84375, 0.03125, 0.6875, -0.15625, -1.8125, -1.75, -0.0625, -0.21875, -0.15625,
                                   -1.8125, 0.5625, 0.59375, -0.46875, -0.15625, 1.65625, -0.0625, 0.71875, 0.8125, -0.53125,
                                   -0.84375, -0.0625, 0.71875, 0.9375, 0.3125, 1.53125, -0.34375, 1, 0.03125, 0.40625,
                                   2.15625, 0.21875, 1.375, 0.03125, 0.40625, 2.53125, -0.90625, 0.96875, -0.25, -0.1875,
                                   0.8125, -0.84375, 0.9375, 0.4375, -3.03125, 0.8125, -0.84375, -0.875, 0.03125, 0.90625,
                                   -2.34375, -0.6875, -1.75, 0.375, 0.4375, -0.625, -1.8125, -1.75, 0.375, 0,
                                   -0.15625, 1.875, -2.28125, 0.0625, 0.8125, -0.125, 2.03125, -0.71875, 0.71875, 0.8125,
                                   -0.125, 2.125, -0.34375, 1.21875, -1, 0.40625, 2.15625, -0.21875, 1.1875, 0.40625,
                                   0.40625, 2.15625, -0.21875, 1, -0.25, -0.78125, 1.78125, 0.21875, 0.9375, -0.03125,
                                   -1, 1, -0.84375, 0.9375, -0.03125, -0.65625])
    }

    func testDepthwiseConvWithChannelMultiplier() throws {
        let x = NumericOpTest.ramp([1,3,5,5], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([6,1,3,3], 5, 13, 8, 0.75)
        let inputs = [x, w]
        let y = try NumericOpTest.run(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 3)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,6,5,5],
                                  [-0.53125, 0.84375, 0.96875, -0.28125, -0.125, 2, 0.28125, -0.25, -0.4375, -0.0625,
                                   0.4375, -0.3125, -0.5, 1.375, 0.40625, -0.4375, 1.5, 0.28125, -0.25, -0.5,
                                   -0.1875, -0.9375, 0.78125, -0.9375, -0.5, 1.0625, -1.625, 0.59375, -0.625, -0.875,
                                   -0.8125, 0.0625, -1.40625, 1.9375, -1.5, -0.96875, 2, -1.1875, -0.25, -0.0625,
                                   -0.4375, -0.1875, 0.0625, -1.40625, 2.0625, -0.25, -0.40625, 1.34375, -0.34375, -0.09375,
                                   -0.625, -0.71875, 0.84375, -0.34375, -0.21875, -0.75, 1.375, -0.34375, -1.375, 2,
                                   2.125, -1.375, -0.34375, 1.375, -0.875, 0.53125, -1.375, 1.375, -0.34375, -1,
                                   -0.5, 1.21875, -0.34375, -0.875, -0.0625, 1.46875, -0.21875, -0.25, 1.4375, -0.5,
                                   -0.15625, -0.0625, -0.3125, 0.125, -0.5625, -1.59375, 2.125, 0.15625, -1.125, 2,
                                   -0.96875, 0.1875, -0.0625, -0.3125, 0.4375, 1.125, -1.375, 1.5625, 1.0625, -0.8125,
                                   0.40625, -0.9375, 1.125, 1.125, -1.4375, 0.96875, 1.625, -0.25, -0.0625, -0.0625,
                                   0.5, -0.1875, 0, 0.53125, 1.5, -0.3125, 0.40625, 1.625, -0.25, -1.0625,
                                   -0.5625, 0.875, -0.625, -0.40625, -0.8125, 1.34375, -0.34375, -0.65625, -0.625, 0,
                                   -0.375, -0.28125, -1.46875, 1.8125, -0.875, -1.5, 2.03125, -1.5625, -0.34375, -0.75,
                                   -0.90625, -0.125, -0.28125, -1.46875, 2.125, 1.125, -1.625, 1.375, -0.78125, 0.15625])
    }

    func testConv3D() throws {
        let x = NumericOpTest.ramp([1,2,3,4,4], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([2,2,2,2,2], 5, 13, 8, 0.75)
        let inputs = [x, w]
        let y = try NumericOpTest.run(.conv(Conv(strides: [1, 2, 1], pads: [0, 1, 0, 1, 0, 1], dilations: [1, 1, 1], group: 1)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,2,3,2,4],
                                  [0.09375, -1, -0.03125, 1, -0.625, -1.96875, 1.5, 0.21875, -0.5625, 1.09375,
                                   0, 0, 0.5625, -0.78125, 1.65625, 0.09375, 1.25, -0.375, -0.28125, 0.65625,
                                   -1.75, -0.15625, -0.625, 0, -0.34375, 0.25, -1.5625, 1.03125, -0.34375, 1.6875,
                                   -1.78125, -0.71875, -1.5, 1.15625, 1.75, -0.96875, -0.84375, 0.5, 1.84375, -0.65625,
                                   -0.9375, -1.25, 0.84375, -1.125, 0.0625, -1.125, 0.78125, -1.75])
    }

    func testConvTranspose2DOutputPaddingAndBias() throws {
        let x = NumericOpTest.ramp([1,2,3,3], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([2,3,3,3], 5, 13, 8, 0.75)
        let b = NumericOpTest.ramp([3], 3, 7, 4, 0.5)
        let inputs = [x, w, b]
        let y = try NumericOpTest.runGraph(.convTranspose(ConvTranspose(strides: [2, 2], pads: [1, 0, 0, 1], dilations: [1, 1], outputPadding: [1, 1], group: 1)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,3,7,7],
                                  [0.125, 0.125, -1.875, -0.40625, 0.0625, -1.28125, -0.4375, -1.09375, -1.3125, -0.03125,
                                   -0.40625, -0.71875, 0.84375, -1.34375, -1.15625, 0.25, 0.15625, -0.625, 0.375, 0.5625,
                                   -1.25, -1.59375, -0.3125, -1.40625, -0.4375, 0.65625, -0.90625, -1.1875, -1.0625, 0.03125,
                                   0.125, -0.84375, 0.34375, 0.34375, -1.375, -0.625, -0.34375, -1.53125, -0.09375, 0,
                                   -1.5625, -0.03125, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5, -0.75,
                                   0.875, 1.0625, -0.3125, 0.84375, 0.5625, -0.21875, -0.28125, 1.53125, 0.71875, 0.28125,
                                   1.40625, -0.625, 0.03125, 0.0625, -0.96875, 0.75, -0.09375, -1.1875, 0.4375, 1.0625,
                                   0.9375, 0.1875, 0.71875, 0.3125, -0.3125, -0.25, 1.90625, 0.1875, -0.75, 0.78125,
                                   0.125, -1.15625, 0.65625, 0.96875, 0.625, -0.3125, 1.15625, 0.0625, -1.09375, 0.78125,
                                   1.09375, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 1.625, 1.625,
                                   -0.46875, 1, 1.625, 0.375, 1.21875, 2.5625, -0.09375, 1.875, 0.96875, -0.125,
                                   2.375, 0.1875, 0.0625, 1.46875, 1.34375, 0.84375, 1.71875, 1.9375, 0.125, 1.4375,
                                   0.6875, 0, 1.0625, 0.75, 0.40625, 0.125, 0.21875, 1.3125, 1.4375, 0.6875,
                                   1.8125, 1.78125, 0.0625, 0.65625, 0.9375, -0.21875, 1.4375, 1.46875, -0.125, 1.40625,
                                   1, 1, 1, 1, 1, 1, 1])
    }

    func testConvTranspose1DGroupsDilation() throws {
        let x = NumericOpTest.ramp([1,4,3], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([4,2,2], 5, 13, 8, 0.75)
        let b = NumericOpTest.ramp([4], 3, 7, 4, 0.5)
        let inputs = [x, w, b]
        let y = try NumericOpTest.run(.convTranspose(ConvTranspose(strides: [3], pads: [0, 1], dilations: [2], outputPadding: [1], group: 2)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,4,9],
                                  [0.4375, -0.5, 0.75, -1, -0.5, -0.21875, -0.375, -0.5, -0.84375, -0.625,
                                   0.25, 1.3125, 0.5, 0.25, 0.0625, 0.25, 0.25, 0.1875, 0.46875, 1,
                                   0.25, 0.84375, 1, 1, 1.21875, 1, 1.75, 0.65625, 0, 0.03125,
                                   0.15625, 0, -0.09375, -0.34375, 0, -0.21875])
    }

    // MARK: - Type rule errors

    func testConvRejectsWrongWeightChannels() {
        let op = Op.conv(Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 2))
        NumericOpTest.assertRejects(op, [TensorType(.f32, [1, 4, 5, 5]), TensorType(.f32, [8, 4, 3, 3])],
                                    "conv: weight [8,4,3,3] has 4 input channels per group, expected 2 (4 input channels / group 2)")
    }

    func testConvRejectsBadGroupAndBiasAndAttributes() {
        let x = TensorType(.f32, [1, 6, 5, 5])
        NumericOpTest.assertRejects(.conv(Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 4)),
                                    [x, TensorType(.f32, [8, 1, 3, 3])], "conv: input channels 6 are not divisible by group 4")
        NumericOpTest.assertRejects(.conv(Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 3)),
                                    [x, TensorType(.f32, [4, 2, 3, 3])], "conv: output channels 4 are not divisible by group 3")
        NumericOpTest.assertRejects(.conv(Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1)),
                                    [x, TensorType(.f32, [4, 6, 3, 3]), TensorType(.f32, [3])], "conv: bias must have shape [4], got [3]")
        NumericOpTest.assertRejects(.conv(Conv(strides: [1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1)),
                                    [x, TensorType(.f32, [4, 6, 3, 3])], "conv: strides has 1 values, expected 2 (one per spatial axis)")
        NumericOpTest.assertRejects(.conv(Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [3, 1], group: 1)),
                                    [x, TensorType(.f32, [4, 6, 3, 3])], "conv: kernel extent 7 exceeds padded input size 5 on spatial axis 0")
        NumericOpTest.assertRejects(.conv(Conv(strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1)),
                                    [TensorType(.i32, [1, 6, 5, 5]), TensorType(.i32, [4, 6, 3, 3])], "conv: input must be a float tensor, got i32")
    }

    func testConvTransposeRejectsWrongWeight() {
        let op = Op.convTranspose(ConvTranspose(strides: [2], pads: [0, 0], dilations: [1], outputPadding: [0], group: 1))
        NumericOpTest.assertRejects(op, [TensorType(.f32, [1, 4, 5]), TensorType(.f32, [3, 2, 3])],
                                    "conv_transpose: weight [3,2,3] has 3 input channels, expected 4")
    }

    func testConvResultTypes() throws {
        let conv = Op.conv(Conv(strides: [2, 2], pads: [3, 3, 3, 3], dilations: [1, 1], group: 1))
        XCTAssertEqual(try conv.resultTypes([TensorType(.f16, [1, 3, 224, 224]), TensorType(.f16, [64, 3, 7, 7])]),
                       [TensorType(.f16, [1, 64, 112, 112])])
        let up = Op.convTranspose(ConvTranspose(strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], outputPadding: [1, 1], group: 1))
        XCTAssertEqual(try up.resultTypes([TensorType(.f32, [1, 8, 4, 4]), TensorType(.f32, [8, 3, 3, 3])]),
                       [TensorType(.f32, [1, 3, 8, 8])])
    }
}
