import XCTest
@testable import KilnIR

/// Resize against onnxruntime 1.32, opset 19 (inputs: `NumericOpTest.ramp`; onnx.reference
/// agrees). Two cases use onnx.reference instead: onnxruntime ignores a non-default roi for
/// tf_crop_and_resize in this setup, and it truncates integer results where the reference
/// (and Kiln) round half to even. `sizes`-based cases pass `scales = size / input` in
/// Float, as the importer does.
final class ResizeTests: XCTestCase {
    func testNearestAsymmetricFloorUpsample() throws {
        let x = NumericOpTest.ramp([1,1,2,3], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.runGraph(.resize(Resize(mode: .nearest, coordinateTransform: .asymmetric, nearestMode: .floor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, 2, 1.5], sizes: [1, 1, 4, 4], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,4,4],
                                  [-1, -1, 0.75, -0.25, -1, -1, 0.75, -0.25, 1.5, 1.5,
                                   0.5, -0.5, 1.5, 1.5, 0.5, -0.5])
    }

    func testNearestHalfPixelDownsample() throws {
        let x = NumericOpTest.ramp([1,1,4,5], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .nearest, coordinateTransform: .halfPixel, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, Float(2) / 4, Float(3) / 5], sizes: [1, 1, 2, 3], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,2,3],
                                  [-1, -0.25, 0.5, 0, 0.75, 1.5])
    }

    func testNearestAlignCornersRoundPreferCeil() throws {
        let x = NumericOpTest.ramp([1,1,2,3], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .nearest, coordinateTransform: .alignCorners, nearestMode: .roundPreferCeil, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, Float(3) / 2, Float(5) / 3], sizes: [1, 1, 3, 5], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,3,5],
                                  [-1, 0.75, 0.75, -0.25, -0.25, 1.5, 0.5, 0.5, -0.5, -0.5,
                                   1.5, 0.5, 0.5, -0.5, -0.5])
    }

    func testNearestInt32TfHalfPixelCeil() throws {
        let x = Tensor(.i32, [2,3], int64s: [-5, 2, -2, 5, 1, -3])
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .nearest, coordinateTransform: .halfPixel, nearestMode: .ceil, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1.0, 2.0], sizes: [2, 6], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,6],
                                  [-5, 2, 2, -2, -2, -2, 5, 1, 1, -3,
                                   -3, -3])
    }

    func testLinearHalfPixelUpsample() throws {
        let x = NumericOpTest.ramp([1,1,3,4], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, Float(5) / 3, Float(7) / 4], sizes: [1, 1, 5, 7], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,5,7],
                                  [-1, -0.375, 0.62500006, 0.25, -0.12500006, 0.874999881, 1.5, -0.399999946, -0.16785714, 0.203571439,
                                   0.300000012, 0.396428585, 0.767857015, 1, 0.5, 0.142857134, -0.428571463, 0.375, 1.17857146, 0.607142925,
                                   0.25, -0.250000179, -0.017857179, 0.353571653, 0.450000018, 0.428571284, -0.142857224, -0.500000179, -0.75, -0.125,
                                   0.87500006, 0.5, -0.0714285374, -0.642857075, -1])
    }

    func testLinearAlignCorners() throws {
        let x = NumericOpTest.ramp([1,1,2,3], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .alignCorners, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, 2, 2], sizes: [1, 1, 4, 6], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,4,6],
                                  [-1, -0.300000012, 0.400000036, 0.549999952, 0.149999976, -0.25, -0.166666627, 0.166666657, 0.5, 0.466666579,
                                   0.066666618, -0.333333343, 0.666666687, 0.633333325, 0.600000024, 0.383333236, -0.0166667104, -0.416666687, 1.5, 1.10000002,
                                   0.699999988, 0.299999952, -0.100000024, -0.5])
    }

    /// A scale that does not give a whole length: 4 × 0.8 = 3.2 gives 3 elements and
    /// align_corners maps with the output length 3 (x = y · 3 / 2), as onnxruntime does
    /// (expected values from onnxruntime 1.32; onnx.reference maps with 3.2 instead).
    func testCubicAlignCornersFractionalScale() throws {
        let x = Tensor(.f32, [1, 1, 4, 4], doubles: (1...16).map(Double.init))
        let y = try NumericOpTest.run(.resize(Resize(mode: .cubic, coordinateTransform: .alignCorners, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, 0.8, 0.8], sizes: [1, 1, 3, 3], roi: [])), [x])
        NumericOpTest.assertClose(y[0], shape: [1, 1, 3, 3], [1, 2.5, 4, 7, 8.5, 10, 13, 14.5, 16])
    }

    func testLinearPytorchHalfPixelToLengthOne() throws {
        let x = NumericOpTest.ramp([1,1,4,4], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .pytorchHalfPixel, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, Float(2) / 4, Float(1) / 4], sizes: [1, 1, 2, 1], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,2,1],
                                  [-0.25, 0])
    }

    func testLinearHalfPixelSymmetric() throws {
        let x = NumericOpTest.ramp([1,1,3,5], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .halfPixelSymmetric, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, 1.7, 0.6], sizes: [1, 1, 5, 3], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,5,3],
                                  [-0.416666687, -0.249999881, 0.833333492, -0.210784316, -0.0441175029, 0.661764622, 0.0833332837, 0.250000119, 0.416666389, -0.161764756,
                                   0.54411763, 0.710784078, -0.333333313, 0.749999762, 0.916666389])
    }

    /// Expected values from onnx.reference (see the note at the top).
    func testLinearTfCropAndResizeExtrapolates() throws {
        let x = NumericOpTest.ramp([1,1,4,4], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .tfCropAndResize, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 7.5, antialias: false,
                                  scales: [1, 1, Float(3) / 4, 1], sizes: [1, 1, 3, 4], roi: [0, 0, 0.2, -0.3, 1, 1, 0.9, 1.2])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,3,4],
                                  [7.5, -0.0400000066, 0.660000026, 7.5, 7.5, 0.159999982, 0.337500036, 7.5, 7.5, 0.195000008,
                                   0.950000048, 7.5])
    }

    func testCubicHalfPixelUpsample() throws {
        let x = NumericOpTest.ramp([1,1,3,3], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .cubic, coordinateTransform: .halfPixel, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, 2, 2], sizes: [1, 1, 6, 6], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,6,6],
                                  [-1.47883224, -0.766319275, 0.419639587, 0.764965057, 0.0746498108, -0.329101562, -0.543663025, -0.13432312, 0.55229187, 0.594444275,
                                   -0.0316696167, -0.403320312, 0.999717712, 0.909713745, 0.773880005, 0.316688538, -0.203681946, -0.522460938, 1.84309006, 1.44991302,
                                   0.814735413, 0.0543708801, -0.401798248, -0.688476562, 1.51019669, 1.18122101, 0.651786804, -0.0443763733, -0.514141083, -0.807617188,
                                   1.32910156, 1.03222656, 0.555664062, -0.108398438, -0.584960938, -0.881835938])
    }

    func testCubicAsymmetricExcludeOutside() throws {
        let x = NumericOpTest.ramp([1,1,3,4], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .cubic, coordinateTransform: .asymmetric, nearestMode: .roundPreferFloor, cubicCoeffA: -0.5, excludeOutside: true, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, Float(4) / 3, Float(5) / 4], sizes: [1, 1, 4, 5], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,4,5],
                                  [-1, 0.523622096, 0.0840000436, 0.389313281, 1.63207579, 0.253816783, -0.314194411, 0.504000127, 0.936920583, 0.583069205,
                                   -0.0735293925, 0.143237501, 0.602823734, 0.237763643, -0.572974682, -0.860294104, 0.881137133, 0.524588466, -0.600246787, -1.1857661])
    }

    func testLinearAntialiasDownsample() throws {
        let x = NumericOpTest.ramp([1,1,6,8], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: true,
                                  scales: [1, 1, Float(3) / 6, Float(3) / 8], sizes: [1, 1, 3, 3], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,3,3],
                                  [0.00218025967, 0.26413691, 0.495639503, 0.255087197, 0.25, 0.244912773, 0.00436045229, 0.23586309, 0.497819722])
    }

    func testCubicAntialiasDownsample() throws {
        let x = NumericOpTest.ramp([1,1,6,6], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .cubic, coordinateTransform: .halfPixel, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: true,
                                  scales: [1, 1, 0.5, 0.5], sizes: [1, 1, 3, 3], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,3,3],
                                  [0.161551476, 0.534163475, -0.0162343979, 0.338982582, 0.358654976, 0.141768456, 0.276413918, 0.0704584122, 0.243857384])
    }

    /// Expected values from onnx.reference (see the note at the top).
    func testLinearUInt8RoundsResult() throws {
        let x = Tensor(.u8, [1,1,2,3], int64s: [20, 27, 23, 30, 26, 22])
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, 1, 1.5, 1.5], sizes: [1, 1, 3, 4], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,3,4],
                                  [20, 24, 26, 24, 25, 26, 26, 23, 30, 28,
                                   25, 23])
    }

    func testLinear3DOnMiddleAxisOnly() throws {
        let x = NumericOpTest.ramp([2,3,2], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.resize(Resize(mode: .linear, coordinateTransform: .alignCorners, nearestMode: .roundPreferFloor, cubicCoeffA: -0.75, excludeOutside: false, extrapolationValue: 0.0, antialias: false,
                                  scales: [1, Float(5) / 3, 1], sizes: [2, 5, 2], roi: [])), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,5,2],
                                  [-1, 0.75, -0.625, 1.125, -0.25, 1.5, 0.125, 0.5, 0.5, -0.5,
                                   1.25, 0.25, 0.25, 0.625, -0.75, 1, -0.375, 0, 0, -1])
    }

    func testResizeTypeRule() throws {
        let op = Op.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .floor, cubicCoeffA: -0.75,
                                  excludeOutside: false, extrapolationValue: 0, antialias: false,
                                  scales: [1, 2], sizes: [3, 8], roi: []))
        XCTAssertEqual(try op.resultTypes([TensorType(.f16, [3, 4])]), [TensorType(.f16, [3, 8])])
        NumericOpTest.assertRejects(op, [TensorType(.f32, [1, 3, 4])], "resize: sizes has 2 values, expected 3 (the input rank)")
        let crop = Op.resize(Resize(mode: .linear, coordinateTransform: .tfCropAndResize, nearestMode: .floor, cubicCoeffA: -0.75,
                                    excludeOutside: false, extrapolationValue: 0, antialias: false,
                                    scales: [1, 2], sizes: [3, 8], roi: [0, 1]))
        NumericOpTest.assertRejects(crop, [TensorType(.f32, [3, 4])],
                                    "resize: tf_crop_and_resize needs roi with 4 values (begins, then ends), got 2")
        let linearBool = Op.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .floor, cubicCoeffA: -0.75,
                                          excludeOutside: false, extrapolationValue: 0, antialias: false,
                                          scales: [1, 2], sizes: [3, 8], roi: []))
        NumericOpTest.assertRejects(linearBool, [TensorType(.bool, [3, 4])], "resize: linear mode needs a numeric input, got bool")
    }

    func testNearestMovesAnyDType() throws {
        let x = Tensor(.bool, [1, 2], int64s: [1, 0])
        let op = Op.resize(Resize(mode: .nearest, coordinateTransform: .asymmetric, nearestMode: .floor, cubicCoeffA: -0.75,
                                  excludeOutside: false, extrapolationValue: 0, antialias: false,
                                  scales: [1, 2], sizes: [1, 4], roi: []))
        let y = try NumericOpTest.run(op, [x])[0]
        XCTAssertEqual(y.int64s, [1, 1, 0, 0])
    }
}
