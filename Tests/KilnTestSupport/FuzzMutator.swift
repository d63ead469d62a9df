import Foundation

/// A deterministic byte mutator for the fuzz tests of KilnIRTests and KilnONNXTests
/// (this support target is shared by both): a SplitMix64 generator and libFuzzer-style
/// mutations — bit flips, byte and integer overwrites with boundary values, truncation,
/// insertion, deletion, duplication of a range and splicing with another seed. Same seed,
/// same sequence of cases on every machine.
public struct FuzzMutator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// SplitMix64 (Steele, Lea, Flood 2014).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0); the modulo bias is irrelevant here.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    private static let interestingBytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x20, 0x0A]
    private static let interestingInts: [UInt64] = [
        0, 1, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max,
    ]

    /// 1-4 mutations of `input`; `other` is a second seed for splicing, `extra` optional
    /// format-specific snippets (tokens) to insert.
    public mutating func mutate(_ input: [UInt8], other: [UInt8], extra: [[UInt8]] = []) -> [UInt8] {
        var b = input
        for _ in 0...below(4) { b = mutateOnce(b, other: other, extra: extra) }
        return b
    }

    private mutating func mutateOnce(_ input: [UInt8], other: [UInt8], extra: [[UInt8]]) -> [UInt8] {
        var b = input
        if b.isEmpty { return [UInt8(truncatingIfNeeded: next())] }
        let pos = below(b.count)
        switch below(extra.isEmpty ? 9 : 10) {
        case 0: b[pos] ^= UInt8(1) << UInt8(below(8))
        case 1: b[pos] = UInt8(truncatingIfNeeded: next())
        case 2: b[pos] = Self.interestingBytes[below(Self.interestingBytes.count)]
        case 3: b.removeSubrange(pos...)
        case 4: b.insert(contentsOf: (0...below(8)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: pos)
        case 5: b.removeSubrange(pos..<min(b.count, pos + 1 + below(16)))
        case 6:
            let from = below(b.count), len = min(b.count - from, 1 + below(64))
            b.insert(contentsOf: Array(b[from..<from + len]), at: pos)
        case 7:
            let width = below(2) == 0 ? 4 : 8, value = Self.interestingInts[below(Self.interestingInts.count)]
            for k in 0..<width where pos + k < b.count { b[pos + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        case 8:
            guard !other.isEmpty else { return b }
            let cut = below(other.count)
            b = Array(b[..<pos]) + Array(other[cut...])
        default: b.insert(contentsOf: extra[below(extra.count)], at: pos)
        }
        return b
    }
}

/// Run length for the fuzz tests: `iterations` by default; with KILN_FUZZ_SECONDS set
/// (scripts/fuzz), as many cases as fit in that many seconds.
public struct FuzzBudget {
    public let iterations: Int
    public let deadline: Date?

    public init(iterations: Int) {
        self.iterations = iterations
        let seconds = ProcessInfo.processInfo.environment["KILN_FUZZ_SECONDS"].flatMap(Double.init)
        deadline = seconds.map { Date(timeIntervalSinceNow: $0) }
    }

    public func more(_ done: Int) -> Bool {
        if let deadline { return done % 64 != 0 || Date() < deadline }
        return done < iterations
    }
}

/// The case being run, written before each one: if a trap kills the test process the
/// input that caused it is left here.
public func fuzzRecordCurrent(_ bytes: [UInt8], target: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-fuzz-\(target)-current")
    try? Data(bytes).write(to: url)
    return url
}
