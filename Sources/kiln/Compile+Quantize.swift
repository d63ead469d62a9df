import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

/// `kiln compile --quantize int8 --calibration DIR`: static int8 quantization after the
/// -O pipeline (see `QuantizeInt8`). `--quantize dynamic-int8`: gemm/mat_mul weights int8,
/// activations quantized while running (see `QuantizeDynamic`); it takes no calibration
/// (giving --calibration is an error, so a user never believes samples were used).
///
/// The calibration folder holds one sample per subfolder, each with `<input>.npy` for
/// every graph input (names as `kiln run` writes them), or, for a single-input graph,
/// `.npy` files directly in the folder, one sample each. Samples are read in name order.
struct QuantizeOptions: ParsableArguments {
    @Option(name: .customLong("quantize"), help: ArgumentHelp("Quantize the plan: int8 (static, needs --calibration), dynamic-int8 (Gemm/MatMul weights int8 per output column, activations quantized while running: no calibration; for Transformers and MLPs) or fp16 (large f32 weights stored as f16, widened at load: half-size plans).", valueName: "mode"))
    var quantize: String?

    @Option(name: .customLong("dynamic-scale"),
            help: ArgumentHelp("With --quantize dynamic-int8: one activation range per row (default; each token / batch row) or per tensor (ONNX DynamicQuantizeLinear's, as ONNX Runtime's quantize_dynamic).", valueName: "row|tensor"))
    var dynamicScale: String?

    @Option(name: .customLong("calibration"),
            help: ArgumentHelp("Calibration samples: a folder of .npy files (single-input graphs) or of one subfolder per sample with <input>.npy files.", valueName: "dir"))
    var calibration: String?

    @Option(name: .customLong("calibration-method"), help: "How activation ranges are chosen: minmax (default) or percentile.")
    var method: String = "minmax"

    @Option(name: .customLong("percentile"), help: "Percentile for --calibration-method percentile (default 99.99).")
    var percentile: Double = 99.99

    func validate() throws {
        if let q = quantize, q != "int8", q != "fp16", q != "dynamic-int8" {
            throw ValidationError("--quantize takes int8, dynamic-int8 or fp16 (got '\(q)')")
        }
        if quantize == "int8" && calibration == nil { throw ValidationError("--quantize int8 needs --calibration DIR") }
        if quantize == "dynamic-int8" && calibration != nil {
            throw ValidationError("--quantize dynamic-int8 takes no --calibration (activation ranges are computed while running); use --quantize int8 for calibrated static int8")
        }
        if let d = dynamicScale {
            if quantize != "dynamic-int8" { throw ValidationError("--dynamic-scale needs --quantize dynamic-int8") }
            if d != "row" && d != "tensor" { throw ValidationError("--dynamic-scale takes row or tensor (got '\(d)')") }
        }
        if quantize == "fp16" && calibration != nil { throw ValidationError("--calibration needs --quantize int8") }
        if quantize == nil && calibration != nil { throw ValidationError("--calibration needs --quantize int8") }
        if CalibrationMethod(rawValue: method) == nil { throw ValidationError("--calibration-method takes minmax or percentile") }
        if !(percentile > 50 && percentile <= 100) { throw ValidationError("--percentile must be in (50, 100]") }
    }

    /// `--quantize fp16`: the plan stores large f32 weights as f16 (`PlanOptions.halfWeights`).
    var halfWeights: Bool { quantize == "fp16" }

    /// Quantizes `graph` to int8 if asked; returns the pipeline note for the plan's metadata.
    func apply(_ graph: inout Graph) throws -> String? {
        if quantize == "dynamic-int8" {
            let perRow = dynamicScale != "tensor"
            let count = try QuantizeDynamic(perRow: perRow).apply(&graph)
            FileHandle.standardError.write(Data("quantized \(count) Gemm/MatMul ops to dynamic int8 (activation ranges per \(perRow ? "row" : "tensor"))\n".utf8))
            return "quantize=dynamic-int8,activations=\(perRow ? "row" : "tensor")"
        }
        guard quantize == "int8", let dir = calibration else { return nil }
        let samples = try loadSamples(dir, graph)
        let report = try QuantizeInt8.run(&graph, samples: samples, method: CalibrationMethod(rawValue: method) ?? .minmax,
                                          percentile: percentile) { i, n in
            FileHandle.standardError.write(Data("\rcalibrating: sample \(i)/\(n)\(i == n ? "\n" : "")".utf8))
        }
        FileHandle.standardError.write(Data("quantized \(report.quantized) ops to int8, \(report.boundaries) float→int8 boundaries\n".utf8))
        return "quantize=int8,calibration=\(method)\(method == "percentile" ? "@\(percentile)" : ""),samples=\(samples.count)"
    }

    private func loadSamples(_ dir: String, _ graph: Graph) throws -> [[Tensor]] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        try require(fm.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue, "--calibration \(dir): not a folder")
        let entries = try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        let url = URL(fileURLWithPath: dir)
        let subfolders = entries.filter { e in
            var d: ObjCBool = false
            return fm.fileExists(atPath: url.appendingPathComponent(e).path, isDirectory: &d) && d.boolValue
        }
        var samples: [[Tensor]] = []
        if !subfolders.isEmpty {
            for s in subfolders {
                samples.append(try graph.inputs.map { id in
                    let file = url.appendingPathComponent(s).appendingPathComponent(Npy.fileName(for: graph[id].name) + ".npy")
                    return try loadSample(file.path, graph, id)
                })
            }
        } else {
            let files = entries.filter { $0.hasSuffix(".npy") }
            if !files.isEmpty {
                try require(graph.inputs.count == 1,
                            "--calibration \(dir): the graph has \(graph.inputs.count) inputs; use one subfolder per sample with <input>.npy files")
            }
            for f in files { samples.append([try loadSample(url.appendingPathComponent(f).path, graph, graph.inputs[0])]) }
        }
        try require(!samples.isEmpty, "--calibration \(dir): no calibration samples (.npy files or sample subfolders) found")
        return samples
    }

    private func loadSample(_ path: String, _ graph: Graph, _ id: ValueID) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KilnError("calibration sample \(path): cannot read the file (input '\(graph[id].name)')")
        }
        let t = try Npy.decode(Array(data), what: path)
        let want = graph.type(of: id)
        try require(t.dtype == want.dtype && t.shape == want.shape,
                    "calibration sample \(path): input '\(graph[id].name)' expects \(want.dtype.rawValue)\(want.shape), got \(t.dtype.rawValue)\(t.shape)")
        return t
    }
}
