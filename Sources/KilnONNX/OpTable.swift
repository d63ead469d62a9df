import KilnIR

/// Maps a node to IR values: one entry per ONNX output it produces.
typealias OpMapping = (NodeContext) throws -> [ValueID?]

/// The ONNX ops Kiln imports (default domain), each with its mapping function.
enum OpTable {
    static func mapping(_ opType: String) -> OpMapping? {
        switch opType {
        // Elementwise math
        case "Abs": return { try $0.unary(.abs) }
        case "Neg": return { try $0.unary(.neg) }
        case "Exp": return { try $0.unary(.exp) }
        case "Log": return { try $0.unary(.log) }
        case "Sqrt": return { try $0.unary(.sqrt) }
        case "Reciprocal": return { try $0.unary(.reciprocal) }
        case "Floor": return { try $0.unary(.floor) }
        case "Ceil": return { try $0.unary(.ceil) }
        case "Round": return { try $0.unary(.round) }
        case "Sign": return { try $0.unary(.sign) }
        case "Erf": return { try $0.unary(.erf) }
        case "Sin": return { try $0.unary(.sin) }
        case "Cos": return { try $0.unary(.cos) }
        case "Tan": return { try $0.unary(.tan) }
        case "Asin": return { try $0.unary(.asin) }
        case "Acos": return { try $0.unary(.acos) }
        case "Atan": return { try $0.unary(.atan) }
        case "Sinh": return { try $0.unary(.sinh) }
        case "Cosh": return { try $0.unary(.cosh) }
        case "Asinh": return { try $0.unary(.asinh) }
        case "Acosh": return { try $0.unary(.acosh) }
        case "Atanh": return { try $0.unary(.atanh) }
        case "Not": return { try $0.not() }
        case "IsNaN": return { try $0.isNaN() }
        case "IsInf": return { try $0.isInf() }
        case "Add": return { try $0.binary(.add) }
        case "Sub": return { try $0.binary(.sub) }
        case "Mul": return { try $0.binary(.mul) }
        case "Div": return { try $0.binary(.div) }
        case "Pow": return { try $0.pow() }
        case "Mod": return { try $0.mod() }
        case "Equal": return { try $0.binary(.equal) }
        case "Less": return { try $0.binary(.less) }
        case "LessOrEqual": return { try $0.binary(.lessOrEqual) }
        case "Greater": return { try $0.binary(.greater) }
        case "GreaterOrEqual": return { try $0.binary(.greaterOrEqual) }
        case "And": return { try $0.binary(.and) }
        case "Or": return { try $0.binary(.or) }
        case "Xor": return { try $0.binary(.xor) }
        case "Min": return { try $0.variadic(.min) }
        case "Max": return { try $0.variadic(.max) }
        case "Sum": return { try $0.variadic(.add) }
        case "Mean": return { try $0.mean() }
        case "Where": return { try $0.whereOp() }
        case "Clip": return { try $0.clip() }
        case "Cast": return { try $0.cast() }
        case "CastLike": return { try $0.castLike() }
        // Activations
        case "Relu": return { try $0.unary(.relu) }
        case "Sigmoid": return { try $0.unary(.sigmoid) }
        case "Tanh": return { try $0.unary(.tanh) }
        case "Softplus": return { try $0.unary(.softplus) }
        case "Softsign": return { try $0.unary(.softsign) }
        case "Mish": return { try $0.unary(.mish) }
        case "HardSwish": return { try $0.unary(.hardSwish) }
        case "LeakyRelu": return { try $0.leakyRelu() }
        case "PRelu": return { try $0.prelu() }
        case "Elu": return { try $0.elu() }
        case "Selu": return { try $0.selu() }
        case "Celu": return { try $0.celu() }
        case "HardSigmoid": return { try $0.hardSigmoid() }
        case "ThresholdedRelu": return { try $0.thresholdedRelu() }
        case "Gelu": return { try $0.gelu() }
        case "Swish": return { try $0.swish() }
        case "Softmax": return { try $0.softmax(log: false) }
        case "LogSoftmax": return { try $0.softmax(log: true) }
        case "Hardmax": return { try $0.hardmax() }
        case "Shrink": return { try $0.shrink() }
        // Convolution, pooling, normalization
        case "Conv": return { try $0.conv() }
        case "ConvTranspose": return { try $0.convTranspose() }
        case "MaxPool": return { try $0.maxPool() }
        case "AveragePool": return { try $0.averagePool() }
        case "LpPool": return { try $0.lpPool() }
        case "GlobalAveragePool": return { try $0.globalAveragePool() }
        case "GlobalMaxPool": return { try $0.globalMaxPool() }
        case "GlobalLpPool": return { try $0.globalLpPool() }
        case "BatchNormalization": return { try $0.batchNormalization() }
        case "InstanceNormalization": return { try $0.instanceNormalization() }
        case "LayerNormalization": return { try $0.layerNormalization() }
        case "GroupNormalization": return { try $0.groupNormalization() }
        case "LRN": return { try $0.lrn() }
        case "ImageScaler": return { try $0.imageScaler() }
        case "LpNormalization": return { try $0.lpNormalization() }
        case "MeanVarianceNormalization": return { try $0.meanVarianceNormalization() }
        case "RMSNormalization": return { try $0.rmsNormalization() }
        // Linear algebra
        case "Gemm": return { try $0.gemm() }
        case "MatMul": return { try $0.matMul() }
        case "Einsum": return { try $0.einsum() }
        // Reductions
        case "ReduceMean": return { try $0.reduce(.mean) }
        case "ReduceSum": return { try $0.reduce(.sum) }
        case "ReduceMax": return { try $0.reduce(.max) }
        case "ReduceMin": return { try $0.reduce(.min) }
        case "ReduceProd": return { try $0.reduce(.prod) }
        case "ReduceL1": return { try $0.reduce(.l1) }
        case "ReduceL2": return { try $0.reduce(.l2) }
        case "ReduceSumSquare": return { try $0.reduce(.sumSquare) }
        case "ReduceLogSum": return { try $0.reduce(.logSum) }
        case "ReduceLogSumExp": return { try $0.reduce(.logSumExp) }
        case "ArgMax": return { try $0.argReduce(isMax: true) }
        case "ArgMin": return { try $0.argReduce(isMax: false) }
        case "CumSum": return { try $0.cumSum() }
        case "TopK": return { try $0.topK() }
        // Layout and data movement
        case "Reshape": return { try $0.reshapeOp() }
        case "Flatten": return { try $0.flatten() }
        case "Squeeze": return { try $0.squeeze() }
        case "Unsqueeze": return { try $0.unsqueeze() }
        case "Transpose": return { try $0.transpose() }
        case "DepthToSpace": return { try $0.depthToSpace() }
        case "SpaceToDepth": return { try $0.spaceToDepth() }
        case "Concat": return { try $0.concat() }
        case "Split": return { try $0.split() }
        case "Slice": return { try $0.slice() }
        case "Expand": return { try $0.expand() }
        case "Tile": return { try $0.tile() }
        case "Pad": return { try $0.pad() }
        case "Identity": return { try $0.identity() }
        case "Dropout": return { try $0.dropout() }
        // Indexing and generators
        case "Gather": return { try $0.gather() }
        case "GatherElements": return { try $0.gatherElements() }
        case "GatherND": return { try $0.gatherND() }
        case "ScatterND": return { try $0.scatterND() }
        case "ScatterElements": return { try $0.scatterElements() }
        case "Scatter": return { try $0.scatterElements(legacy: true) }
        case "EyeLike": return { try $0.eyeLike() }
        case "STFT": return { try $0.stft() }
        case "HannWindow": return { try $0.window([0.5, -0.5]) }
        case "HammingWindow": return { try $0.window([25.0 / 46, -21.0 / 46]) }
        case "BlackmanWindow": return { try $0.window([0.42, -0.5, 0.08]) }
        case "Shape": return { try $0.shape() }
        case "Size": return { try $0.size() }
        case "Range": return { try $0.range() }
        case "OneHot": return { try $0.oneHot() }
        case "Trilu": return { try $0.trilu() }
        case "Constant": return { try $0.constantOp() }
        case "ConstantOfShape": return { try $0.constantOfShape() }
        // Resampling, recurrent, quantization, control flow
        case "Resize": return { try $0.resize() }
        case "Upsample": return { try $0.upsample() }
        case "RNN": return { try $0.rnn() }
        case "GRU": return { try $0.gru() }
        case "LSTM": return { try $0.lstm() }
        case "QuantizeLinear": return { try $0.quantizeLinear() }
        case "DequantizeLinear": return { try $0.dequantizeLinear() }
        case "QLinearConv": return { try $0.qlinearConv() }
        case "QLinearMatMul": return { try $0.qlinearMatMul() }
        case "DynamicQuantizeLinear": return { try $0.dynamicQuantizeLinear() }
        case "MatMulInteger": return { try $0.matMulInteger() }
        case "ConvInteger": return { try $0.convInteger() }
        case "If": return { try $0.ifOp() }
        default: return nil
        }
    }
}
