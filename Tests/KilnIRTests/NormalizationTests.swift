import XCTest
@testable import KilnIR

/// Batch, instance, layer and group normalization and LRN against onnxruntime 1.32
/// (inputs: `NumericOpTest.ramp`; onnx.reference agrees except where noted).
final class NormalizationTests: XCTestCase {
    func testBatchNorm() throws {
        let x = NumericOpTest.ramp([2,3,2,2], 7, 11, 4, 1)
        let scale = NumericOpTest.ramp([3], 3, 7, 4, 0.5)
        let bias = NumericOpTest.ramp([3], 5, 7, 8, 0.25)
        let mean = NumericOpTest.ramp([3], 1, 3, 4, 0.25)
        let variance = NumericOpTest.ramp([3], 2, 5, 4, -0.25)
        let inputs = [x, scale, bias, mean, variance]
        let y = try NumericOpTest.runGraph(.batchNorm(BatchNorm(epsilon: 1e-3)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,2,2],
                                  [0.498504519, -1.24800611, -0.25, -1.99651051, 0.519241452, 0.230758563, 0.735603571, 0.447120726, -0.769069612, 0.795552194,
                                   -0.098517403, -0.99258703, -1.24800611, -0.25, -1.99651051, -0.998504519, 0.230758563, 0.735603571, 0.447120726, 0.158637851,
                                   0.795552194, -0.098517403, -0.99258703, 0.572034776])
    }

    func testInstanceNorm() throws {
        let x = NumericOpTest.ramp([2,3,4], 7, 11, 4, 1)
        let scale = NumericOpTest.ramp([3], 3, 7, 4, 0.5)
        let bias = NumericOpTest.ramp([3], 5, 7, 8, 0.25)
        let inputs = [x, scale, bias]
        let y = try NumericOpTest.run(.instanceNorm(InstanceNorm(epsilon: 1e-5)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,4],
                                  [0.406528533, -0.512611449, 0.012611419, -0.906528592, 0.424999356, 0.0250044763, 0.724995494, 0.325000644, -0.59789139, 1.65110409,
                                   0.365963817, -0.919176459, -0.349998742, 0.449991047, -0.949991107, -0.150001287, 0.194277138, 0.756525993, 0.435240924, 0.11395587,
                                   1.16917646, -0.115963802, -1.40110409, 0.84789139])
    }

    func testLayerNormLastAxisNoBias() throws {
        let x = NumericOpTest.ramp([2,3,4], 7, 11, 4, 1)
        let scale = NumericOpTest.ramp([4], 3, 7, 4, 0.5)
        let inputs = [x, scale]
        let y = try NumericOpTest.run(.layerNorm(LayerNorm(axis: 2, epsilon: 1e-5)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,4],
                                  [0.656528533, 0.131305709, -0.525222838, 0, -0.0999987125, -0.349995494, 1.39998198, -0, 0.361445695, 0.381526023,
                                   0.240963817, -0, -0.0999987125, -0.349995494, 1.39998198, -0, 0.361445695, 0.381526023, 0.240963802, -0,
                                   -0.52208823, -0.0602409504, -1.52610409, 0])
    }

    /// Broadcast scale/bias: expected values from onnx.reference (onnxruntime wants full-size scale).
    func testLayerNormTwoAxesBroadcastScaleAndBias() throws {
        let x = NumericOpTest.ramp([2,3,4], 7, 11, 4, 1)
        let scale = NumericOpTest.ramp([3,1], 3, 7, 4, 0.5)
        let bias = NumericOpTest.ramp([4], 5, 7, 8, 0.25)
        let inputs = [x, scale, bias]
        let y = try NumericOpTest.run(.layerNorm(LayerNorm(axis: 1, epsilon: 1e-5)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,4],
                                  [0.438571751, 0.0119348764, 0.362870216, -0.938766599, -0.143584371, 0.180947974, 0.456766367, -0.0937012881, -1.32667577, 1.40159786,
                                   -0.0502728075, -1.5021435, -0.547839165, 0.726991713, -0.660212338, -0.26038146, -0.507224679, 0.686377287, 0.111461863, -0.463453561,
                                   0.670593798, -0.0040679872, -1.55372977, 0.470678329])
    }

