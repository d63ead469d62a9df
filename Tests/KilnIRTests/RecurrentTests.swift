import XCTest
@testable import KilnIR

/// RNN, GRU and LSTM against onnxruntime 1.32 (inputs: `NumericOpTest.ramp`; seq 3,
/// batch 2, input 2, hidden 3; sequence lengths shorter than seq on some batch entries).
final class RecurrentTests: XCTestCase {
    func testLSTMForwardWithPeepholesAndSequenceLengths() throws {
        let x = NumericOpTest.ramp([3,2,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([1,12,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([1,12,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([1,24], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [3, 2])
        let h0 = NumericOpTest.ramp([1,2,3], 3, 5, 4, 0.5)
        let c0 = NumericOpTest.ramp([1,2,3], 2, 7, 4, 0.75)
        let p = NumericOpTest.ramp([1,9], 5, 11, 8, 0.625)
        let inputs = [x, w, r, b, lens, h0, c0, p]
        let y = try NumericOpTest.runGraph(.recurrent(Recurrent(kind: .lstm, direction: .forward, hiddenSize: 3,
                                  activations: [.sigmoid, .tanh, .tanh], clip: nil,
                                  linearBeforeReset: false, inputForget: false, layout: 0)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,1,2,3],
                                  [-0.381663054, -0.304100156, 0.178389117, -0.0131803602, -0.294461787, 0.206287012, -0.0579586476, -0.0602876432, 0.0145610888, 0.0713251308,
                                   -0.0871918574, 0.134862319, -0.296168327, -0.191479176, 0.129750073, 0, 0, 0])
        NumericOpTest.assertClose(y[1], shape: [1,2,3],
                                  [-0.296168327, -0.191479176, 0.129750073, 0.0713251308, -0.0871918574, 0.134862319])
        NumericOpTest.assertClose(y[2], shape: [1,2,3],
                                  [-0.469860941, -0.309818506, 0.380844831, 0.145737618, -0.285910308, 0.19328624])
    }

    func testLSTMBidirectionalClipInputForget() throws {
        let x = NumericOpTest.ramp([3,2,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([2,12,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([2,12,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([2,24], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [2, 3])
        let h0 = NumericOpTest.ramp([2,2,3], 3, 5, 4, 0.5)
        let c0 = NumericOpTest.ramp([2,2,3], 2, 7, 4, 0.75)
        let p = NumericOpTest.ramp([2,9], 5, 11, 8, 0.625)
        let inputs = [x, w, r, b, lens, h0, c0, p]
        let y = try NumericOpTest.run(.recurrent(Recurrent(kind: .lstm, direction: .bidirectional, hiddenSize: 3,
                                  activations: [.sigmoid, .tanh, .tanh, .sigmoid, .tanh, .tanh], clip: 0.9,
                                  linearBeforeReset: false, inputForget: true, layout: 0)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,2,2,3],
                                  [-0.381305665, -0.266050905, 0.163682088, 0.229603082, -0.278750658, 0.187395886, 0.0347364321, -0.0990954041, -0.115137577, -0.165077552,
                                   0.207435489, -0.126791149, -0.0838910043, 0.00280273636, 0.0529134162, 0.206174448, -0.0192686822, 0.108558655, 0.0488032214, 0.0572208315,
                                   0.0209125336, -0.105929986, 0.288298428, -0.0167633835, 0, 0, 0, 0.1226485, 0.161362633, -0.0782337487,
                                   0, 0, 0, 0.0032615182, 0.295144618, 0.0391115099])
        NumericOpTest.assertClose(y[1], shape: [2,2,3],
                                  [-0.0838910043, 0.00280273636, 0.0529134162, 0.1226485, 0.161362633, -0.0782337487, 0.0347364321, -0.0990954041, -0.115137577, -0.165077552,
                                   0.207435489, -0.126791149])
        NumericOpTest.assertClose(y[2], shape: [2,2,3],
                                  [-0.192046776, 0.00577564538, 0.0784421265, 0.275933772, 0.288702458, -0.115401872, 0.0635337085, -0.175694823, -0.176246673, -0.236506283,
                                   0.334632188, -0.245535523])
    }

    func testGRUForward() throws {
        let x = NumericOpTest.ramp([3,2,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([1,9,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([1,9,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([1,18], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [3, 1])
        let h0 = NumericOpTest.ramp([1,2,3], 3, 5, 4, 0.5)
        let inputs = [x, w, r, b, lens, h0]
        let y = try NumericOpTest.run(.recurrent(Recurrent(kind: .gru, direction: .forward, hiddenSize: 3,
                                  activations: [.sigmoid, .tanh], clip: nil,
                                  linearBeforeReset: false, inputForget: false, layout: 0)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,1,2,3],
                                  [-0.687541842, 0.656398773, 0.277069986, -0.601256073, 0.580987573, -0.17273362, -0.0913742483, 0.672701299, -0.157482192, 0,
                                   0, 0, -0.587207198, 0.820833683, 0.259195, 0, 0, 0])
        NumericOpTest.assertClose(y[1], shape: [1,2,3],
                                  [-0.587207198, 0.820833683, 0.259195, -0.601256073, 0.580987573, -0.17273362])
    }

    func testGRUBidirectionalLinearBeforeReset() throws {
        let x = NumericOpTest.ramp([3,2,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([2,9,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([2,9,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([2,18], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [3, 2])
        let h0 = NumericOpTest.ramp([2,2,3], 3, 5, 4, 0.5)
        let inputs = [x, w, r, b, lens, h0]
        let y = try NumericOpTest.run(.recurrent(Recurrent(kind: .gru, direction: .bidirectional, hiddenSize: 3,
                                  activations: [.sigmoid, .tanh, .sigmoid, .tanh], clip: nil,
                                  linearBeforeReset: true, inputForget: false, layout: 0)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,2,2,3],
                                  [-0.682472467, 0.629485607, 0.270013094, -0.598691583, 0.554516494, -0.167307138, 0.249370754, 0.688998163, 0.266036302, 0.589648664,
                                   0.546521306, -0.124228887, -0.0653911531, 0.577171147, -0.0809548944, -0.263190538, 0.55853188, -0.296831906, -0.225738853, 0.39234665,
                                   -0.0182359815, 0.0349371023, -0.197915688, -0.322473288, -0.56964308, 0.758858323, 0.273546338, 0, 0, 0,
                                   0.276058853, 0.430708617, 0.518718004, 0, 0, 0])
        NumericOpTest.assertClose(y[1], shape: [2,2,3],
                                  [-0.56964308, 0.758858323, 0.273546338, -0.263190538, 0.55853188, -0.296831906, 0.249370754, 0.688998163, 0.266036302, 0.589648664,
                                   0.546521306, -0.124228887])
    }

    func testRNNForwardWithSequenceLengths() throws {
        let x = NumericOpTest.ramp([3,2,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([1,3,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([1,3,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([1,6], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [3, 2])
        let h0 = NumericOpTest.ramp([1,2,3], 3, 5, 4, 0.5)
        let inputs = [x, w, r, b, lens, h0]
        let y = try NumericOpTest.runGraph(.recurrent(Recurrent(kind: .rnn, direction: .forward, hiddenSize: 3,
                                  activations: [.tanh], clip: nil,
                                  linearBeforeReset: false, inputForget: false, layout: 0)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,1,2,3],
                                  [0.462117195, -0.670967102, 0.274061561, -0.554599702, -0.734071493, 0.819813967, -0.560128808, 0.0808016062, -0.00312268734, -0.606486619,
                                   0.0557955503, 0.500296712, 0.376844883, -0.720653296, 0.504953861, 0, 0, 0])
        NumericOpTest.assertClose(y[1], shape: [1,2,3],
                                  [0.376844883, -0.720653296, 0.504953861, -0.606486619, 0.0557955503, 0.500296712])
    }

    func testRNNReverseRelu() throws {
        let x = NumericOpTest.ramp([3,2,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([1,3,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([1,3,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([1,6], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [2, 3])
        let h0 = NumericOpTest.ramp([1,2,3], 3, 5, 4, 0.5)
        let inputs = [x, w, r, b, lens, h0]
        let y = try NumericOpTest.run(.recurrent(Recurrent(kind: .rnn, direction: .reverse, hiddenSize: 3,
                                  activations: [.relu], clip: nil,
                                  linearBeforeReset: false, inputForget: false, layout: 0)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,1,2,3],
                                  [0.40625, 0, 0.2265625, 0, 0, 0.912109375, 0, 0.5625, 0, 0,
                                   0.484375, 0.1796875, 0, 0, 0, 0, 0.4375, 0])
        NumericOpTest.assertClose(y[1], shape: [1,2,3],
                                  [0.40625, 0, 0.2265625, 0, 0, 0.912109375])
    }

    /// layout 1: onnxruntime run on the transposed layout-0 problem.
    func testRNNBidirectionalBatchFirst() throws {
        let x = NumericOpTest.ramp([2,3,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([2,3,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([2,3,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([2,6], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [3, 2])
        let h0 = NumericOpTest.ramp([2,2,3], 3, 5, 4, 0.5)
        let inputs = [x, w, r, b, lens, h0]
        let y = try NumericOpTest.run(.recurrent(Recurrent(kind: .rnn, direction: .bidirectional, hiddenSize: 3,
                                  activations: [.tanh, .relu], clip: nil,
                                  linearBeforeReset: false, inputForget: false, layout: 1)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,2,3],
                                  [0.462117195, -0.670967102, 0.274061561, 0, 1.34472656, 0, -0.309977829, -0.860176206, 0.886025786, 0,
                                   0.7578125, 0, -0.11350733, -0.0227993727, -0.0286732912, 0, 0.375, 0.1875, -0.809301078, 0.154990792,
                                   0.437188745, 0, 0, 0.6640625, 0.574981928, -0.748434663, 0.459727645, 0.0625, 0.9375, 0,
                                   0, 0, 0, 0, 0, 0])
        NumericOpTest.assertClose(y[1], shape: [2,2,3],
                                  [-0.11350733, -0.0227993727, -0.0286732912, 0, 1.34472656, 0, 0.574981928, -0.748434663, 0.459727645, 0,
                                   0, 0.6640625])
    }

    /// layout 1: onnxruntime run on the transposed layout-0 problem.
    func testLSTMBidirectionalBatchFirst() throws {
        let x = NumericOpTest.ramp([2,3,2], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([2,12,2], 5, 13, 8, 0.75)
        let r = NumericOpTest.ramp([2,12,3], 3, 7, 8, 0.375)
        let b = NumericOpTest.ramp([2,24], 5, 9, 8, 0.5)
        let lens = Tensor(.i32, [2], int64s: [1, 3])
        let h0 = NumericOpTest.ramp([2,2,3], 3, 5, 4, 0.5)
        let c0 = NumericOpTest.ramp([2,2,3], 2, 7, 4, 0.75)
        let p = NumericOpTest.ramp([2,9], 5, 11, 8, 0.625)
        let inputs = [x, w, r, b, lens, h0, c0, p]
        let y = try NumericOpTest.run(.recurrent(Recurrent(kind: .lstm, direction: .bidirectional, hiddenSize: 3,
                                  activations: [.sigmoid, .tanh, .tanh, .sigmoid, .tanh, .tanh], clip: nil,
                                  linearBeforeReset: false, inputForget: false, layout: 1)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,2,3],
                                  [-0.381663054, -0.304100156, 0.178389117, 0.0860262886, -0.20873262, -0.0897073895, 0, 0, 0, 0,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0.180516094, -0.0853189304,
                                   -0.0911351889, -0.145106718, 0.224735007, -0.049255047, -0.189776242, -0.259102941, 0.101201981, -0.0337199606, 0.133943662, -0.106364757,
                                   -0.0462212302, -0.00466434052, -0.0705951303, 0.00523069222, 0.409993023, 0.0152095314])
        NumericOpTest.assertClose(y[1], shape: [2,2,3],
                                  [-0.381663054, -0.304100156, 0.178389117, 0.0860262886, -0.20873262, -0.0897073895, -0.0462212302, -0.00466434052, -0.0705951303, -0.145106718,
                                   0.224735007, -0.049255047])
        NumericOpTest.assertClose(y[2], shape: [2,2,3],
                                  [-0.726942122, -0.457709581, 0.528174162, 0.154235139, -0.395355344, -0.134872913, -0.10597913, -0.00839689374, -0.107237175, -0.27578643,
                                   0.507969022, -0.162155628])
    }

    func testRecurrentTypeRuleErrors() {
        let lstm = Op.recurrent(Recurrent(kind: .lstm, direction: .forward, hiddenSize: 3, activations: [.sigmoid, .tanh, .tanh],
                                          clip: nil, linearBeforeReset: false, inputForget: false, layout: 0))
        let x = TensorType(.f32, [3, 2, 2]), w = TensorType(.f32, [1, 12, 2]), r = TensorType(.f32, [1, 12, 3])
        let b = TensorType(.f32, [1, 24]), lens = TensorType(.i32, [2]), state = TensorType(.f32, [1, 2, 3]), p = TensorType(.f32, [1, 9])
        XCTAssertEqual(try lstm.resultTypes([x, w, r, b, lens, state, state, p]),
                       [TensorType(.f32, [3, 1, 2, 3]), state, state])
        NumericOpTest.assertRejects(lstm, [x, TensorType(.f32, [1, 9, 2]), r, b, lens, state, state, p],
                                    "lstm: W must have shape [1,12,2], got [1,9,2]")
        NumericOpTest.assertRejects(lstm, [x, w, r, b, TensorType(.i64, [2]), state, state, p],
                                    "lstm: sequence_lens must be i32[2], got i64[2]")
        NumericOpTest.assertRejects(lstm, [x, w, r, b, lens, state],
                                    "lstm takes 8 operands, got 6")
        let gru = Op.recurrent(Recurrent(kind: .gru, direction: .bidirectional, hiddenSize: 3, activations: [.sigmoid, .tanh, .sigmoid],
                                         clip: nil, linearBeforeReset: false, inputForget: false, layout: 0))
        NumericOpTest.assertRejects(gru, [x, TensorType(.f32, [2, 9, 2]), TensorType(.f32, [2, 9, 3]), TensorType(.f32, [2, 18]),
                                          lens, TensorType(.f32, [2, 2, 3])],
                                    "gru: expected 4 activations (2 per direction), got 3")
    }
}
