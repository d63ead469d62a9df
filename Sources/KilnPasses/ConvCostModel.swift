import Foundation

/// The time model `decompose-depthwise{rank=auto}` uses to decide whether a decomposition
/// pays: estimated time = FLOPs / the measured throughput of the runtime kernel that runs
/// the layer. FLOPs alone mislead here: a depthwise conv with a channel multiplier does
/// far fewer multiply-adds per byte moved than the im2col + GEMM conv, so it runs ~4×
/// slower per FLOP (on the PP-OCR detector, rank 4 cut the decomposed layers' FLOPs by 39%
/// and made them 1.07× slower).
///
/// Constants (GFLOP/s, 2 flops per multiply-add, one thread, median over the models of a
/// kind) measured 2026-11-25 on the 2-core development machine (shared, load ~5; minimum
/// of 30 runs per model) with Tests/Benchmarks/conv_cost_model.py, single-layer models at
/// 40x40 pixels, release kiln built from main at ad90838:
///
///     kind       models                                  GFLOP/s  median
///     gemm       3x3 conv 16→16, 32→32, 64→64            45–67    57
///     depthwise  3x3, C = 16/32/64, multiplier 1/2/4/8   10–16    14
///     pointwise  1x1 conv 16/32/64·{1,4} → 16/32/64      32–82    62
///
/// Only the ratios matter (both sides of a comparison are modelled on the same machine).
/// The model ignores per-instruction overhead and the extra intermediate tensor, both of
/// which make a decomposition slower still, so it errs toward leaving layers alone.
public enum ConvCostModel {
    /// Throughput of the kernel kinds, in FLOPs per second.
    public static let gemmConv = 57e9, depthwise = 14e9, pointwise = 62e9

    /// Modelled seconds of a group-1 KxK conv (K > 1) doing `flops` FLOPs.
    public static func gemmConvTime(flops: Int) -> Double { Double(flops) / gemmConv }

    /// Modelled seconds of a depthwise conv (`depthwiseFlops`) followed by a 1x1 pointwise
    /// conv (`pointwiseFlops`).
    public static func decomposedTime(depthwiseFlops: Int, pointwiseFlops: Int) -> Double {
        Double(depthwiseFlops) / depthwise + Double(pointwiseFlops) / pointwise
    }

    /// "12.3 µs" with three significant digits.
    static func format(_ seconds: Double) -> String { String(format: "%.3g µs", seconds * 1e6) }
}