    func testGroupNorm() throws {
        let x = NumericOpTest.ramp([2,4,3], 7, 11, 4, 1)
        let scale = NumericOpTest.ramp([4], 3, 7, 4, 0.5)
        let bias = NumericOpTest.ramp([4], 5, 7, 8, 0.25)
        let inputs = [x, scale, bias]
        let y = try NumericOpTest.run(.groupNorm(GroupNorm(groups: 2, epsilon: 1e-5)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,4,3],
                                  [0.446521044, -0.598260522, -0.00124247372, 0.773012042, 0.474503011, 0.175993979, 1.48695982, 0.276328862, -0.934302092, -0.125,
                                   -0.125, -0.125, -0.393148214, 0.293963253, -0.908481836, 0.36068517, 0.0171294212, 0.618351996, 0.411296427, -0.962926507,
                                   1.44196367, -0.125, -0.125, -0.125])
    }

    func testLRNOddSize() throws {
        let x = NumericOpTest.ramp([1,5,2,2], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.lrn(LRN(size: 3, alpha: 0.5, beta: 0.75, bias: 1.5)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,5,2,2],
                                  [-0.669222534, 0.518608928, -0.162857115, 0.932257175, 0.32146883, -0.32146883, 0.814285576, 0.145812169, -0.497374624, 0.666178286,
                                   0, -0.666178226, 0.497374624, -0.152232975, 0.932257295, 0.3214688, -0.345739275, 0.814285576, 0.155376211, -0.518608868])
    }

    /// Even size: window one channel before, two after. onnxruntime only takes odd sizes;
    /// expected values from numpy following the ONNX formula.
    func testLRNEvenSize() throws {
        let x = NumericOpTest.ramp([1, 5, 2, 2], 7, 11, 4, 1)
        let y = try NumericOpTest.run(.lrn(LRN(size: 4, alpha: 0.5, beta: 0.75, bias: 1.5)), [x])
        NumericOpTest.assertClose(y[0], shape: [1, 5, 2, 2],
                                  [-0.66391623, 0.497937143, -0.167689204, 0.921773374, 0.322167397, -0.330835998, 0.747639418, 0.151774213, -0.503067613, 0.628021836,
                                   0, -0.661671996, 0.510103643, -0.159014091, 0.969665885, 0.331958115, -0.351206124, 0.838446021, 0.161610991, -0.526809216])
    }

    func testNormalizationTypeRuleErrors() {
        let x = TensorType(.f32, [2, 3, 4])
        let c3 = TensorType(.f32, [3])
        NumericOpTest.assertRejects(.batchNorm(BatchNorm(epsilon: 1e-5)), [x, c3, c3, TensorType(.f32, [4]), c3],
                                    "batch_norm: mean must have shape [3], got [4]")
        NumericOpTest.assertRejects(.groupNorm(GroupNorm(groups: 2, epsilon: 1e-5)), [x, c3, c3],
                                    "group_norm: groups 2 must be positive and divide the channel count 3")
        NumericOpTest.assertRejects(.layerNorm(LayerNorm(axis: 1, epsilon: 1e-5)), [x, TensorType(.f32, [2, 4])],
                                    "layer_norm: scale [2,4] does not broadcast to the normalized shape [3,4]")
        NumericOpTest.assertRejects(.layerNorm(LayerNorm(axis: 3, epsilon: 1e-5)), [x, c3],
                                    "layer_norm: axis 3 is out of range for rank 3")
        NumericOpTest.assertRejects(.instanceNorm(InstanceNorm(epsilon: 1e-5)), [TensorType(.f32, [2, 3]), c3, c3],
                                    "instance_norm: input must have rank 3 or more, got shape [2,3]")
    }
}
