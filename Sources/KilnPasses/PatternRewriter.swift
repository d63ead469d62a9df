import KilnIR

/// A local rewrite: looks at one root node and, if it matches, returns what replaces the
/// root's results (MLIR's OpRewritePattern, tinygrad's PatternMatcher).
public protocol RewritePattern: Sendable {
    /// Returns nil when the pattern does not apply. Otherwise the rewriter has created any
    /// new nodes it needs, and the result lists one replacement value per root result.
    func rewrite(_ node: Node, _ rewriter: inout Rewriter) throws -> [ValueID]?
}

/// The pattern's view of the graph: read access plus node creation before the root.
public struct Rewriter {
    public internal(set) var graph: Graph
    let producers: [Int?]
    let users: [[Int]]
    var inserted: [Node] = []

    init(graph: Graph) {
        self.graph = graph
        producers = graph.producers
        users = graph.users
    }

    public func type(of v: ValueID) -> TensorType { graph.type(of: v) }

    /// The node defining `v`, if any (nil for graph inputs).
    public func producer(of v: ValueID) -> Node? { producers[v.index].map { graph.nodes[$0] } }

    /// Constant value of `v` if a constant node defines it.
    public func constant(_ v: ValueID) -> Tensor? {
        if let n = producer(of: v), case .constant(let t) = n.op { return t }
        return nil
    }

    /// How many times `v` is used as an operand, plus one if it is a graph output.
    public func useCount(_ v: ValueID) -> Int { users[v.index].count + (graph.outputs.contains(v) ? 1 : 0) }

    public func isGraphOutput(_ v: ValueID) -> Bool { graph.outputs.contains(v) }

    /// Creates a node (inserted right before the root) and returns its results.
    public mutating func create(_ op: Op, _ operands: [ValueID], name: String = "", nodeName: String = "") throws -> [ValueID] {
        let types = try op.resultTypes(operands.map { graph.type(of: $0) })
        let results = types.enumerated().map { k, t in
            graph.addValue(name: name.isEmpty ? "" : (types.count == 1 ? name : "\(name)_\(k)"), type: t)
        }
        inserted.append(Node(op: op, operands: operands, results: results, name: nodeName))
        return results
    }

    public mutating func create1(_ op: Op, _ operands: [ValueID], name: String = "", nodeName: String = "") throws -> ValueID {
        try create(op, operands, name: name, nodeName: nodeName)[0]
    }
}

/// Applies patterns to a fixed point.
///
/// Algorithm:
/// 1. Walk the nodes in order; for each node try the patterns in order; the first that
///    returns replacements wins: its new nodes are inserted before the root and every use
///    of the root's results is redirected to the replacements. Names carry over: a new
///    value takes the name of the value it replaces, and so does a replacement of a graph
///    output (which must not be a graph input or another output).
/// 2. After a sweep with changes, dead nodes are removed and the sweep repeats, until a
///    sweep changes nothing or `maxSweeps` is reached.
public enum PatternDriver {
    public static func apply(_ patterns: [any RewritePattern], to graph: inout Graph, maxSweeps: Int = 32) throws -> Bool {
        var changedAny = false
        for _ in 0..<maxSweeps {
            var changed = false
            var i = 0
            while i < graph.nodes.count {
                let node = graph.nodes[i]
                var rewriter = Rewriter(graph: graph)
                var replacement: [ValueID]?
                for p in patterns {
                    rewriter = Rewriter(graph: graph)
                    if let r = try p.rewrite(node, &rewriter) { replacement = r; break }
                }
                guard let replacement, replacement.count == node.results.count, replacement != node.results,
                      keepsOutputNames(node.results, replacement, graph) else {
                    i += 1
                    continue
                }
                let firstNewValue = graph.values.count
                graph = rewriter.graph
                graph.nodes.insert(contentsOf: rewriter.inserted, at: i)
                for (old, new) in zip(node.results, replacement) {
                    let wasOutput = graph.outputs.contains(old)
                    graph.replaceAllUses(of: old, with: new)
                    // A value the rewrite made carries on the name of the one it replaces.
                    if wasOutput || new.index >= firstNewValue { takeOverName(from: old, to: new, in: &graph) }
                }
                changed = true
                i += rewriter.inserted.count + 1
            }
            if !changed { break }
            changedAny = true
            graph.removeDeadNodes()
        }
        return changedAny
    }

    /// A rewrite may replace a graph output only by a value that can take over its name:
    /// not a graph input and not already an output.
    static func keepsOutputNames(_ old: [ValueID], _ new: [ValueID], _ graph: Graph) -> Bool {
        zip(old, new).allSatisfy { o, n in
            !graph.outputs.contains(o) || (!graph.inputs.contains(n) && !graph.outputs.contains(n))
        }
    }

    /// Graph outputs keep their names across rewrites (the user asks for them by name).
    static func takeOverName(from old: ValueID, to new: ValueID, in graph: inout Graph) {
        let name = graph[old].name
        let taken = Set(graph.values.map(\.name))
        var fresh = name + ".replaced"
        var k = 1
        while taken.contains(fresh) { fresh = "\(name).replaced\(k)"; k += 1 }
        graph[old].name = fresh
        graph[new].name = name
    }
}
