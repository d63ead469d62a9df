import ArgumentParser
import Foundation
import KilnIR
import KilnPasses
import KilnRuntime

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time a compiled plan: min, median and p90 latency of repeated runs, and peak RSS.",
        discussion: """
            Inputs default to the deterministic pseudo-random values of SampleInputs (the ones \
            `kiln compile --report` uses; or pass --input like \
            `kiln run`). Each iteration binds nothing new and calls run once; warm-up runs are not timed. \
            The machine's other load shows in the numbers: compare ratios measured side by side.
            """)

    @Argument(help: "The plan file (.kplan).")
    var plan: String

    @Option(name: .customLong("input"), help: ArgumentHelp("An input: NAME=FILE.npy or FILE.npy (repeatable; default random).", valueName: "input"))
    var inputs: [String] = []

    @Option(help: "Worker threads for the session.")
    var threads: Int = 1

    @Option(help: "Timed runs.")
    var iterations: Int = 50

    @Option(help: "Untimed runs first.")
    var warmup: Int = 5

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
    }

    func run() throws {
        try reporting {
            let loaded = try loadPlan(plan)
            let session = try runtime { try Session(plan: loaded, threads: threads) }
            let types = try loaded.inputs.map { ($0.name, try tensorType($0)) }
            let tensors = inputs.isEmpty ? types.enumerated().map { SampleInputs.random($1.1, seed: UInt64($0 + 1)) } : try bindInputs(types, inputs)
            for (i, t) in tensors.enumerated() { try runtime { try session.setInput(i, bytes: t.bytes) } }
            for _ in 0..<warmup { try runtime { try session.run() } }
            var times: [Double] = []
            for _ in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds
                try runtime { try session.run() }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            times.sort()
            func pct(_ p: Double) -> Double { times[min(times.count - 1, Int((Double(times.count - 1) * p).rounded()))] }
            print("plan \(plan): \(loaded.instructionCount) instructions, arena \(loaded.arenaSize) bytes, \(threads) thread(s), \(iterations) runs after \(warmup) warm-up")
            print(String(format: "min %.3f ms", times[0]))
            print(String(format: "median %.3f ms", pct(0.5)))
            print(String(format: "p90 %.3f ms", pct(0.9)))
            print("peak RSS \(peakRSSKiB()) KiB")
        }
    }
}

/// Peak resident set size of this process (VmHWM), in KiB; 0 where /proc is unavailable.
func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}
