import KilnIR

/// Static memory plan: where every intermediate value lives in one arena.
///
/// Algorithm (greedy by size, as in TFLite Micro's planner, plus in-place reuse):
/// 1. Schedule = step order (graph nodes or plan instructions). A value's lifetime is
///    [step that defines it, last step that reads it]; outputs live to the end; pinned
///    values (plan inputs, bound before the program runs and never written) live over the
///    whole program; a scratch buffer is a result nobody reads, so it lives only during
///    its own step.
/// 2. In-place: when a step may write its first result over an operand (elementwise ops,
///    same byte size) and that operand's buffer dies at this very step and holds no other
///    operand of the step, the result joins the operand's buffer, whose lifetime grows to
///    cover it. Chains (conv → relu → add) reuse one buffer. Aliasing (a COPY that only
///    reshapes) joins the operand's buffer even while the operand lives on: neither is
///    written again, and the buffer's lifetime becomes the union, so a later in-place
///    write to it waits until both are dead.
/// 3. Buffers are placed largest first (ties: earlier first step, then lower id — fully
///    deterministic). Each takes the lowest `alignment`-aligned offset at which it
///    overlaps no already-placed buffer whose lifetime intersects its own.
/// 4. The arena size is the highest end offset, rounded up to the alignment.
public struct MemoryPlan: Equatable, Sendable {
    /// One placed buffer: the values sharing it, its byte size, offset and lifetime.
    public struct Buffer: Equatable, Sendable {
        public var values: [ValueID]
        public var size: Int
        public var offset: Int
        public var firstStep: Int
        public var lastStep: Int
    }

    public var buffers: [Buffer]
    /// Arena offset of each planned value (intermediates and outputs).
    public var offsets: [ValueID: Int]
    /// Arena offset of each node's scratch buffer, keyed by node index.
    public var scratchOffsets: [Int: Int]
    public var arenaSize: Int
}

/// A planning problem over abstract items (values or tensors) numbered 0..<sizes.count.
public struct MemoryProblem: Sendable {
    public struct Step: Sendable {
        public var operands: [Int]
        public var results: [Int]
        /// Operand positions the first result may overwrite in place, in order of preference.
        public var inPlace: [Int]
        /// The first result may share operand 0's bytes even while operand 0 stays alive.
        public var alias: Bool

        public init(operands: [Int], results: [Int], inPlace: [Int] = [], alias: Bool = false) {
            self.operands = operands; self.results = results; self.inPlace = inPlace; self.alias = alias
        }
    }

    public var sizes: [Int]
    /// Items placed in the arena (others — constants, absent values — are ignored).
    public var planned: [Bool]
    /// Items alive over the whole program (plan inputs).
    public var pinned: [Bool]
    /// Items alive from their definition to the end (outputs).
    public var outputs: [Bool]
    public var steps: [Step]

    public init(sizes: [Int], planned: [Bool], pinned: [Bool], outputs: [Bool], steps: [Step]) {
        self.sizes = sizes; self.planned = planned; self.pinned = pinned; self.outputs = outputs; self.steps = steps
    }
}

/// The solution of a `MemoryProblem`.
public struct MemoryAssignment: Equatable, Sendable {
    public struct Buffer: Equatable, Sendable {
        public var items: [Int]
        public var size: Int
        public var offset: Int
        public var firstStep: Int
        public var lastStep: Int
    }

    public var buffers: [Buffer]
    /// Offset of each planned item (nil for unplanned ones).
    public var offsets: [Int?]
    /// Each item's own lifetime [first, last] step (nil for unplanned ones).
    public var lifetimes: [ClosedRange<Int>?]
    public var arenaSize: Int
    /// The largest total size of buffers alive at one step: a lower bound for the arena.
    public var peakLiveBytes: Int

    /// Every pair of buffers whose lifetimes intersect and whose byte ranges overlap
    /// (empty for a correct plan).
    public var overlaps: [(Buffer, Buffer)] { overlappingPairs(buffers) }
}

