import KilnIR

// Fused activations: the IR's `activation` field of conv, gemm, mat_mul and the binary ops
// (set by the fuse-activation and fuse-elementwise passes) becomes the kernels' `act`
// triple `i32 func, f32 alpha, f32 beta` (PLAN_FORMAT.md §7). The lowering itself fuses
// nothing: an -O0 plan runs every activation as its own UNARY instruction.

/// No fused activation (`act` = identity).
let noActivation: [AttributeValue] = [.i(0), .f(0), .f(0)]

extension Lowerer {
    /// The `act` triple of `activation` for an f32 result (the kernels apply it to f32 only).
    func actAttributes(_ activation: FusedActivation?, _ result: ValueID) throws -> [AttributeValue] {
        guard let activation else { return noActivation }
        try requireDType(result, [.f32], "fused activation \(activation.mnemonic)")
        switch activation {
        case .clip(let c):
            return [.i(Int(UnaryFunc.clip.rawValue)), .f(c.min ?? -.infinity), .f(c.max ?? .infinity)]
        case .unary(let u):
            let (fn, alpha, beta) = u.runtimeFunc
            return [.i(Int(fn.rawValue)), .f(alpha), .f(beta)]
        }
    }
}
