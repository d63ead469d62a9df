/// Every operation of the Kiln IR. Operands are the node's inputs; attributes are the
/// associated values. Switches over `Op` are exhaustive (no `default:`), so adding a case
/// makes the compiler list every place that must handle it.
public enum Op: Hashable, Sendable {
    case constant(Tensor)
    case unary(UnaryOp)
    /// A binary op, optionally followed by a fused activation (fuse-elementwise).
    case binary(BinaryOp, activation: FusedActivation? = nil)
    case clip(Clip)
    case `where`(Where)
    case cast(Cast)
    case conv(Conv)
    case convTranspose(ConvTranspose)
    case pool(Pool)
    case batchNorm(BatchNorm)
    case instanceNorm(InstanceNorm)
    case layerNorm(LayerNorm)
    case groupNorm(GroupNorm)
    case lrn(LRN)
    case softmax(Softmax)
    case reduce(Reduce)
    case argReduce(ArgReduce)
    case cumSum(CumSum)
    case topK(TopK)
    case gemm(Gemm)
    case matMul(MatMul)
    case einsum(Einsum)
    case reshape(Reshape)
    case transpose(Transpose)
    case concat(Concat)
    case split(Split)
    case slice(Slice)
    case expand(Expand)
    case tile(Tile)
    case pad(Pad)
    case depthToSpace(DepthToSpace)
    case spaceToDepth(SpaceToDepth)
    case identity(Identity)
    case gather(Gather)
    case gatherElements(GatherElements)
    case shapeOf(ShapeOf)
    case sizeOf(SizeOf)
    case range(Range)
    case oneHot(OneHot)
    case trilu(Trilu)
    case resize(Resize)
    case recurrent(Recurrent)
    case quantizeLinear(QuantizeLinear)
    case dequantizeLinear(DequantizeLinear)
    case attention(Attention)
    case qlinearConv(QLinearConv)
    case qlinearMatMul(QLinearMatMul)
    case qlinearAdd(QLinearAdd)
    case qlinearConcat(QLinearConcat)
    case qlinearGlobalAveragePool(QLinearGlobalAveragePool)
    case qlinearLookup(QLinearLookup)
    case dynamicQuantParams(DynamicQuantParams)
    case dynQuantMatMul(DynQuantMatMul)

