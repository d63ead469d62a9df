/// Mnemonic + attributes → `Op`: the inverse of `Op.mnemonic` and `Printer.attributes(of:)`.
/// Attribute names and order follow the printer; see Printer+Attributes.swift.
extension Parser {
    /// The op spelled `mnemonic`, reading its attributes from `a`; nil for an unknown mnemonic.
    /// `constant` is not handled here (its data has its own syntax).
    static func makeOp(_ mnemonic: String, _ a: inout AttributeReader) throws -> Op? {
        if let u = plainUnaryOps[mnemonic] { return .unary(u) }
        if let b = binaryOps[mnemonic] { return .binary(b, activation: try fusedActivation(&a)) }
        if let k = reduceKinds[mnemonic] {
            return .reduce(Reduce(kind: k, axes: try a.ints("axes"), keepDims: try a.bool("keep_dims")))
        }
        if let k = RecurrentKind(rawValue: mnemonic) { return .recurrent(try recurrent(k, &a)) }
        switch mnemonic {
        case "leaky_relu": return .unary(.leakyRelu(alpha: try a.float("alpha")))
        case "elu": return .unary(.elu(alpha: try a.float("alpha")))
        case "selu": return .unary(.selu(alpha: try a.float("alpha"), gamma: try a.float("gamma")))
        case "celu": return .unary(.celu(alpha: try a.float("alpha")))
        case "hard_sigmoid": return .unary(.hardSigmoid(alpha: try a.float("alpha"), beta: try a.float("beta")))
        case "thresholded_relu": return .unary(.thresholdedRelu(alpha: try a.float("alpha")))
        case "gelu": return .unary(.gelu(tanh: try a.bool("tanh")))
        case "clip": return .clip(Clip(min: try a.optionalFloat("min"), max: try a.optionalFloat("max")))
        case "where": return .where(Where())
        case "cast": return .cast(Cast(to: try a.word("to", placeholder: DType.f32)))
        case "conv":
            return .conv(Conv(strides: try a.ints("strides"), pads: try a.ints("pads"),
                              dilations: try a.ints("dilations"), group: try a.int("group"),
                              activation: try fusedActivation(&a)))
        case "conv_transpose":
            return .convTranspose(ConvTranspose(strides: try a.ints("strides"), pads: try a.ints("pads"),
                                                dilations: try a.ints("dilations"),
                                                outputPadding: try a.ints("output_padding"), group: try a.int("group")))
        case "max_pool": return .pool(try pool(.max, &a))
        case "average_pool": return .pool(try pool(.average, &a))
        case "lp_pool": return .pool(try pool(.lp(p: try a.int("p")), &a))
        case "batch_norm": return .batchNorm(BatchNorm(epsilon: try a.float("epsilon")))
        case "instance_norm": return .instanceNorm(InstanceNorm(epsilon: try a.float("epsilon")))
        case "layer_norm": return .layerNorm(LayerNorm(axis: try a.int("axis"), epsilon: try a.float("epsilon")))
        case "group_norm": return .groupNorm(GroupNorm(groups: try a.int("groups"), epsilon: try a.float("epsilon")))
        case "lrn":
            return .lrn(LRN(size: try a.int("size"), alpha: try a.float("alpha"), beta: try a.float("beta"),
                            bias: try a.float("bias")))
        case "softmax": return .softmax(Softmax(axis: try a.int("axis"), log: false))
        case "log_softmax": return .softmax(Softmax(axis: try a.int("axis"), log: true))
        case "arg_max", "arg_min":
            return .argReduce(ArgReduce(isMax: mnemonic == "arg_max", axis: try a.int("axis"),
                                        keepDims: try a.bool("keep_dims"), selectLastIndex: try a.bool("select_last_index")))
        case "cum_sum":
            return .cumSum(CumSum(axis: try a.int("axis"), exclusive: try a.bool("exclusive"), reverse: try a.bool("reverse")))
        case "top_k":
            return .topK(TopK(axis: try a.int("axis"), k: try a.int("k"), largest: try a.bool("largest"),
                              sorted: try a.bool("sorted")))
        case "gemm":
            return .gemm(Gemm(alpha: try a.float("alpha"), beta: try a.float("beta"), transA: try a.bool("trans_a"),
                              transB: try a.bool("trans_b"), activation: try fusedActivation(&a)))
        case "mat_mul": return .matMul(MatMul(activation: try fusedActivation(&a)))
        case "einsum": return .einsum(Einsum(equation: try a.string("equation")))
        case "reshape": return .reshape(Reshape(shape: try a.ints("shape")))
        case "transpose": return .transpose(Transpose(perm: try a.ints("perm")))
        case "concat": return .concat(Concat(axis: try a.int("axis")))
        case "split": return .split(Split(axis: try a.int("axis"), sizes: try a.ints("sizes")))
        case "slice":
            return .slice(Slice(starts: try a.ints("starts"), ends: try a.ints("ends"), axes: try a.ints("axes"),
                                steps: try a.ints("steps")))
        case "expand": return .expand(Expand(shape: try a.ints("shape")))
        case "tile": return .tile(Tile(repeats: try a.ints("repeats")))
        case "pad":
            return .pad(Pad(mode: try a.word("mode", placeholder: PadMode.constant), pads: try a.ints("pads"),
                            value: try a.double("value")))
        case "depth_to_space":
            return .depthToSpace(DepthToSpace(blockSize: try a.int("block_size"), crd: try a.bool("crd")))
        case "space_to_depth": return .spaceToDepth(SpaceToDepth(blockSize: try a.int("block_size")))
        case "identity": return .identity(Identity())
        case "gather": return .gather(Gather(axis: try a.int("axis")))
        case "gather_elements": return .gatherElements(GatherElements(axis: try a.int("axis")))
        case "shape": return .shapeOf(ShapeOf(start: try a.int("start"), end: try a.int("end")))
        case "size": return .sizeOf(SizeOf())
        case "range": return .range(Range(count: try a.int("count")))
        case "one_hot": return .oneHot(OneHot(axis: try a.int("axis"), depth: try a.int("depth")))
        case "trilu": return .trilu(Trilu(upper: try a.bool("upper"), k: try a.int("k")))
        case "resize": return .resize(try resize(&a))
        case "quantize_linear":
            return .quantizeLinear(QuantizeLinear(axis: try a.optionalInt("axis"), blockSize: try a.int("block_size"),
                                                  outputType: try a.word("output_type", placeholder: DType.i8)))
        case "dequantize_linear":
            return .dequantizeLinear(DequantizeLinear(axis: try a.optionalInt("axis"), blockSize: try a.int("block_size")))
        case "attention":
            return .attention(Attention(scale: try a.float("scale"), kTransposed: try a.bool("k_transposed")))
        case "qlinear_conv":
            let conv = Conv(strides: try a.ints("strides"), pads: try a.ints("pads"),
                            dilations: try a.ints("dilations"), group: try a.int("group"))
            return .qlinearConv(QLinearConv(conv: conv, quant: try qlinearParams(&a)))
        case "qlinear_mat_mul":
            return .qlinearMatMul(QLinearMatMul(quant: try qlinearParams(&a)))
        case "qlinear_add":
            return .qlinearAdd(QLinearAdd(aScale: try a.float("a_scale"), aZeroPoint: try a.int("a_zero_point"),
                                          bScale: try a.float("b_scale"), bZeroPoint: try a.int("b_zero_point"),
                                          yScale: try a.float("y_scale"), yZeroPoint: try a.int("y_zero_point"),
                                          yMin: try a.int("y_min"), yMax: try a.int("y_max")))
        case "qlinear_concat":
            return .qlinearConcat(QLinearConcat(axis: try a.int("axis"), xScales: try a.floats("x_scales"),
                                                xZeroPoints: try a.ints("x_zero_points"), yScale: try a.float("y_scale"),
                                                yZeroPoint: try a.int("y_zero_point")))
        case "qlinear_global_average_pool":
            return .qlinearGlobalAveragePool(QLinearGlobalAveragePool(
                xScale: try a.float("x_scale"), xZeroPoint: try a.int("x_zero_point"), yScale: try a.float("y_scale"),
                yZeroPoint: try a.int("y_zero_point")))
        case "qlinear_lookup": return .qlinearLookup(QLinearLookup())
        case "dynamic_quant_params": return .dynamicQuantParams(DynamicQuantParams())
        case "dyn_quant_mat_mul":
            return .dynQuantMatMul(DynQuantMatMul(wScales: try a.floats("w_scales"), perRow: try a.bool("per_row"),
                                                  activation: try fusedActivation(&a)))
        default:
            return nil
        }
    }

