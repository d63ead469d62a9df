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

    @Option(name: .customShort("O"), help: "Optimization level 0-3 when --passes is not given.")
    var level: Int = 2

    @Option(help: "How large constants print: summary or full (parseable).")
    var constants: ConstantsMode = .summary

    func validate() throws {
        guard OptLevel(rawValue: level) != nil else { throw ValidationError("-O takes 0, 1, 2 or 3") }
    }

    func run() throws {
        var graph = try modelOptions.load()
        try reporting {
            let names = passes.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            let context = PassContext(optLevel: OptLevel(rawValue: level) ?? .o2, explicitPasses: names, verifyEach: true)
            try PassManager.run(&graph, context: context)
            FileHandle.standardOutput.write(Data(Printer.print(graph, constants: constants == .full ? .full : .summary).utf8))
        }
    }
}
