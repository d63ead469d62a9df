// Reference evaluation of RNN, GRU and LSTM (ONNX equations, gate orders and layouts).

import Foundation

extension Recurrent {
    /// Algorithm: for each direction and each batch entry separately, run the cell over
    /// that entry's own length `len = min(sequence_lens[b], seq)` — forward over steps
    /// 0..<len, reverse from len-1 down to 0 — starting from initial_h (and initial_c).
    /// Each step computes `gx = W·x_t + Wb` and `gh = R·h + Rb` for all gates, then the
    /// cell update (`step`). Y rows past `len` stay zero; Y_h / Y_c hold the state after
    /// the last valid step.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        if let q = dynQuant { return evaluateDynQuant(q, operands, results: results) }
        let g = gateCount * hiddenSize
        return sweep(operands, results) { cell, xs, xOff, hs, cs in
            var gx = [Double](repeating: 0, count: g), gh = gx
            cell.step(xs, xOff, h: &hs, c: &cs, gx: &gx, gh: &gh)
        }
    }

    typealias Stepper = (_ cell: Cell, _ xs: [Double], _ xOff: Int, _ hs: inout [Double], _ cs: inout [Double]) -> Void

    /// The directions, batch entries and steps of `evaluate`; `step` advances one state.
    func sweep(_ operands: [Tensor], _ results: [TensorType], step: Stepper) -> [Tensor] {
        let xs = operands[0].doubles, w = operands[1].doubles, r = operands[2].doubles
        let bias = operands[3].doubles, lens = operands[4].int64s, h0 = operands[5].doubles
        let c0 = kind == .lstm ? operands[6].doubles : [], peep = kind == .lstm ? operands[7].doubles : []
        let xShape = operands[0].shape
        let (seq, batch) = layout == 0 ? (xShape[0], xShape[1]) : (xShape[1], xShape[0])
        let input = xShape[2], h = hiddenSize, d = direction.count, per = activationsPerDirection

        var y = [Double](repeating: 0, count: results[0].shape.elementCount)
        var yh = [Double](repeating: 0, count: results[1].shape.elementCount)
        var yc = [Double](repeating: 0, count: kind == .lstm ? results[2].shape.elementCount : 0)
        func xIndex(_ t: Int, _ b: Int) -> Int { layout == 0 ? (t * batch + b) * input : (b * seq + t) * input }
        func yIndex(_ t: Int, _ dir: Int, _ b: Int) -> Int { layout == 0 ? ((t * d + dir) * batch + b) * h : ((b * seq + t) * d + dir) * h }
        func stateIndex(_ dir: Int, _ b: Int) -> Int { layout == 0 ? (dir * batch + b) * h : (b * d + dir) * h }

        for dir in 0..<d {
            let reverse = direction == .reverse || dir == 1
            let acts = activations.count == per ? activations : Array(activations[(dir * per)..<((dir + 1) * per)])
            let cell = Cell(recurrent: self, acts: acts, w: w, r: r, bias: bias, peep: peep, dir: dir, input: input)
            for b in 0..<batch {
                let len = Int(min(max(lens[b], 0), Int64(seq)))
                var hs = Array(h0[stateIndex(dir, b)..<(stateIndex(dir, b) + h)])
                var cs = kind == .lstm ? Array(c0[stateIndex(dir, b)..<(stateIndex(dir, b) + h)]) : []
                for s in 0..<len {
                    let t = reverse ? len - 1 - s : s
                    step(cell, xs, xIndex(t, b), &hs, &cs)
                    for j in 0..<h { y[yIndex(t, dir, b) + j] = hs[j] }
                }
                for j in 0..<h { yh[stateIndex(dir, b) + j] = hs[j] }
                if kind == .lstm { for j in 0..<h { yc[stateIndex(dir, b) + j] = cs[j] } }
            }
        }
        let dtype = results[0].dtype
        var out = [Tensor(dtype, results[0].shape, doubles: y), Tensor(dtype, results[1].shape, doubles: yh)]
        if kind == .lstm { out.append(Tensor(dtype, results[2].shape, doubles: yc)) }
        return out
    }

    /// One direction's weights and the cell equations.
    struct Cell {
        let recurrent: Recurrent
        let acts: [RecurrentActivation]
        let w: [Double], r: [Double], bias: [Double], peep: [Double]
        let wOff: Int, rOff: Int, bOff: Int, pOff: Int
        let dir: Int, input: Int, h: Int, g: Int

        init(recurrent: Recurrent, acts: [RecurrentActivation], w: [Double], r: [Double], bias: [Double],
             peep: [Double], dir: Int, input: Int) {
            self.recurrent = recurrent; self.acts = acts
            self.w = w; self.r = r; self.bias = bias; self.peep = peep
            self.dir = dir; self.input = input; h = recurrent.hiddenSize; g = recurrent.gateCount
            wOff = dir * g * h * input; rOff = dir * g * h * h; bOff = dir * 2 * g * h; pOff = dir * 3 * h
        }

        private func clip(_ v: Double) -> Double {
            guard let c = recurrent.clip else { return v }
            return min(max(v, -Double(c)), Double(c))
        }

        /// Advances the state by one time step whose input row starts at `xs[xOff]`.
        func step(_ xs: [Double], _ xOff: Int, h hs: inout [Double], c cs: inout [Double],
                  gx: inout [Double], gh: inout [Double]) {
            for j in 0..<(g * h) {
                var sx = bias[bOff + j], sh = bias[bOff + g * h + j]
                for i in 0..<input { sx += w[wOff + j * input + i] * xs[xOff + i] }
                for k in 0..<h { sh += r[rOff + j * h + k] * hs[k] }
                gx[j] = sx; gh[j] = sh
            }
            update(gx: gx, gh: gh, h: &hs, c: &cs) { rh in
                (0..<h).map { j in
                    var s = bias[bOff + g * h + 2 * h + j]
                    for k in 0..<h { s += r[rOff + (2 * h + j) * h + k] * rh[k] }
                    return s
                }
            }
        }

        /// The cell update from the gate pre-activations `gx = W·x_t + Wb` and `gh = R·h + Rb`.
        /// `resetProduct(r ⊙ h)` is GRU's h-gate term `Rh·(r ⊙ h) + Rbh` (without
        /// linear_before_reset).
        func update(gx: [Double], gh: [Double], h hs: inout [Double], c cs: inout [Double],
                    resetProduct: ([Double]) -> [Double]) {
            switch recurrent.kind {
            case .rnn:
                // H = f(W x + R h + Wb + Rb)
                for j in 0..<h { hs[j] = activate(acts[0], clip(gx[j] + gh[j])) }
            case .gru:
                // z = f(..), r = f(..); candidate uses (r ⊙ h)·Rh + Rbh, or r ⊙ (h·Rh + Rbh)
                // with linear_before_reset; H = (1 - z) ⊙ candidate + z ⊙ H.
                let z = (0..<h).map { activate(acts[0], clip(gx[$0] + gh[$0])) }
                let reset = (0..<h).map { activate(acts[0], clip(gx[h + $0] + gh[h + $0])) }
                let product = recurrent.linearBeforeReset ? [] : resetProduct((0..<h).map { reset[$0] * hs[$0] })
                var next = hs
                for j in 0..<h {
                    var pre = gx[2 * h + j]
                    if recurrent.linearBeforeReset {
                        pre += reset[j] * gh[2 * h + j]
                    } else {
                        pre += product[j]
                    }
                    let candidate = activate(acts[1], clip(pre))
                    next[j] = (1 - z[j]) * candidate + z[j] * hs[j]
                }
                hs = next
            case .lstm:
                // Gates i, o, f, c; peepholes P = [Pi, Po, Pf].
                for j in 0..<h {
                    let i = activate(acts[0], clip(gx[j] + gh[j] + peep[pOff + j] * cs[j]))
                    let f = recurrent.inputForget ? 1 - i
                        : activate(acts[0], clip(gx[2 * h + j] + gh[2 * h + j] + peep[pOff + 2 * h + j] * cs[j]))
                    let candidate = activate(acts[1], clip(gx[3 * h + j] + gh[3 * h + j]))
                    let c = f * cs[j] + i * candidate
                    let o = activate(acts[0], clip(gx[h + j] + gh[h + j] + peep[pOff + h + j] * c))
                    cs[j] = c
                    hs[j] = o * activate(acts[2], c)
                }
            }
        }
    }
}

/// The ONNX recurrent activation functions.
private func activate(_ a: RecurrentActivation, _ x: Double) -> Double {
    switch a {
    case .relu: return max(0, x)
    case .tanh: return tanh(x)
    case .sigmoid: return 1 / (1 + exp(-x))
    case .softsign: return x / (1 + abs(x))
    case .softplus: return log(1 + exp(x))
    case .affine(let alpha, let beta): return Double(alpha) * x + Double(beta)
    case .leakyRelu(let alpha): return x >= 0 ? x : Double(alpha) * x
    case .thresholdedRelu(let alpha): return x > Double(alpha) ? x : 0
    case .scaledTanh(let alpha, let beta): return Double(alpha) * tanh(Double(beta) * x)
    case .hardSigmoid(let alpha, let beta): return max(0, min(1, Double(alpha) * x + Double(beta)))
    case .elu(let alpha): return x >= 0 ? x : Double(alpha) * (exp(x) - 1)
    }
}
