// Reference evaluation of a dynamically quantized RNN / GRU / LSTM (quantize-dynamic).

extension Recurrent {
    /// The f32 op's steps and cell equations (`sweep`, `Cell.update`), with every product
    /// against W or R taken in int8 as dyn_quant_mat_mul takes it (DynamicQuant.swift):
    /// the row (x_t, h_{t-1}, or GRU's r ⊙ h_{t-1}) gets its own u8 range (`DynamicRange`),
    /// then for each weight row j (i8, scale s[j])
    ///   acc = Σ_k (q[k] - zp) · w_q[j, k]                  (exact, int32)
    ///   out[j] = fma(f32(acc), scale · s[j], bias[j])      (f32; scale 0 when the range is unusable)
    /// with bias Wb for `gx`, Rb for `gh` (Rbh for GRU's reset product). The gate math then
    /// runs as in the f32 op. DYN_QRECURRENT (Runtime/src/kernels/dynq_rnn.c) computes the
    /// same products bit for bit; the gate math in f32 there, in Double here.
    func evaluateDynQuant(_ q: RecurrentDynQuant, _ operands: [Tensor], results: [TensorType]) -> [Tensor] {
        let h = hiddenSize, gh = gateCount * h
        return sweep(operands, results) { cell, xs, xOff, hs, cs in
            let row = cell.dir * gh
            let x = (0..<cell.input).map { Float(xs[xOff + $0]) }
            let gx = Recurrent.dynQuantRows(x, cell.w, cell.wOff, rows: gh, q.wScales, row, cell.bias, cell.bOff)
            let gr = Recurrent.dynQuantRows(hs.map { Float($0) }, cell.r, cell.rOff, rows: gh, q.rScales, row,
                                            cell.bias, cell.bOff + gh)
            cell.update(gx: gx, gh: gr, h: &hs, c: &cs) { rh in
                Recurrent.dynQuantRows(rh.map { Float($0) }, cell.r, cell.rOff + 2 * h * h, rows: h, q.rScales, row + 2 * h,
                                       cell.bias, cell.bOff + gh + 2 * h)
            }
        }
    }

    /// `rows` outputs of the recipe above: weight row j is `w[wOff + j·K ..< wOff + (j+1)·K]`
    /// (i8 values held as Double), its scale `scales[sOff + j]`, its bias `bias[bOff + j]`.
    static func dynQuantRows(_ x: [Float], _ w: [Double], _ wOff: Int, rows: Int, _ scales: [Float], _ sOff: Int,
                             _ bias: [Double], _ bOff: Int) -> [Double] {
        let range = DynamicRange(x), k = x.count
        let zp = range.usable ? range.zeroPoint : 0
        let q = x.map { range.quantize($0) - zp }
        return (0..<rows).map { j in
            var acc = 0
            for i in 0..<k { acc += q[i] * Int(w[wOff + j * k + i]) }
            let m = range.usable ? range.scale * scales[sOff + j] : 0
            return Double(Float(bias[bOff + j]).addingProduct(Float(Int32(truncatingIfNeeded: acc)), m))
        }
    }
}
