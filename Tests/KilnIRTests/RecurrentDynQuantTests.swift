import XCTest
@testable import KilnIR

/// Dynamically quantized RNN / GRU / LSTM (`Recurrent.dynQuant`): a hand-computed RNN whose
/// rows quantize exactly, the quantized op against the f32 op on its dequantized weights
/// (close, not equal: x_t and h are rounded to u8), and the type rule's errors.
final class RecurrentDynQuantTests: XCTestCase {
    /// RNN, identity activation, hidden 1, input 2, seq 2, h0 0; Wb 0.25, Rb 0.5.
    /// Step 1: x = [2, -1] → scale 3/255, zp 85, q − zp = [170, −85]; acc = 170·127 − 85·64 =
    /// 16150 → gx = 16150 · (3/255) · 0.5 + 0.25 = 95.25; h0 = 0 has no range → gh = Rb;
    /// h = 95.75. Step 2: x = 0 → gx = 0.25; h = 95.75 → q 255, acc 255·100 →
    /// gh = 95.75 · 0.01·100 + 0.5 = 96.25; h = 96.5.
    func testHandComputedRNN() throws {
        var rnn = Recurrent(kind: .rnn, direction: .forward, hiddenSize: 1, activations: [.affine(alpha: 1, beta: 0)],
                            clip: nil, linearBeforeReset: false, inputForget: false, layout: 0)
        rnn.dynQuant = RecurrentDynQuant(wScales: [0.5], rScales: [0.01])
        let inputs = [Tensor([2, 1, 2], floats: [2, -1, 0, 0]), Tensor(.i8, [1, 1, 2], int64s: [127, 64]),
                      Tensor(.i8, [1, 1, 1], int64s: [100]), Tensor([1, 2], floats: [0.25, 0.5]),
                      Tensor(.i32, [1], int64s: [2]), Tensor([1, 1, 1], floats: [0])]
        let y = try NumericOpTest.runGraph(.recurrent(rnn), inputs)
        NumericOpTest.assertClose(y[0], shape: [2, 1, 1, 1], [95.75, 96.5], tolerance: 1e-6)
        NumericOpTest.assertClose(y[1], shape: [1, 1, 1], [96.5], tolerance: 1e-6)
    }

    /// Per-row symmetric i8 of w ([rows, k]): scale max|row| / 127.
    private func quantized(_ w: Tensor) -> (Tensor, [Float], Tensor) {
        let k = w.shape[2], rows = w.count / k, xs = w.floats
        var q = [Int64](), scales = [Float](), back = [Float]()
        for j in 0..<rows {
            let row = xs[(j * k)..<((j + 1) * k)], s = max(row.map(abs).max()!, 1e-6) / 127
            scales.append(s)
            for v in row {
                let i = (v / s).rounded(.toNearestOrEven)
                q.append(Int64(i)); back.append(i * s)
            }
        }
        return (Tensor(.i8, w.shape, int64s: q), scales, Tensor(w.shape, floats: back))
    }

    /// Every gate of every direction reads its own rows and scales: the quantized op stays
    /// within the u8 rounding of x and h of the f32 op on the dequantized weights (ramp
    /// inputs of magnitude ≤ 1.5; a wrong row, scale or bias offset moves outputs by ~0.1+).
    func testCloseToFloatOnDequantizedWeights() throws {
        let cases: [(RecurrentKind, RecurrentDirection, Bool, [RecurrentActivation])] = [
            (.lstm, .bidirectional, false, [.sigmoid, .tanh, .tanh, .sigmoid, .tanh, .tanh]),
            (.gru, .forward, false, [.sigmoid, .tanh]),
            (.gru, .reverse, true, [.sigmoid, .tanh]),
        ]
        for (kind, direction, lbr, acts) in cases {
            let d = direction.count, h = 3, g = kind == .lstm ? 4 : 3
            var op = Recurrent(kind: kind, direction: direction, hiddenSize: h, activations: acts, clip: nil,
                               linearBeforeReset: lbr, inputForget: false, layout: 0)
            let (wq, ws, wf) = quantized(NumericOpTest.ramp([d, g * h, 2], 5, 13, 8, 0.75))
            let (rq, rs, rf) = quantized(NumericOpTest.ramp([d, g * h, h], 3, 7, 8, 0.375))
            var rest = [NumericOpTest.ramp([d, 2 * g * h], 5, 9, 8, 0.5), Tensor(.i32, [2], int64s: [4, 3]),
                        NumericOpTest.ramp([d, 2, h], 3, 5, 4, 0.5)]
            if kind == .lstm { rest += [NumericOpTest.ramp([d, 2, h], 2, 7, 4, 0.75), NumericOpTest.ramp([d, 3 * h], 5, 11, 8, 0.625)] }
            let x = NumericOpTest.ramp([4, 2, 2], 7, 11, 4, 1)
            let want = try NumericOpTest.run(.recurrent(op), [x, wf, rf] + rest)
            op.dynQuant = RecurrentDynQuant(wScales: ws, rScales: rs)
            let got = try NumericOpTest.run(.recurrent(op), [x, wq, rq] + rest)
            for (a, b) in zip(got, want) {
                NumericOpTest.assertClose(a, shape: b.shape, b.doubles, tolerance: 0.02)
                XCTAssertNotEqual(a.doubles, b.doubles, "\(kind) \(direction): quantization must change something")
            }
        }
    }

    func testTypeRuleErrors() {
        var op = Recurrent(kind: .gru, direction: .forward, hiddenSize: 1, activations: [.sigmoid, .tanh], clip: nil,
                           linearBeforeReset: false, inputForget: false, layout: 0)
        op.dynQuant = RecurrentDynQuant(wScales: [1, 1, 1], rScales: [1, 1])
        let types = [TensorType(.f32, [2, 1, 2]), TensorType(.i8, [1, 3, 2]), TensorType(.i8, [1, 3, 1]),
                     TensorType(.f32, [1, 6]), TensorType(.i32, [1]), TensorType(.f32, [1, 1, 1])]
        XCTAssertThrowsError(try Op.recurrent(op).resultTypes(types)) { e in
            XCTAssertEqual("\(e)", "gru: r_scales has 2 values, expected 3 (one per row)")
        }
        op.dynQuant = RecurrentDynQuant(wScales: [1, 1, 1], rScales: [1, 0, 1])
        XCTAssertThrowsError(try Op.recurrent(op).resultTypes(types)) { e in
            XCTAssertEqual("\(e)", "gru: r_scales must be positive and finite")
        }
        op.dynQuant = RecurrentDynQuant(wScales: [1, 1, 1], rScales: [1, 1, 1])
        var f32W = types
        f32W[1] = TensorType(.f32, [1, 3, 2])
        XCTAssertThrowsError(try Op.recurrent(op).resultTypes(f32W)) { e in
            XCTAssertEqual("\(e)", "gru: W has dtype f32, expected i8")
        }
        XCTAssertEqual(try Op.recurrent(op).resultTypes(types).count, 2)
    }
}
