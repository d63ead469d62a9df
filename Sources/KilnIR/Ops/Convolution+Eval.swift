// Reference evaluation of conv and conv_transpose.
//
// Both run in Double over flat row-major arrays with the spatial axes padded to three
// (`WindowGeometry`). The innermost loop walks one output row (conv) or one input row
// (conv_transpose) between bounds precomputed per kernel tap, so it needs neither
// bounds tests nor index arithmetic beyond one multiply-add per element.

extension Conv {
    /// Algorithm (direct convolution, one weight at a time):
    /// 1. Fill every output plane with its bias (or zero).
    /// 2. For each output channel m and each input channel c of m's group, for each kernel
    ///    tap (kd, kh, kw) with weight v: add `v * x[c, o*stride - pad + k*dilation]` to
    ///    `y[m, o]` for all output positions o whose input position is inside the input
    ///    (the ranges are computed once per tap by `WindowGeometry.outputRange`).
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0], w = operands[1], out = results[0]
        let n = x.shape[0], c = x.shape[1], m = w.shape[0]
        let geo = WindowGeometry(input: Array(x.shape.dims[2...]), output: Array(out.shape.dims[2...]),
                                 kernel: Array(w.shape.dims[2...]), strides: strides, pads: pads, dilations: dilations)
        let cg = c / group, mg = m / group
        let inCount = geo.inputCount, outCount = geo.outputCount, kCount = geo.kernelCount
        let (ih, iw) = (geo.input[1], geo.input[2])
        let (oh, ow) = (geo.output[1], geo.output[2])
        let (kh, kw) = (geo.kernel[1], geo.kernel[2])
        let (sd, sh, sw) = (geo.strides[0], geo.strides[1], geo.strides[2])
        let ranges = (0..<3).map { axis in (0..<geo.kernel[axis]).map { geo.outputRange(axis: axis, tap: $0) } }
        let xs = x.doubles, ws = w.doubles
        let bias = operands.count == 3 ? operands[2].doubles : [Double](repeating: 0, count: m)
        var y = [Double](repeating: 0, count: out.shape.elementCount)

        xs.withUnsafeBufferPointer { xp in
        ws.withUnsafeBufferPointer { wp in
        y.withUnsafeMutableBufferPointer { yp in
            for b in 0..<n {
                for oc in 0..<m {
                    let yBase = (b * m + oc) * outCount
                    for i in 0..<outCount { yp[yBase + i] = bias[oc] }
                    let g = oc / mg
                    for ci in 0..<cg {
                        let xBase = (b * c + g * cg + ci) * inCount
                        let wBase = (oc * cg + ci) * kCount
                        for kz in 0..<geo.kernel[0] {
                            let zOff = kz * geo.dilations[0] - geo.padBegin[0]
                            for ky in 0..<kh {
                                let yOff = ky * geo.dilations[1] - geo.padBegin[1]
                                for kx in 0..<kw {
                                    let xOff = kx * geo.dilations[2] - geo.padBegin[2]
                                    let v = wp[wBase + (kz * kh + ky) * kw + kx]
                                    let xr = ranges[2][kx]
                                    for oz in ranges[0][kz] {
                                        let iz = oz * sd + zOff
                                        for oy in ranges[1][ky] {
                                            let iy = oy * sh + yOff
                                            let src = xBase + (iz * ih + iy) * iw + xOff
                                            let dst = yBase + (oz * oh + oy) * ow
                                            for ox in xr { yp[dst + ox] += v * xp[src + ox * sw] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
        }
        return [Tensor(out.dtype, out.shape, doubles: y)]
    }
}

extension ConvTranspose {
    /// Algorithm (scatter, the adjoint of conv): for each input channel c, each output
    /// channel m of c's group and each kernel tap k with weight v, add `v * x[c, i]` to
    /// `y[m, i*stride - pad + k*dilation]` for every input position i whose target lies
    /// inside the output; then add the bias.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0], w = operands[1], out = results[0]
        let n = x.shape[0], c = x.shape[1], m = out.shape[1]
        // Roles of input and output swap relative to conv: ranges are over input positions.
        let geo = WindowGeometry(input: Array(out.shape.dims[2...]), output: Array(x.shape.dims[2...]),
                                 kernel: Array(w.shape.dims[2...]), strides: strides, pads: pads, dilations: dilations)
        let cg = c / group, mg = m / group
        let inCount = geo.outputCount, outCount = geo.inputCount, kCount = geo.kernelCount
        let (ih, iw) = (geo.output[1], geo.output[2])
        let (oh, ow) = (geo.input[1], geo.input[2])
        let (kh, kw) = (geo.kernel[1], geo.kernel[2])
        let (sd, sh, sw) = (geo.strides[0], geo.strides[1], geo.strides[2])
        let ranges = (0..<3).map { axis in (0..<geo.kernel[axis]).map { geo.outputRange(axis: axis, tap: $0) } }
        let xs = x.doubles, ws = w.doubles
        var y = [Double](repeating: 0, count: out.shape.elementCount)

        xs.withUnsafeBufferPointer { xp in
        ws.withUnsafeBufferPointer { wp in
        y.withUnsafeMutableBufferPointer { yp in
            for b in 0..<n {
                for ic in 0..<c {
                    let g = ic / cg
                    let xBase = (b * c + ic) * inCount
                    for mi in 0..<mg {
                        let yBase = (b * m + g * mg + mi) * outCount
                        let wBase = (ic * mg + mi) * kCount
                        for kz in 0..<geo.kernel[0] {
                            let zOff = kz * geo.dilations[0] - geo.padBegin[0]
                            for ky in 0..<kh {
                                let yOff = ky * geo.dilations[1] - geo.padBegin[1]
                                for kx in 0..<kw {
                                    let xOff = kx * geo.dilations[2] - geo.padBegin[2]
                                    let v = wp[wBase + (kz * kh + ky) * kw + kx]
                                    let xr = ranges[2][kx]
                                    for iz in ranges[0][kz] {
                                        let oz = iz * sd + zOff
                                        for iy in ranges[1][ky] {
                                            let oy = iy * sh + yOff
                                            let src = xBase + (iz * ih + iy) * iw
                                            let dst = yBase + (oz * oh + oy) * ow + xOff
                                            for ix in xr { yp[dst + ix * sw] += v * xp[src + ix] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if operands.count == 3 {
                let bias = operands[2].doubles
                for b in 0..<n {
                    for oc in 0..<m {
                        let base = (b * m + oc) * outCount
                        for i in 0..<outCount { yp[base + i] += bias[oc] }
                    }
                }
            }
        }
        }
        }
        return [Tensor(out.dtype, out.shape, doubles: y)]
    }
}
