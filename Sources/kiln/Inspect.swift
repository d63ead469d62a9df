import ArgumentParser
import Foundation
import KilnCodegen
import KilnIR
import KilnPasses

enum InspectFormat: String, ExpressibleByArgument, CaseIterable {
    case kir, json, dot
}

enum ConstantsMode: String, ExpressibleByArgument, CaseIterable {
    case summary, full
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model as Kiln IR, as JSON statistics, or as a Graphviz graph; or show a plan.",
        discussion: """
            --format kir prints the textual IR (large constants as summaries unless --constants full). \
            --format json prints the op histogram, parameter count, FLOPs per op and in total, and the \
            inputs and outputs with their types. --format dot prints Graphviz; with --output FILE.svg \
            (or .png/.pdf) it renders through the `dot` program. Given a plan (.kplan), it prints the \
            header, sections, metadata, the decomposed layers, tensor table, instructions and the memory plan. \
            For a model, --format kir ends with a comment listing the layers decompose-depthwise and \
            decompose-low-rank split (json: "decomposed_layers").
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Output format.")
    var format: InspectFormat = .kir

    @Option(help: "How --format kir prints large constants: summary or full (parseable).")
    var constants: ConstantsMode = .summary

    @Option(name: [.short, .long], help: ArgumentHelp("Write to FILE instead of stdout (dot: .svg/.png/.pdf render with Graphviz).", valueName: "file"))
    var output: String?

    func run() throws {
        if let plan = try readPlanIfAny() {
            return try reporting { try emit(plan.report) }
        }
        let graph = try modelOptions.load()
        try reporting {
            switch format {
            case .kir:
                try emit(Printer.print(graph, constants: constants == .full ? .full : .summary) + decomposedComment(graph))
            case .json:
                try emit(jsonSummary(graph))
            case .dot:
                try emitDot(graph.dot())
            }
        }
    }

    /// The decoded plan when the argument is a plan file (detected by its magic).
    private func readPlanIfAny() throws -> PlanFile? {
        guard let handle = FileHandle(forReadingAtPath: modelOptions.model) else { return nil }
        let magic = (try? handle.read(upToCount: PlanFormat.magic.count)) ?? Data()
        try? handle.close()
        guard PlanReader.isPlan(Array(magic)) else { return nil }
        return try reporting {
            guard let data = FileManager.default.contents(atPath: modelOptions.model) else {
                throw KilnError("\(modelOptions.model): cannot read")
            }
            do { return try PlanReader.read(Array(data)) } catch let e as KilnError { throw KilnError("\(modelOptions.model): \(e.message)") }
        }
    }

    private func emit(_ text: String) throws {
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    private func emitDot(_ text: String) throws {
        guard let output, let ext = output.split(separator: ".").last.map(String.init),
              ["svg", "png", "pdf"].contains(ext) else {
            return try emit(text)
        }
        guard let dot = findExecutable("dot") else {
            throw KilnError("rendering \(output) needs Graphviz's `dot`, which is not installed (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz); or write the .dot text with --output graph.dot")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dot)
        process.arguments = ["-T\(ext)", "-o", output]
        let pipe = Pipe()
        process.standardInput = pipe
        try process.run()
        pipe.fileHandleForWriting.write(Data(text.utf8))
        try pipe.fileHandleForWriting.close()
        process.waitUntilExit()
        try require(process.terminationStatus == 0, "dot failed to render \(output) (exit \(process.terminationStatus))")
    }

    /// `// decomposed layers (n):` and one `//   conv1 → depthwise r=2 + pointwise` line per
    /// layer after the IR (comments: the text still parses), or "" when there are none.
    private func decomposedComment(_ g: Graph) -> String {
        let layers = g.decomposedLayers
        guard !layers.isEmpty else { return "" }
        return (["// decomposed layers (\(layers.count)):"] + layers.map { "//   \($0)" }).joined(separator: "\n") + "\n"
    }

    private func jsonSummary(_ g: Graph) throws -> String {
        let stats = g.statistics
        func io(_ ids: [ValueID]) -> [[String: Any]] {
            ids.map { ["name": g[$0].name, "dtype": g.type(of: $0).dtype.rawValue, "shape": g.type(of: $0).shape.dims] }
        }
        let object: [String: Any] = [
            "graph": g.name,
            "nodes": g.nodes.count,
            "op_histogram": stats.opHistogram,
            "parameters": stats.parameters,
            "constant_bytes": stats.constantBytes,
            "flops_by_op": stats.flopsByOp,
            "flops_total": stats.totalFlops,
            "inputs": io(g.inputs),
            "outputs": io(g.outputs),
            "decomposed_layers": g.decomposedLayers.map {
                ["layer": $0.layer, "kind": $0.kind.rawValue, "rank": $0.rank] as [String: Any]
            },
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}
