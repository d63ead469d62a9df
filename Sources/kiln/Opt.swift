import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

struct Opt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run passes on a model and print the resulting IR (like mlir-opt).",
        discussion: """
            With --passes a,b,c the named passes run in that order; otherwise the pipeline of the \
            -O level. The verifier runs after every pass. Pass names: \(PassManager.allPasses.map(\.name).joined(separator: ", ")).
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Comma-separated pass list.", valueName: "a,b,c"))
    var passes: String?

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimization level 0-3 (-O0 … -O3) when --passes is not given.")
    var level: Int = 2

    @Option(help: "How large constants print: summary or full (parseable).")
    var constants: ConstantsMode = .summary

    func validate() throws {
        guard OptLevel(rawValue: level) != nil else { throw ValidationError("-O takes 0, 1, 2 or 3") }
    }

    func run() throws {
        let names = passes.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        let context = PassContext(optLevel: OptLevel(rawValue: level) ?? .o2, explicitPasses: names, verifyEach: true)
        let style: ConstantStyle = constants == .full ? .full : .summary
        // A .kir test file holds several cases separated by `// -----` lines (like
        // mlir-opt --split-input-file); each is optimized and printed on its own.
        if modelOptions.model.hasSuffix(".kir"), modelOptions.binds.isEmpty,
           let text = try? String(contentsOfFile: modelOptions.model, encoding: .utf8), text.contains("\n// -----\n") {
            try reporting {
                var outputs: [String] = []
                var line = 1
                for chunk in text.components(separatedBy: "\n// -----\n") {
                    defer { line += chunk.split(separator: "\n", omittingEmptySubsequences: false).count + 1 }
                    guard chunk.contains("graph @") else { continue }
                    var graph: Graph
                    do {
                        // Pad with newlines so parse errors report the line in the whole file.
                        graph = try Parser.parse(String(repeating: "\n", count: line - 1) + chunk)
                    } catch let e as KilnError {
                        throw KilnError("\(modelOptions.model):\(e.message)")
                    }
                    try Verifier.verify(graph)
                    try PassManager.run(&graph, context: context)
                    outputs.append(Printer.print(graph, constants: style))
                }
                FileHandle.standardOutput.write(Data(outputs.joined(separator: "// -----\n").utf8))
            }
            return
        }
        var graph = try modelOptions.load()
        try reporting {
            try PassManager.run(&graph, context: context)
            FileHandle.standardOutput.write(Data(Printer.print(graph, constants: style).utf8))
        }
    }
}
