import KilnIR

/// One line of a ledger: a graph's size and cost after one pass (row 0: the input graph),
/// and how far its outputs drifted from the input graph's.
public struct LedgerRow: Equatable, Sendable {
    /// 0 for the input graph, then the pass's 1-based position in the pipeline.
    public var index: Int
    /// The pass name; "input" for row 0.
    public var pass: String
    /// Time spent in the pass (row 0: importing the model), nil when not measured.
    public var seconds: Double?
    /// Whether the pass reported a change (true for row 0).
    public var changed: Bool
    /// Operations: nodes that are not constants.
    public var nodes: Int
    /// Elements held by constants.
    public var parameters: Int
    /// Estimated FLOPs of one run (`Graph.flops(of:)`).
    public var flops: Int
    /// Bytes held by constants.
    public var constantBytes: Int
    /// Drift of each graph output against the input graph; nil when not measured.
    public var drift: [Drift]?
    /// The drift was carried over from the row before because the graph did not change.
    public var driftReused: Bool

    public init(index: Int, pass: String, seconds: Double?, changed: Bool, graph: Graph,
                drift: [Drift]?, driftReused: Bool = false) {
        let stats = graph.statistics
        self.init(index: index, pass: pass, seconds: seconds, changed: changed,
                  nodes: graph.nodes.filter { if case .constant = $0.op { false } else { true } }.count,
                  parameters: stats.parameters, flops: stats.totalFlops, constantBytes: stats.constantBytes,
                  drift: drift, driftReused: driftReused)
    }

    public init(index: Int, pass: String, seconds: Double?, changed: Bool, nodes: Int, parameters: Int,
                flops: Int, constantBytes: Int, drift: [Drift]?, driftReused: Bool = false) {
        self.index = index
        self.pass = pass
        self.seconds = seconds
        self.changed = changed
        self.nodes = nodes
        self.parameters = parameters
        self.flops = flops
        self.constantBytes = constantBytes
        self.drift = drift
        self.driftReused = driftReused
    }

    /// The worst drift over all outputs.
    public var overallDrift: Drift? { drift.map(Drift.worst) }
}

/// What each pass of a pipeline did to a graph: one row per pass after the input graph's
/// row 0. `kiln compile --report` prints it as a table (`table()`) or writes it as JSON
/// (`json()`); passes added later (pruning, decomposition, quantization) show up as rows
/// with no extra work, and later stages add footnotes (plan size, accuracy).
public struct Ledger: Equatable, Sendable {
    /// Names of the graph outputs, the order of each row's `drift`.
    public var outputs: [String]
    public var rows: [LedgerRow]
    /// Size of the plan written from the final graph, when one was written.
    public var planBytes: Int?
    /// Lines printed under the table (e.g. what the drift was measured on).
    public var notes: [String]
    /// What `--quantize int8` chose and how close the int8 plan is to fp32, when it ran.
    public var quantization: LedgerQuantization?

    public init(outputs: [String], rows: [LedgerRow] = [], planBytes: Int? = nil, notes: [String] = []) {
        self.outputs = outputs
        self.rows = rows
        self.planBytes = planBytes
        self.notes = notes
    }
}

/// The int8 quantization step of a compile, for the ledger's JSON: which layers became
/// int8 and which stayed float, and the int8 plan's accuracy against the fp32 model per
/// sample set ("calibration", "validation") and graph output.
public struct LedgerQuantization: Equatable, Sendable {
    public struct Accuracy: Equatable, Sendable {
        public var set: String
        public var output: String
        public var samples: Int
        public var minCosine: Double, meanCosine: Double, maxAbs: Double, maxRel: Double
        /// Samples whose arg-max agrees with fp32 (nil for single-element outputs).
        public var top1Agree: Int?

        public init(set: String, output: String, samples: Int, minCosine: Double, meanCosine: Double,
                    maxAbs: Double, maxRel: Double, top1Agree: Int?) {
            self.set = set; self.output = output; self.samples = samples; self.minCosine = minCosine
            self.meanCosine = meanCosine; self.maxAbs = maxAbs; self.maxRel = maxRel; self.top1Agree = top1Agree
        }
    }

    public var settings: String
    public var int8Layers: [String]
    public var floatLayers: [String]
    public var accuracy: [Accuracy]

    public init(settings: String, int8Layers: [String], floatLayers: [String], accuracy: [Accuracy]) {
        self.settings = settings; self.int8Layers = int8Layers; self.floatLayers = floatLayers; self.accuracy = accuracy
    }
}
