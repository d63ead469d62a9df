import KilnIR

/// Options written into a pass name, `decompose-depthwise{rank=auto;rel=0.05}`: the pass
/// name, then `key=value` pairs separated by ';' in braces (';' rather than ',' because
/// pass lists are comma-separated, and ONNX layer names often hold ':' and '/'). A key may
/// repeat (`layer=NAME=0.7` once per layer).
public struct PassOptions {
    public let base: String
    public private(set) var pairs: [(key: String, value: String)] = []

    public init(_ spec: String) throws {
        guard let open = spec.firstIndex(of: "{") else { base = spec; return }
        base = String(spec[..<open])
        try require(spec.hasSuffix("}"), "pass '\(spec)': options must end with '}'")
        let body = spec[spec.index(after: open)..<spec.index(before: spec.endIndex)]
        for item in body.split(separator: ";") where !item.isEmpty {
            guard let eq = item.firstIndex(of: "=") else {
                throw KilnError("pass \(base): option '\(item)' is not key=value")
            }
            pairs.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
        }
    }

    /// Checks every key is one of `known`.
    public func requireKeys(_ known: Set<String>) throws {
        for p in pairs where !known.contains(p.key) {
            throw KilnError("pass \(base): unknown option '\(p.key)' (options: \(known.sorted().joined(separator: ", ")))")
        }
    }

    public func values(_ key: String) -> [String] { pairs.filter { $0.key == key }.map(\.value) }

    public func value(_ key: String) -> String? { values(key).last }

    /// A number in [lo, hi], or nil when absent.
    public func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let s = value(key) else { return nil }
        guard let v = Double(s), range.contains(v) else {
            throw KilnError("pass \(base): \(key) must be a number in [\(range.lowerBound), \(range.upperBound)], got '\(s)'")
        }
        return v
    }
}

extension PassManager {
    /// The passes that take options, built from a spec with braces; nil for plain names.
    static func configuredPass(named spec: String) throws -> (any Pass)? {
        guard spec.contains("{") else { return nil }
        let options = try PassOptions(spec)
        switch options.base {
        case DecomposeDepthwise().name: return try DecomposeDepthwise(options)
        case DecomposeLowRank().name: return try DecomposeLowRank(options)
        case PruneMagnitude().name: return try PruneMagnitude(options)
        case PruneChannels().name: return try PruneChannels(options)
        case QuantizeDynamic().name: return try QuantizeDynamic(options)
        default: throw KilnError("pass '\(options.base)' takes no options")
        }
    }
}
