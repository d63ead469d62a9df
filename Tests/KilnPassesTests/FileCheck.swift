/// A small subset of LLVM FileCheck for the pass tests.
///
/// Directives (in `//` comments of the test input):
/// - `CHECK: text` — `text` occurs on a line at or after the current position.
/// - `CHECK-NEXT: text` — on the line right after the previous match.
/// - `CHECK-NOT: text` — not between the previous match and the next positive match
///   (or the end of the output).
/// - `CHECK-LABEL: text` — like CHECK.
/// Text matches as a substring; `{{…}}` spans are regular expressions.
struct FileCheck {
    enum Kind { case check, next, not, label }
    struct Directive { var kind: Kind; var pattern: String; var line: Int }

    var directives: [Directive]

    init(source: String) {
        directives = []
        for (n, raw) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingPrefixSpaces()
            guard line.hasPrefix("//") else { continue }
            let body = line.dropFirst(2).trimmingPrefixSpaces()
            for (prefix, kind) in [("CHECK-NEXT:", Kind.next), ("CHECK-NOT:", .not), ("CHECK-LABEL:", .label), ("CHECK:", .check)]
            where body.hasPrefix(prefix) {
                let pattern = String(body.dropFirst(prefix.count)).trimmingPrefixSpaces()
                directives.append(Directive(kind: kind, pattern: String(pattern).trimmingSuffixSpaces(), line: n + 1))
                break
            }
        }
    }

    /// Returns nil on success, else a message naming the failing directive.
    func check(_ output: String) -> String? {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var position = 0          // first line a CHECK may match
        var lastMatch = -1
        var pendingNots: [Directive] = []
        for d in directives {
            switch d.kind {
            case .not:
                pendingNots.append(d)
            case .check, .label, .next:
                let range: [Int] = d.kind == .next ? [lastMatch + 1] : Array(position..<lines.count)
                guard let hit = range.first(where: { $0 < lines.count && Self.matches(lines[$0], d.pattern) }) else {
                    let where_ = d.kind == .next ? "on the line after the previous match" : "after line \(position)"
                    return "line \(d.line): expected '\(d.pattern)' \(where_)\n--- output ---\n\(output)"
                }
                if let bad = violated(pendingNots, lines, from: lastMatch + 1, to: hit) { return bad + "\n--- output ---\n\(output)" }
                pendingNots = []
                lastMatch = hit
                position = hit + 1
            }
        }
        if let bad = violated(pendingNots, lines, from: lastMatch + 1, to: lines.count) { return bad + "\n--- output ---\n\(output)" }
        return nil
    }

    private func violated(_ nots: [Directive], _ lines: [String], from: Int, to: Int) -> String? {
        for d in nots {
            for i in max(from, 0)..<max(to, max(from, 0)) where Self.matches(lines[i], d.pattern) {
                return "line \(d.line): CHECK-NOT '\(d.pattern)' found on output line \(i + 1): \(lines[i])"
            }
        }
        return nil
    }

    /// Substring match where `{{re}}` spans are regular expressions.
    static func matches(_ line: String, _ pattern: String) -> Bool {
        guard pattern.contains("{{") else { return line.contains(pattern) }
        var regex = ""
        var rest = Substring(pattern)
        while let open = rest.range(of: "{{") {
            regex += escape(rest[..<open.lowerBound])
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { return false }
            regex += "(?:" + rest[..<close.lowerBound] + ")"
            rest = rest[close.upperBound...]
        }
        regex += escape(rest)
        guard let re = try? Regex(regex) else { return false }
        return line.contains(re)
    }

    static func escape(_ s: Substring) -> String {
        var out = ""
        for c in s {
            if "\\^$.|?*+()[]{}".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

extension StringProtocol {
    func trimmingPrefixSpaces() -> Substring { Substring(self).drop(while: { $0 == " " || $0 == "\t" }) }
    func trimmingSuffixSpaces() -> String {
        var s = String(self)
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
