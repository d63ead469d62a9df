import KilnIR

/// Problems found while importing, collected over the whole model so one error reports
/// them all.
struct Problems {
    /// Unsupported op types (`domain::Op` outside the default domain) in first-seen order,
    /// with the names of the nodes using each.
    private var unsupportedOrder: [String] = []
    private var unsupportedNodes: [String: [String]] = [:]
    /// Every other problem, one line each, in the order found.
    private var lines: [String] = []

    var isEmpty: Bool { unsupportedOrder.isEmpty && lines.isEmpty }

    mutating func unsupportedOp(_ opType: String, node: String) {
        if unsupportedNodes[opType] == nil { unsupportedOrder.append(opType) }
        unsupportedNodes[opType, default: []].append(node)
    }

    mutating func add(_ line: String) { lines.append(line) }

    /// All problems, one per line; unsupported ops are grouped on one line.
    var all: [String] {
        var out: [String] = []
        if !unsupportedOrder.isEmpty {
            let groups = unsupportedOrder.map { op in
                "\(op) (nodes: \(unsupportedNodes[op, default: []].joined(separator: ", ")))"
            }
            out.append("unsupported ops: " + groups.joined(separator: "; "))
        }
        return out + lines
    }

    /// The error to throw: one line for one problem, else a count followed by one
    /// indented line per problem.
    func error(model: String) -> KilnError {
        let list = all
        if list.count == 1 { return KilnError("\(model): \(list[0])") }
        return KilnError("\(model): \(list.count) problems:\n" + list.map { "  " + $0 }.joined(separator: "\n"))
    }
}
