import KilnIR

/// Static memory plan: where every intermediate value lives in one arena.
///
/// Algorithm (greedy by size, as in TFLite Micro's planner, plus in-place reuse):
/// 1. Schedule = node order. A value's lifetime is [step that defines it, last step that
///    reads it]; graph outputs live to the end; a node's scratch buffer lives only during
///    its own step.
/// 2. In-place: when an op may write its result over an operand (elementwise ops, same
///    byte size) and that operand's buffer dies at this very step and is not a graph
///    input, constant or output, the result joins the operand's buffer, whose lifetime
///    grows to cover it. Chains (conv → relu → add) reuse one buffer.
/// 3. Buffers are placed largest first (ties: earlier first step, then lower id — fully
///    deterministic). Each takes the lowest `alignment`-aligned offset at which it
///    overlaps no already-placed buffer whose lifetime intersects its own.
/// 4. The arena size is the highest end offset.
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

public enum MemoryPlanner {
    /// Plans `graph`. `needsArena(value)` says which values live in the arena (by default
    /// everything but constants and graph inputs); `inPlace(nodeIndex)` gives the operand
    /// index the node may overwrite, if any; `scratch` gives per-node scratch bytes.
    public static func plan(_ graph: Graph, alignment: Int = 64,
                            inPlace: (Int) -> Int? = { _ in nil },
                            scratch: [Int: Int] = [:]) -> MemoryPlan {
        let producers = graph.producers
        var isConstant = [Bool](repeating: false, count: graph.values.count)
        for n in graph.nodes { if case .constant = n.op { n.results.forEach { isConstant[$0.index] = true } } }
        let inputs = Set(graph.inputs)
        let outputs = Set(graph.outputs)
        let end = graph.nodes.count
        func planned(_ v: ValueID) -> Bool { !isConstant[v.index] && !inputs.contains(v) && producers[v.index] != nil }

        // 1. Lifetimes.
        var first = [Int](repeating: -1, count: graph.values.count)
        var last = [Int](repeating: -1, count: graph.values.count)
        for (step, n) in graph.nodes.enumerated() {
            for r in n.results { first[r.index] = step; last[r.index] = max(last[r.index], step) }
            for o in n.operands { last[o.index] = max(last[o.index], step) }
        }
        for o in outputs { last[o.index] = end }

        // 2. Buffers, with in-place joins.
        var bufferOf = [Int](repeating: -1, count: graph.values.count)
        var groups: [(values: [ValueID], size: Int, first: Int, last: Int)] = []
        for (step, n) in graph.nodes.enumerated() {
            for (k, r) in n.results.enumerated() where planned(r) {
                let size = graph.type(of: r).byteCount
                if k == 0, let operandIndex = inPlace(step), operandIndex < n.operands.count {
                    let o = n.operands[operandIndex]
                    let b = bufferOf[o.index]
                    if planned(o), !outputs.contains(o), b >= 0, groups[b].last == step, groups[b].size == size,
                       !n.operands.enumerated().contains(where: { $0.offset != operandIndex && bufferOf[$0.element.index] == b }) {
                        groups[b].values.append(r)
                        groups[b].last = last[r.index]
                        bufferOf[r.index] = b
                        continue
                    }
                }
                bufferOf[r.index] = groups.count
                groups.append(([r], size, first[r.index], last[r.index]))
            }
        }
        var scratchGroup = [Int: Int]()
        for (step, bytes) in scratch.sorted(by: { $0.key < $1.key }) where bytes > 0 {
            scratchGroup[step] = groups.count
            groups.append(([], bytes, step, step))
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

        var valueOffsets = [ValueID: Int]()
        var buffers: [MemoryPlan.Buffer] = []
        for (g, group) in groups.enumerated() {
            for v in group.values { valueOffsets[v] = offsets[g] }
            buffers.append(.init(values: group.values, size: group.size, offset: offsets[g], firstStep: group.first, lastStep: group.last))
        }
        return MemoryPlan(buffers: buffers, offsets: valueOffsets,
                          scratchOffsets: scratchGroup.mapValues { offsets[$0] },
                          arenaSize: align(arena, alignment))
    }

    static func align(_ x: Int, _ a: Int) -> Int { (x + a - 1) / a * a }
}

extension MemoryPlan {
    /// Every pair of buffers whose lifetimes intersect and whose byte ranges overlap
    /// (empty for a correct plan).
    public var overlaps: [(Buffer, Buffer)] {
        var result: [(Buffer, Buffer)] = []
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
}
