import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

enum DumpFormat: String, ExpressibleByArgument, CaseIterable {
    case kir, dot
}

/// `kiln compile`'s inspection options: IR dumps after each pass and the pass ledger.
struct InspectionOptions: ParsableArguments {
    @Option(name: .customLong("dump-ir"),
            help: ArgumentHelp("Write the IR before the first pass and after each pass to DIR as 00-input.kir, 01-<pass>.kir, …", valueName: "dir"))
    var dumpIR: String?

    @Option(name: .customLong("dump-ir-format"), help: "Format of the --dump-ir files: kir or dot (Graphviz).")
    var dumpFormat: DumpFormat = .kir

    @Option(name: .customLong("dump-ir-constants"),
            help: "How --dump-ir .kir files hold constants: full (parseable by kiln opt) or summary.")
    var dumpConstants: ConstantsMode = .full

    @Flag(name: .customLong("print-ir-after-all"), help: "Print the IR after every pass to stderr (constants summarized).")
    var printAfterAll = false

    @Flag(help: "Print the pass ledger: per pass, time, nodes, parameters, FLOPs, constant bytes and output drift.")
    var report = false

    @Option(name: .customLong("report-json"), help: ArgumentHelp("Write the pass ledger as JSON to FILE.", valueName: "file"))
    var reportJSON: String?

    @Option(name: .customLong("sample-input"),
            help: ArgumentHelp("An input to measure drift on: NAME=FILE.npy (repeatable; unnamed inputs are random).", valueName: "name=file"))
    var sampleInputs: [String] = []

    @Flag(name: .customLong("no-drift"), help: "Leave the drift columns of the ledger empty (skips the reference evaluator).")
    var noDrift = false

    var wantsLedger: Bool { report || reportJSON != nil }

    /// The instrumentations these options ask for, given the imported graph.
    func makeInspection(for graph: Graph, importSeconds: Double) throws -> Inspection {
        try require(sampleInputs.isEmpty || wantsLedger, "--sample-input needs --report or --report-json")
        try require(!(noDrift && !sampleInputs.isEmpty), "--sample-input and --no-drift contradict each other")
        var inspection = Inspection()
        if let dir = dumpIR {
            inspection.instrumentations.append(
                try IRDumper(directory: dir, format: dumpFormat, constants: dumpConstants == .full ? .full : .summary))
        }
        if printAfterAll { inspection.instrumentations.append(IRPrinter()) }
        if wantsLedger {
            var note = "drift: not measured (--no-drift)"
            var inputs: [Tensor]?
            if !noDrift {
                let (tensors, described) = try sampleTensors(for: graph)
                inputs = tensors
                note = "drift: outputs after each pass vs the input graph, both run by the reference evaluator on "
                    + (described.isEmpty ? "no inputs" : described.joined(separator: ", "))
                    + "; max rel = max|a-b| / max|b|"
            }
            let recorder = LedgerRecorder(sampleInputs: inputs, inputSeconds: importSeconds) { line in
                FileHandle.standardError.write(Data("kiln compile: \(line)\n".utf8))
            }
            recorder.addNote(note)
            inspection.recorder = recorder
            inspection.instrumentations.append(recorder)
        }
        return inspection
    }

    /// One tensor per graph input: the `--sample-input` file, or random values (see
    /// `SampleInputs`); with a description of each for the ledger's note.
    private func sampleTensors(for graph: Graph) throws -> ([Tensor], [String]) {
        var tensors = SampleInputs.random(for: graph)
        var described = graph.inputs.map { "\(graph[$0].name)=random" }
        var given = Set<Int>()
        for arg in sampleInputs {
            guard let eq = arg.firstIndex(of: "="), eq != arg.startIndex, arg.index(after: eq) != arg.endIndex else {
                throw KilnError("--sample-input expects NAME=FILE.npy, got '\(arg)'")
            }
            let name = String(arg[..<eq])
            let path = String(arg[arg.index(after: eq)...])
            guard let k = graph.inputs.firstIndex(where: { graph[$0].name == name }) else {
                let known = graph.inputs.map { "'\(graph[$0].name)'" }.joined(separator: ", ")
                throw KilnError("--sample-input \(name): the model has no input named '\(name)' (inputs: \(known.isEmpty ? "none" : known))")
            }
            try require(given.insert(k).inserted, "--sample-input: input '\(name)' is given twice")
            let want = graph.type(of: graph.inputs[k])
            let t = try readNpy(path)
            try require(t.dtype == want.dtype,
                        "\(path): input '\(name)' expects dtype \(want.dtype.rawValue), the file has \(t.dtype.rawValue)")
            try require(t.shape == want.shape, "\(path): input '\(name)' expects shape \(want.shape), the file has \(t.shape)")
            var bound = t
            bound.type = want
            tensors[k] = bound
            described[k] = "\(name)=\(path)"
        }
        return (tensors, described)
    }
}

/// The instrumentations of one compile, and the ledger recorder among them.
struct Inspection {
    var instrumentations: [any PassInstrumentation] = []
    var recorder: LedgerRecorder?

    /// Prints and writes the ledger once the plan is written.
    func finish(planBytes: Int, options: InspectionOptions) throws {
        guard let recorder else { return }
        recorder.setPlanBytes(planBytes)
        if options.report { print(recorder.ledger.table(), terminator: "") }
        if let path = options.reportJSON {
            try Data(recorder.ledger.json().utf8).write(to: URL(fileURLWithPath: path))
        }
    }
}

/// `--dump-ir DIR`: `00-input.kir` and then `NN-<pass>.kir` (or `.dot`) after each pass.
final class IRDumper: PassInstrumentation {
    let directory: URL
    let format: DumpFormat
    let constants: ConstantStyle
    private var digits = 2

    init(directory: String, format: DumpFormat, constants: ConstantStyle) throws {
        self.directory = URL(fileURLWithPath: directory)
        self.format = format
        self.constants = constants
        do {
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        } catch {
            throw KilnError("--dump-ir \(directory): cannot create the directory")
        }
    }

    func runBeforePipeline(_ graph: Graph, passes: [String]) throws {
        digits = max(2, String(passes.count).count)
        try write(graph, index: 0, name: "input")
    }

    func runAfterPass(_ run: PassRun, _ graph: Graph) throws {
        try write(graph, index: run.index, name: run.name)
    }

    private func write(_ graph: Graph, index: Int, name: String) throws {
        let number = String(repeating: "0", count: max(0, digits - String(index).count)) + String(index)
        let file = directory.appendingPathComponent("\(number)-\(name).\(format.rawValue)")
        let text = format == .dot ? graph.dot() : Printer.print(graph, constants: constants)
        do { try Data(text.utf8).write(to: file) } catch {
            throw KilnError("--dump-ir: cannot write \(file.path)")
        }
    }
}

/// `--print-ir-after-all`: the IR after each pass on stderr, under a header line.
final class IRPrinter: PassInstrumentation {
    func runAfterPass(_ run: PassRun, _ graph: Graph) throws {
        let text = "// ----- IR after \(run.name) -----\n" + Printer.print(graph, constants: .summary)
        FileHandle.standardError.write(Data(text.utf8))
    }
}
