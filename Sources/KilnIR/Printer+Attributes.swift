/// An attribute value as the text form spells it.
indirect enum AttributeValue {
    case int(Int)
    /// Shortest round-trip decimal (`0.01`, `1e-05`, `inf`, `nan`).
    case float(Float)
    case double(Double)
    case bool(Bool)
    /// A bare identifier: an enum value or a dtype (`half_pixel`, `f16`).
    case word(String)
    case string(String)
    case list([AttributeValue])
    /// `affine(alpha = 1.5, beta = 0.5)`
    case call(String, [(String, AttributeValue)])

    var text: String {
        switch self {
        case .int(let v): return String(v)
        case .float(let v): return v.description
        case .double(let v): return v.description
        case .bool(let v): return v ? "true" : "false"
        case .word(let w): return w
        case .string(let s): return Printer.quoted(s)
        case .list(let items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .call(let name, let args):
            return name + "(" + args.map { "\($0.0) = \($0.1.text)" }.joined(separator: ", ") + ")"
        }
    }
}

extension Printer {
    /// The attributes of `op` in its struct's field order, snake_case names. Optional fields
    /// appear only when set; variants spelled by the mnemonic (pool kind, softmax `log`,
    /// reduce kind, arg max/min, recurrent kind) do not repeat here.
    static func attributes(of op: Op) -> [(String, AttributeValue)] {
        let own = ownAttributes(of: op)
        guard let act = op.fusedActivation else { return own }
        return own + [("activation", activationValue(act))]
    }

    /// `relu`, `leaky_relu(alpha = 0.1)`, `clip(min = 0.0, max = 6.0)`: the activation's
    /// mnemonic, with its attributes as a call when it has any.
    static func activationValue(_ a: FusedActivation) -> AttributeValue {
        let args = ownAttributes(of: a.op)
        return args.isEmpty && a.mnemonic != "clip" ? .word(a.mnemonic) : .call(a.mnemonic, args)
    }

    /// The attributes of `op` without its fused activation.
    private static func ownAttributes(of op: Op) -> [(String, AttributeValue)] {
        switch op {
        case .constant, .binary, .where, .matMul, .identity, .sizeOf, .dynamicQuantParams, .qlinearLookup:
            return []
        case .unary(let u):
            return unaryAttributes(u)
        case .clip(let a):
            var out: [(String, AttributeValue)] = []
            if let min = a.min { out.append(("min", .float(min))) }
            if let max = a.max { out.append(("max", .float(max))) }
            return out
        case .cast(let a):
            return [("to", .word(a.to.rawValue))]
        case .conv(let a):
            return [("strides", ints(a.strides)), ("pads", ints(a.pads)), ("dilations", ints(a.dilations)),
                    ("group", .int(a.group))]
        case .convTranspose(let a):
            return [("strides", ints(a.strides)), ("pads", ints(a.pads)), ("dilations", ints(a.dilations)),
                    ("output_padding", ints(a.outputPadding)), ("group", .int(a.group))]
        case .pool(let a):
            var out: [(String, AttributeValue)] = []
            switch a.kind {
            case .max, .average: break
            case .lp(let p): out.append(("p", .int(p)))
            }
            return out + [("kernel", ints(a.kernel)), ("strides", ints(a.strides)), ("pads", ints(a.pads)),
                          ("dilations", ints(a.dilations)), ("ceil_mode", .bool(a.ceilMode)),
                          ("count_include_pad", .bool(a.countIncludePad))]
        case .batchNorm(let a):
            return [("epsilon", .float(a.epsilon))]
        case .instanceNorm(let a):
            return [("epsilon", .float(a.epsilon))]
        case .layerNorm(let a):
            return [("axis", .int(a.axis)), ("epsilon", .float(a.epsilon))]
        case .groupNorm(let a):
            return [("groups", .int(a.groups)), ("epsilon", .float(a.epsilon))]
        case .lrn(let a):
            return [("size", .int(a.size)), ("alpha", .float(a.alpha)), ("beta", .float(a.beta)),
                    ("bias", .float(a.bias))]
        case .softmax(let a):
            return [("axis", .int(a.axis))]
        case .reduce(let a):
            return [("axes", ints(a.axes)), ("keep_dims", .bool(a.keepDims))]
        case .argReduce(let a):
            return [("axis", .int(a.axis)), ("keep_dims", .bool(a.keepDims)),
                    ("select_last_index", .bool(a.selectLastIndex))]
        case .cumSum(let a):
            return [("axis", .int(a.axis)), ("exclusive", .bool(a.exclusive)), ("reverse", .bool(a.reverse))]
        case .topK(let a):
            return [("axis", .int(a.axis)), ("k", .int(a.k)), ("largest", .bool(a.largest)),
                    ("sorted", .bool(a.sorted))]
        case .gemm(let a):
            return [("alpha", .float(a.alpha)), ("beta", .float(a.beta)), ("trans_a", .bool(a.transA)),
                    ("trans_b", .bool(a.transB))]
        case .einsum(let a):
            return [("equation", .string(a.equation))]
        case .reshape(let a):
            return [("shape", ints(a.shape))]
        case .transpose(let a):
            return [("perm", ints(a.perm))]
        case .concat(let a):
            return [("axis", .int(a.axis))]
        case .split(let a):
            return [("axis", .int(a.axis)), ("sizes", ints(a.sizes))]
        case .slice(let a):
            return [("starts", ints(a.starts)), ("ends", ints(a.ends)), ("axes", ints(a.axes)),
                    ("steps", ints(a.steps))]
        case .expand(let a):
            return [("shape", ints(a.shape))]
        case .tile(let a):
            return [("repeats", ints(a.repeats))]
        case .pad(let a):
            return [("mode", .word(a.mode.rawValue)), ("pads", ints(a.pads)), ("value", .double(a.value))]
        case .depthToSpace(let a):
            return [("block_size", .int(a.blockSize)), ("crd", .bool(a.crd))]
        case .spaceToDepth(let a):
            return [("block_size", .int(a.blockSize))]
        case .gather(let a):
            return [("axis", .int(a.axis))]
        case .gatherElements(let a):
            return [("axis", .int(a.axis))]
        case .shapeOf(let a):
            return [("start", .int(a.start)), ("end", .int(a.end))]
        case .range(let a):
            return [("count", .int(a.count))]
        case .oneHot(let a):
            return [("axis", .int(a.axis)), ("depth", .int(a.depth))]
        case .trilu(let a):
            return [("upper", .bool(a.upper)), ("k", .int(a.k))]
        case .resize(let a):
            return [("mode", .word(a.mode.rawValue)), ("coordinate_transform", .word(a.coordinateTransform.rawValue)),
                    ("nearest_mode", .word(a.nearestMode.rawValue)), ("cubic_coeff_a", .float(a.cubicCoeffA)),
                    ("exclude_outside", .bool(a.excludeOutside)), ("extrapolation_value", .float(a.extrapolationValue)),
                    ("antialias", .bool(a.antialias)), ("scales", floats(a.scales)), ("sizes", ints(a.sizes)),
                    ("roi", floats(a.roi))]
        case .recurrent(let a):
            var out: [(String, AttributeValue)] = [
                ("direction", .word(a.direction.rawValue)), ("hidden_size", .int(a.hiddenSize)),
                ("activations", .list(a.activations.map(activationValue))),
            ]
            if let clip = a.clip { out.append(("clip", .float(clip))) }
            out += [("linear_before_reset", .bool(a.linearBeforeReset)), ("input_forget", .bool(a.inputForget)),
                    ("layout", .int(a.layout))]
            if let q = a.dynQuant { out += [("w_scales", floats(q.wScales)), ("r_scales", floats(q.rScales))] }
            return out
        case .quantizeLinear(let a):
            var out: [(String, AttributeValue)] = []
            if let axis = a.axis { out.append(("axis", .int(axis))) }
            return out + [("block_size", .int(a.blockSize)), ("output_type", .word(a.outputType.rawValue))]
        case .dequantizeLinear(let a):
            var out: [(String, AttributeValue)] = []
            if let axis = a.axis { out.append(("axis", .int(axis))) }
            return out + [("block_size", .int(a.blockSize))]
        case .attention(let a):
            return [("scale", .float(a.scale)), ("k_transposed", .bool(a.kTransposed))]
        case .qlinearConv(let a):
            return attributes(of: .conv(a.conv)) + qlinearAttributes(a.quant)
        case .qlinearMatMul(let a):
            return qlinearAttributes(a.quant)
        case .qlinearAdd(let a):
            return [("a_scale", .float(a.aScale)), ("a_zero_point", .int(a.aZeroPoint)), ("b_scale", .float(a.bScale)),
                    ("b_zero_point", .int(a.bZeroPoint)), ("y_scale", .float(a.yScale)), ("y_zero_point", .int(a.yZeroPoint)),
                    ("y_min", .int(a.yMin)), ("y_max", .int(a.yMax))]
        case .qlinearConcat(let a):
            return [("axis", .int(a.axis)), ("x_scales", floats(a.xScales)), ("x_zero_points", ints(a.xZeroPoints)),
                    ("y_scale", .float(a.yScale)), ("y_zero_point", .int(a.yZeroPoint))]
        case .qlinearGlobalAveragePool(let a):
            return [("x_scale", .float(a.xScale)), ("x_zero_point", .int(a.xZeroPoint)), ("y_scale", .float(a.yScale)),
                    ("y_zero_point", .int(a.yZeroPoint))]
        case .dynQuantMatMul(let a):
            return [("w_scales", floats(a.wScales)), ("per_row", .bool(a.perRow))]
        }
    }

    static func unaryAttributes(_ u: UnaryOp) -> [(String, AttributeValue)] {
        switch u {
        case .abs, .neg, .exp, .log, .sqrt, .reciprocal, .floor, .ceil, .round, .sign, .erf,
             .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh,
             .not, .isNaN, .isInf, .relu, .sigmoid, .tanh, .softplus, .softsign, .mish, .hardSwish, .silu:
            return []
        case .leakyRelu(let alpha), .elu(let alpha), .celu(let alpha), .thresholdedRelu(let alpha):
            return [("alpha", .float(alpha))]
        case .selu(let alpha, let gamma):
            return [("alpha", .float(alpha)), ("gamma", .float(gamma))]
        case .hardSigmoid(let alpha, let beta):
            return [("alpha", .float(alpha)), ("beta", .float(beta))]
        case .gelu(let tanh):
            return [("tanh", .bool(tanh))]
        }
    }

    /// `sigmoid`, `affine(alpha = 1.5, beta = 0.5)`, …
    static func activationValue(_ a: RecurrentActivation) -> AttributeValue {
        switch a {
        case .relu: return .word("relu")
        case .tanh: return .word("tanh")
        case .sigmoid: return .word("sigmoid")
        case .softsign: return .word("softsign")
        case .softplus: return .word("softplus")
        case .affine(let alpha, let beta): return .call("affine", [("alpha", .float(alpha)), ("beta", .float(beta))])
        case .leakyRelu(let alpha): return .call("leaky_relu", [("alpha", .float(alpha))])
        case .thresholdedRelu(let alpha): return .call("thresholded_relu", [("alpha", .float(alpha))])
        case .scaledTanh(let alpha, let beta):
            return .call("scaled_tanh", [("alpha", .float(alpha)), ("beta", .float(beta))])
        case .hardSigmoid(let alpha, let beta):
            return .call("hard_sigmoid", [("alpha", .float(alpha)), ("beta", .float(beta))])
        case .elu(let alpha): return .call("elu", [("alpha", .float(alpha))])
        }
    }

    private static func ints(_ values: [Int]) -> AttributeValue { .list(values.map { .int($0) }) }

    private static func qlinearAttributes(_ q: QLinearParams) -> [(String, AttributeValue)] {
        [("x_scale", .float(q.xScale)), ("x_zero_point", .int(q.xZeroPoint)), ("w_scales", floats(q.wScales)),
         ("y_scale", .float(q.yScale)), ("y_zero_point", .int(q.yZeroPoint)), ("y_min", .int(q.yMin)), ("y_max", .int(q.yMax))]
    }
    private static func floats(_ values: [Float]) -> AttributeValue { .list(values.map { .float($0) }) }
}