    /// Unary ops without attributes, by mnemonic. The round-trip test checks that every
    /// `UnaryOp` case prints and parses, so a case missing here fails it.
    static let plainUnaryOps: [String: UnaryOp] = {
        let ops: [UnaryOp] = [.abs, .neg, .exp, .log, .sqrt, .reciprocal, .floor, .ceil, .round, .sign, .erf,
                              .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh,
                              .not, .isNaN, .isInf, .relu, .sigmoid, .tanh, .softplus, .softsign, .mish, .hardSwish, .silu]
        return Dictionary(ops.map { ($0.mnemonic, $0) }, uniquingKeysWith: { first, _ in first })
    }()

    static let binaryOps: [String: BinaryOp] =
        Dictionary(BinaryOp.allCases.map { ($0.mnemonic, $0) }, uniquingKeysWith: { first, _ in first })

    static let reduceKinds: [String: ReduceKind] =
        Dictionary(ReduceKind.allCases.map { (Op.reduce(Reduce(kind: $0, axes: [], keepDims: false)).mnemonic, $0) },
                   uniquingKeysWith: { first, _ in first })

    private static func qlinearParams(_ a: inout AttributeReader) throws -> QLinearParams {
        QLinearParams(xScale: try a.float("x_scale"), xZeroPoint: try a.int("x_zero_point"), wScales: try a.floats("w_scales"),
                      yScale: try a.float("y_scale"), yZeroPoint: try a.int("y_zero_point"),
                      yMin: try a.int("y_min"), yMax: try a.int("y_max"))
    }