    /// The op's type rule and reference evaluation.
    public var rule: any OpRule {
        switch self {
        case .constant(let t): return ConstantRule(tensor: t)
        case .unary(let a): return a
        case .binary(let a, let act): return ActivatedRule(base: a, activation: act, context: a.mnemonic)
        case .clip(let a): return a
        case .where(let a): return a
        case .cast(let a): return a
        case .conv(let a): return ActivatedRule(base: a, activation: a.activation, context: "conv")
        case .convTranspose(let a): return a
        case .pool(let a): return a
        case .batchNorm(let a): return a
        case .instanceNorm(let a): return a
        case .layerNorm(let a): return a
        case .groupNorm(let a): return a
        case .lrn(let a): return a
        case .softmax(let a): return a
        case .reduce(let a): return a
        case .argReduce(let a): return a
        case .cumSum(let a): return a
        case .topK(let a): return a
        case .gemm(let a): return ActivatedRule(base: a, activation: a.activation, context: "gemm")
        case .matMul(let a): return ActivatedRule(base: a, activation: a.activation, context: "mat_mul")
        case .einsum(let a): return a
        case .reshape(let a): return a
        case .transpose(let a): return a
        case .concat(let a): return a
        case .split(let a): return a
        case .slice(let a): return a
        case .expand(let a): return a
        case .tile(let a): return a
        case .pad(let a): return a
        case .depthToSpace(let a): return a
        case .spaceToDepth(let a): return a
        case .identity(let a): return a
        case .gather(let a): return a
        case .gatherElements(let a): return a
        case .shapeOf(let a): return a
        case .sizeOf(let a): return a
        case .range(let a): return a
        case .oneHot(let a): return a
        case .trilu(let a): return a
        case .resize(let a): return a
        case .recurrent(let a): return a
        case .quantizeLinear(let a): return a
        case .dequantizeLinear(let a): return a
        case .attention(let a): return a
        case .qlinearConv(let a): return a
        case .qlinearMatMul(let a): return a
        case .qlinearAdd(let a): return a
        case .qlinearConcat(let a): return a
        case .qlinearGlobalAveragePool(let a): return a
        case .qlinearLookup(let a): return a
        case .dynamicQuantParams(let a): return a
        case .dynQuantMatMul(let a): return ActivatedRule(base: a, activation: a.activation, context: "dyn_quant_mat_mul")
        }
    }

    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try rule.resultTypes(operands)
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        try rule.evaluate(operands, results: results)
    }

    /// The activation the op applies to its result (conv, gemm, mat_mul, binary ops).
    public var fusedActivation: FusedActivation? {
        if case .conv(let a) = self { return a.activation }
        if case .gemm(let a) = self { return a.activation }
        if case .matMul(let a) = self { return a.activation }
        if case .dynQuantMatMul(let a) = self { return a.activation }
        if case .binary(_, let act) = self { return act }
        return nil
    }

    /// The op's name in the text form, snake_case (`conv`, `batch_norm`, `leaky_relu`).
    public var mnemonic: String {
        switch self {
        case .constant: return "constant"
        case .unary(let u): return u.mnemonic
        case .binary(let b, _): return b.mnemonic
        case .clip: return "clip"
        case .where: return "where"
        case .cast: return "cast"
        case .conv: return "conv"
        case .convTranspose: return "conv_transpose"
        case .pool(let p):
            switch p.kind {
            case .max: return "max_pool"
            case .average: return "average_pool"
            case .lp: return "lp_pool"
            }
        case .batchNorm: return "batch_norm"
        case .instanceNorm: return "instance_norm"
        case .layerNorm: return "layer_norm"
        case .groupNorm: return "group_norm"
        case .lrn: return "lrn"
        case .softmax(let s): return s.log ? "log_softmax" : "softmax"
        case .reduce(let r): return "reduce_" + snakeCase(r.kind.rawValue)
        case .argReduce(let a): return a.isMax ? "arg_max" : "arg_min"
        case .cumSum: return "cum_sum"
        case .topK: return "top_k"
        case .gemm: return "gemm"
        case .matMul: return "mat_mul"
        case .einsum: return "einsum"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .concat: return "concat"
        case .split: return "split"
        case .slice: return "slice"
        case .expand: return "expand"
        case .tile: return "tile"
        case .pad: return "pad"
        case .depthToSpace: return "depth_to_space"
        case .spaceToDepth: return "space_to_depth"
        case .identity: return "identity"
        case .gather: return "gather"
        case .gatherElements: return "gather_elements"
        case .shapeOf: return "shape"
        case .sizeOf: return "size"
        case .range: return "range"
        case .oneHot: return "one_hot"
        case .trilu: return "trilu"
        case .resize: return "resize"
        case .recurrent(let r): return r.kind.rawValue
        case .quantizeLinear: return "quantize_linear"
        case .dequantizeLinear: return "dequantize_linear"
        case .attention: return "attention"
        case .qlinearConv: return "qlinear_conv"
        case .qlinearMatMul: return "qlinear_mat_mul"
        case .qlinearAdd: return "qlinear_add"
        case .qlinearConcat: return "qlinear_concat"
        case .qlinearGlobalAveragePool: return "qlinear_global_average_pool"
        case .qlinearLookup: return "qlinear_lookup"
        case .dynamicQuantParams: return "dynamic_quant_params"
        case .dynQuantMatMul: return "dyn_quant_mat_mul"
        }
    }
}

extension UnaryOp {
    public var mnemonic: String {
        switch self {
        case .abs: return "abs"
        case .neg: return "neg"
        case .exp: return "exp"
        case .log: return "log"
        case .sqrt: return "sqrt"
        case .reciprocal: return "reciprocal"
        case .floor: return "floor"
        case .ceil: return "ceil"
        case .round: return "round"
        case .sign: return "sign"
        case .erf: return "erf"
        case .sin: return "sin"
        case .cos: return "cos"
        case .tan: return "tan"
        case .asin: return "asin"
        case .acos: return "acos"
        case .atan: return "atan"
        case .sinh: return "sinh"
        case .cosh: return "cosh"
        case .asinh: return "asinh"
        case .acosh: return "acosh"
        case .atanh: return "atanh"
        case .not: return "not"
        case .isNaN: return "is_nan"
        case .isInf: return "is_inf"
        case .relu: return "relu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .softplus: return "softplus"
        case .softsign: return "softsign"
        case .mish: return "mish"
        case .hardSwish: return "hard_swish"
        case .silu: return "silu"
        case .leakyRelu: return "leaky_relu"
        case .elu: return "elu"
        case .selu: return "selu"
        case .celu: return "celu"
        case .hardSigmoid: return "hard_sigmoid"
        case .thresholdedRelu: return "thresholded_relu"
        case .gelu: return "gelu"
        }
    }
}

extension BinaryOp {
    public var mnemonic: String { snakeCase(rawValue) }
}

/// `lessOrEqual` → `less_or_equal`.
func snakeCase(_ s: String) -> String {
    var out = ""
    for c in s {
        if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
    }
    return out
}

/// A constant has no operands and one result: its tensor.
public struct ConstantRule: OpRule {
    public var tensor: Tensor
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try require(operands.isEmpty, "constant takes no operands")
        return [tensor.type]
    }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { [tensor] }
}