public enum MemoryPlanner {
    /// Solves `problem` (see the Algorithm comment on `MemoryPlan`).
    public static func plan(_ problem: MemoryProblem, alignment: Int = 64) -> MemoryAssignment {
        let n = problem.sizes.count
        let end = problem.steps.count
        func planned(_ v: Int) -> Bool { problem.planned[v] }

        // 1. Lifetimes.
        var first = [Int](repeating: -1, count: n)
        var last = [Int](repeating: -1, count: n)
        for (step, s) in problem.steps.enumerated() {
            for r in s.results where first[r] < 0 { first[r] = step; last[r] = max(last[r], step) }
            for o in s.operands { last[o] = max(last[o], step) }
        }
        for v in 0..<n where planned(v) {
            if problem.pinned[v] { first[v] = 0; last[v] = end }
            if problem.outputs[v] { last[v] = end }
        }

        // 2. Buffers, with in-place and alias joins.
        var bufferOf = [Int](repeating: -1, count: n)
        var groups: [(items: [Int], size: Int, first: Int, last: Int)] = []
        func newGroup(_ v: Int) {
            bufferOf[v] = groups.count
            groups.append(([v], problem.sizes[v], first[v], last[v]))
        }
        for v in 0..<n where planned(v) && problem.pinned[v] { newGroup(v) }
        for (step, s) in problem.steps.enumerated() {
            for (k, r) in s.results.enumerated() where planned(r) && bufferOf[r] < 0 && first[r] == step {
                if k == 0, let b = joinTarget(problem, s, step: step, result: r, bufferOf: bufferOf, groups: groups) {
                    groups[b].items.append(r)
                    groups[b].last = max(groups[b].last, last[r])
                    bufferOf[r] = b
                    continue
                }
                newGroup(r)
            }
        }

        // 3. Greedy placement, largest first.
        let order = groups.indices.sorted {
            let a = groups[$0], b = groups[$1]
            if a.size != b.size { return a.size > b.size }
            if a.first != b.first { return a.first < b.first }
            return $0 < $1
        }
        var offsets = [Int](repeating: 0, count: groups.count)
        var placed: [Int] = []
        var arena = 0
        for g in order {
            let me = groups[g]
            let conflicts = placed.filter { p in groups[p].first <= me.last && me.first <= groups[p].last }
                .map { (offsets[$0], offsets[$0] + groups[$0].size) }
                .sorted { $0.0 < $1.0 }
            var candidate = 0
            for (lo, hi) in conflicts {
                if candidate + me.size <= lo { break }
                candidate = max(candidate, align(hi, alignment))
            }
            offsets[g] = candidate
            placed.append(g)
            arena = max(arena, candidate + me.size)
        }

        // 4. Results.
        var itemOffsets = [Int?](repeating: nil, count: n)
        var buffers: [MemoryAssignment.Buffer] = []
        var liveBytes = [Int](repeating: 0, count: end + 1)
        for (g, group) in groups.enumerated() {
            for v in group.items { itemOffsets[v] = offsets[g] }
            buffers.append(.init(items: group.items, size: group.size, offset: offsets[g], firstStep: group.first, lastStep: group.last))
            for step in group.first...max(group.first, group.last) where step >= 0 && step <= end { liveBytes[step] += group.size }
        }
        let lifetimes = (0..<n).map { v -> ClosedRange<Int>? in
            planned(v) && first[v] >= 0 ? first[v]...max(first[v], last[v]) : nil
        }
        return MemoryAssignment(buffers: buffers, offsets: itemOffsets, lifetimes: lifetimes,
                                arenaSize: align(arena, alignment), peakLiveBytes: liveBytes.max() ?? 0)
    }

    /// The buffer result `r` of `s` may join, if any.
    private static func joinTarget(_ problem: MemoryProblem, _ s: MemoryProblem.Step, step: Int, result r: Int,
                                   bufferOf: [Int], groups: [(items: [Int], size: Int, first: Int, last: Int)]) -> Int? {
        let size = problem.sizes[r]
        // An alias may join a pinned buffer only as a direct view of the pinned item itself
        // (the runtime lets only a COPY whose operand *is* the input write over an input).
        if s.alias, let o = s.operands.first, problem.planned[o], bufferOf[o] >= 0, groups[bufferOf[o]].size == size,
           problem.pinned[o] || !groups[bufferOf[o]].items.contains(where: { problem.pinned[$0] }) {
            return bufferOf[o]
        }
        for position in s.inPlace where position < s.operands.count {
            let o = s.operands[position]
            let b = bufferOf[o]
            guard problem.planned[o], b >= 0, groups[b].last == step, groups[b].size == size,
                  !problem.pinned[o], !problem.outputs[o] else { continue }
            let shared = s.operands.enumerated().contains { $0.offset != position && bufferOf[$0.element] == b }
            if !shared { return b }
        }
        return nil
    }

