import KilnIR

/// `--quantize fp16`: large f32 constants are stored as IEEE binary16 in the plan and widened
/// back to f32 once when the runtime loads it (tensor flag `KILN_TENSOR_F16_STORAGE`, plan
/// format 1.1). The program, the kernels and the memory plan are unchanged; only the
/// CONSTANTS bytes shrink (about half) and each stored weight is rounded to f16.
///
/// Which constants: f32, not quantized, at least `minElements` elements (weights of conv,
/// gemm, matmul, recurrent and embedding-like tables; small biases, scales and shape-like
/// constants stay exact, their bytes are negligible), and every value must round to a
/// finite f16 or be non-finite already (a tensor with |x| ≥ 65520 stays f32: it would
/// overflow to infinity).
///
/// Trade-off: the loaded plan holds f32 copies of these weights, so memory after loading is
/// the same as for an f32 plan (an mmap-loaded uncompressed plan no longer uses them in
/// place); what halves is the file and the download.
public enum HalfWeights {
    /// The default size threshold in elements.
    public static let minElements = 16

    /// Whether `t` is stored as f16 under `minElements`.
    public static func eligible(_ t: Tensor, minElements: Int = HalfWeights.minElements) -> Bool {
        guard t.dtype == .f32, t.type.quantization == nil, t.count >= minElements else { return false }
        return t.floats.allSatisfy { !$0.isFinite || Float16($0).isFinite }
    }

    /// The little-endian f16 bytes of an f32 tensor, each value rounded to nearest even
    /// (subnormals included; NaN stays NaN, infinities stay infinite).
    public static func encode(_ t: Tensor) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(2 * t.count)
        for v in t.floats {
            let h = Float16(v).bitPattern
            out.append(UInt8(truncatingIfNeeded: h))
            out.append(UInt8(truncatingIfNeeded: h >> 8))
        }
        return out
    }
}

extension Program {
    /// Marks every eligible constant (see `HalfWeights`) to be stored as f16; returns how
    /// many were marked. Callable on its own; `PlanOptions.halfWeights` runs it in
    /// `PlanCompiler.compile`.
    @discardableResult
    public mutating func storeWeightsAsF16(minElements: Int = HalfWeights.minElements) -> Int {
        var marked = 0
        for i in tensors.indices {
            guard case .constant(let value) = tensors[i].storage, HalfWeights.eligible(value, minElements: minElements) else { continue }
            tensors[i].storedAsF16 = true
            marked += 1
        }
        return marked
    }

    /// Whether any tensor needs plan format 1.1 (f16 storage).
    var usesF16Storage: Bool { tensors.contains { $0.storedAsF16 } }
}
