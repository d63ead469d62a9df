import ArgumentParser
import Foundation
import KilnPasses

/// `kiln compile` options that compress the model: decomposition and pruning. Each becomes
/// a pass with options (`decompose-depthwise{rank=auto;rel=0.05}`) run after the -O
/// level's pipeline, so the plan's recorded pipeline names them; the passes print their
/// per-layer reports on stderr.
struct CompressionOptions: ParsableArguments {
    @Option(name: .customLong("decompose"),
            help: ArgumentHelp("Decompose layers: depthwise=full|auto|N (KxK conv → depthwise + 1x1) or low-rank=full|auto|N (Gemm/MatMul → two thinner layers). Repeatable.",
                               valueName: "kind=rank"))
    var decompose: [String] = []

    @Option(name: .customLong("error-budget"),
            help: ArgumentHelp("Relative weight reconstruction error allowed per layer for rank auto (default rel=0.01).",
                               valueName: "rel=X"))
    var errorBudget: String?

    @Option(name: .customLong("prune"),
            help: ArgumentHelp("Zero the smallest weights (magnitude=FRACTION of every Conv/Gemm/MatMul weight) or remove the lowest-L1 output channels of Conv/Gemm layers (channels=FRACTION).",
                               valueName: "magnitude=f|channels=f"))
    var prune: String?

    @Option(name: .customLong("prune-layer"),
            help: ArgumentHelp("Prune one layer (node name) by its own fraction, e.g. conv1=0.7 (repeatable).",
                               valueName: "name=f"))
    var pruneLayers: [String] = []

    func validate() throws { _ = try passNames() }

    /// The passes these options ask for, in order: decompositions, then pruning, then
    /// dead-code elimination of the replaced weights.
    func passNames() throws -> [String] {
        var budget = 0.01
        if let e = errorBudget {
            guard e.hasPrefix("rel="), let v = Double(e.dropFirst(4)), v >= 0, v <= 1 else {
                throw ValidationError("--error-budget expects rel=X with X in [0, 1], got '\(e)'")
            }
            budget = v
        }
        var names: [String] = []
        for d in decompose {
            let parts = d.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["depthwise", "low-rank"].contains(parts[0]) else {
                throw ValidationError("--decompose expects depthwise=RANK or low-rank=RANK, got '\(d)'")
            }
            do { _ = try RankRule(parsing: parts[1]) } catch { throw ValidationError("--decompose \(parts[0]): \(error)") }
            names.append("decompose-\(parts[0]){rank=\(parts[1]);rel=\(budget)}")
        }
        var channels: String?
        if let p = prune, p.hasPrefix("channels=") {
            guard let f = Double(p.dropFirst(9)), f >= 0, f <= 1 else {
                throw ValidationError("--prune expects channels=FRACTION with a fraction in [0, 1], got '\(p)'")
            }
            channels = "prune-channels{fraction=\(f)}"
        }
        if (prune != nil && channels == nil) || !pruneLayers.isEmpty {
            var options: [String] = []
            if let p = prune, channels == nil {
                guard p.hasPrefix("magnitude="), let f = Double(p.dropFirst(10)), f >= 0, f <= 1 else {
                    throw ValidationError("--prune expects magnitude=FRACTION with a fraction in [0, 1], got '\(p)'")
                }
                options.append("fraction=\(f)")
            } else {
                options.append("fraction=0.0")
            }
            for l in pruneLayers {
                guard let eq = l.lastIndex(of: "="), let f = Double(l[l.index(after: eq)...]), f >= 0, f <= 1, !l.contains(";") else {
                    throw ValidationError("--prune-layer expects NAME=FRACTION with a fraction in [0, 1], got '\(l)'")
                }
                options.append("layer=\(l)")
            }
            names.append("prune-magnitude{\(options.joined(separator: ";"))}")
        }
        if let c = channels { names.append(c) }
        return names.isEmpty ? [] : names + ["eliminate-dead-code"]
    }
}

/// Per-layer reports of compression passes go to stderr (stdout keeps the one summary line).
func printRemark(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