    /// Plans `graph`. Constants and graph inputs are not placed; `inPlace(nodeIndex)` gives
    /// the operand index the node may overwrite, if any; `scratch` gives per-node scratch bytes.
    public static func plan(_ graph: Graph, alignment: Int = 64,
                            inPlace: (Int) -> Int? = { _ in nil },
                            scratch: [Int: Int] = [:]) -> MemoryPlan {
        let producers = graph.producers
        var isConstant = [Bool](repeating: false, count: graph.values.count)
        for n in graph.nodes { if case .constant = n.op { n.results.forEach { isConstant[$0.index] = true } } }
        let inputs = Set(graph.inputs)
        var sizes = graph.values.map { $0.type.byteCount }
        var planned = graph.values.indices.map { !isConstant[$0] && !inputs.contains(ValueID($0)) && producers[$0] != nil }
        var outputs = [Bool](repeating: false, count: graph.values.count)
        for o in graph.outputs { outputs[o.index] = true }
        var scratchItem = [Int: Int]()
        var steps: [MemoryProblem.Step] = []
        for (i, node) in graph.nodes.enumerated() {
            var results = node.results.map(\.index)
            if let bytes = scratch[i], bytes > 0 {
                scratchItem[i] = sizes.count
                results.append(sizes.count)
                sizes.append(bytes)
                planned.append(true)
                outputs.append(false)
            }
            steps.append(.init(operands: node.operands.map(\.index), results: results, inPlace: inPlace(i).map { [$0] } ?? []))
        }
        let problem = MemoryProblem(sizes: sizes, planned: planned, pinned: [Bool](repeating: false, count: sizes.count),
                                    outputs: outputs, steps: steps)
        let a = plan(problem, alignment: alignment)
        var valueOffsets = [ValueID: Int]()
        for v in graph.values.indices { if let o = a.offsets[v] { valueOffsets[ValueID(v)] = o } }
        let buffers = a.buffers.map { b in
            MemoryPlan.Buffer(values: b.items.filter { $0 < graph.values.count }.map(ValueID.init), size: b.size,
                              offset: b.offset, firstStep: b.firstStep, lastStep: b.lastStep)
        }
        return MemoryPlan(buffers: buffers, offsets: valueOffsets,
                          scratchOffsets: scratchItem.mapValues { a.offsets[$0] ?? 0 }, arenaSize: a.arenaSize)
    }

    static func align(_ x: Int, _ a: Int) -> Int { (x + a - 1) / a * a }
}

extension MemoryPlan {
    /// Every pair of buffers whose lifetimes intersect and whose byte ranges overlap
    /// (empty for a correct plan).
    public var overlaps: [(Buffer, Buffer)] { overlappingPairs(buffers) }
}

/// A buffer placed in the arena for a range of steps.
protocol PlacedBuffer {
    var size: Int { get }
    var offset: Int { get }
    var firstStep: Int { get }
    var lastStep: Int { get }
}

extension MemoryPlan.Buffer: PlacedBuffer {}
extension MemoryAssignment.Buffer: PlacedBuffer {}

/// Every pair of buffers whose lifetimes intersect and whose byte ranges overlap.
func overlappingPairs<B: PlacedBuffer>(_ buffers: [B]) -> [(B, B)] {
    var result: [(B, B)] = []
    for i in buffers.indices {
        for j in buffers.indices where j > i {
            let a = buffers[i], b = buffers[j]
            let live = a.firstStep <= b.lastStep && b.firstStep <= a.lastStep
            let space = a.offset < b.offset + b.size && b.offset < a.offset + a.size
            if live && space && a.size > 0 && b.size > 0 { result.append((a, b)) }
        }
    }
    return result
}