    private static func pool(_ kind: PoolKind, _ a: inout AttributeReader) throws -> Pool {
        Pool(kind: kind, kernel: try a.ints("kernel"), strides: try a.ints("strides"), pads: try a.ints("pads"),
             dilations: try a.ints("dilations"), ceilMode: try a.bool("ceil_mode"),
             countIncludePad: try a.bool("count_include_pad"))
    }

    private static func resize(_ a: inout AttributeReader) throws -> Resize {
        Resize(mode: try a.word("mode", placeholder: ResizeMode.nearest),
               coordinateTransform: try a.word("coordinate_transform", placeholder: CoordinateTransform.halfPixel),
               nearestMode: try a.word("nearest_mode", placeholder: NearestMode.roundPreferFloor),
               cubicCoeffA: try a.float("cubic_coeff_a"), excludeOutside: try a.bool("exclude_outside"),
               extrapolationValue: try a.float("extrapolation_value"), antialias: try a.bool("antialias"),
               scales: try a.floats("scales"), sizes: try a.ints("sizes"), roi: try a.floats("roi"))
    }

    private static func recurrent(_ kind: RecurrentKind, _ a: inout AttributeReader) throws -> Recurrent {
        let direction = try a.word("direction", placeholder: RecurrentDirection.forward)
        let hiddenSize = try a.int("hidden_size")
        let context = a.context
        let activations = try a.items("activations", expected: "a list of activations").map { item in
            try activation(item, context: context)
        }
        var r = Recurrent(kind: kind, direction: direction, hiddenSize: hiddenSize, activations: activations,
                          clip: try a.optionalFloat("clip"), linearBeforeReset: try a.bool("linear_before_reset"),
                          inputForget: try a.bool("input_forget"), layout: try a.int("layout"))
        if a.optionalItem("w_scales") != nil || a.optionalItem("r_scales") != nil {
            r.dynQuant = RecurrentDynQuant(wScales: try a.floats("w_scales"), rScales: try a.floats("r_scales"))
        }
        return r
    }

    /// The optional `activation = relu` / `activation = clip(min = 0.0, max = 6.0)`
    /// attribute: an activation op's mnemonic, its attributes written as a call.
    private static func fusedActivation(_ a: inout AttributeReader) throws -> FusedActivation? {
        guard let item = a.optionalItem("activation") else { return nil }
        let name: String
        let args: [AttributeEntry]
        switch item.kind {
        case .word(let w): name = w; args = []
        case .call(let w, let entries): name = w; args = entries
        case .number, .string, .list:
            throw KilnError("\(item.position): \(a.context): attribute 'activation' must be an activation such as relu or clip(min = 0.0, max = 6.0)")
        }
        var r = try AttributeReader(context: "\(a.context) activation '\(name)'", position: item.position, entries: args)
        guard let op = try makeOp(name, &r), let act = FusedActivation(op) else {
            throw KilnError("\(item.position): \(a.context): '\(name)' is not an activation that can be fused")
        }
        try r.finish()
        return act
    }

    /// `sigmoid` or `affine(alpha = 1.5, beta = 0.5)`.
    private static func activation(_ item: ParsedAttribute, context: String) throws -> RecurrentActivation {
        let name: String
        let args: [AttributeEntry]
        switch item.kind {
        case .word(let w): name = w; args = []
        case .call(let w, let entries): name = w; args = entries
        case .number, .string, .list:
            throw KilnError("\(item.position): \(context): expected an activation name")
        }
        var r = try AttributeReader(context: "\(context) activation '\(name)'", position: item.position, entries: args)
        let result: RecurrentActivation
        switch name {
        case "relu": result = .relu
        case "tanh": result = .tanh
        case "sigmoid": result = .sigmoid
        case "softsign": result = .softsign
        case "softplus": result = .softplus
        case "affine": result = .affine(alpha: try r.float("alpha"), beta: try r.float("beta"))
        case "leaky_relu": result = .leakyRelu(alpha: try r.float("alpha"))
        case "thresholded_relu": result = .thresholdedRelu(alpha: try r.float("alpha"))
        case "scaled_tanh": result = .scaledTanh(alpha: try r.float("alpha"), beta: try r.float("beta"))
        case "hard_sigmoid": result = .hardSigmoid(alpha: try r.float("alpha"), beta: try r.float("beta"))
        case "elu": result = .elu(alpha: try r.float("alpha"))
        default: throw KilnError("\(item.position): \(context): unknown activation '\(name)'")
        }
        try r.finish()
        return result
    }
}
