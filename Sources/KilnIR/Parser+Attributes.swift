/// An attribute value as written, before an op says what type it must have.
struct ParsedAttribute {
    indirect enum Kind {
        /// The number's spelling (`3`, `-0.5`, `1e-05`, `nan`).
        case number(String)
        case word(String)
        case string(String)
        case list([ParsedAttribute])
        case call(String, [AttributeEntry])
    }

    var kind: Kind
    var position: SourcePosition
}

/// `name = value` inside `{…}`, `quant<…>`, `random<…>` or an activation call.
struct AttributeEntry {
    var name: String
    var position: SourcePosition
    var value: ParsedAttribute
}

extension GraphParser {
    /// Nesting limit for lists and calls, so deep garbage cannot exhaust the stack.
    static let maxAttributeDepth = 16

    /// Entries up to and including `closing` (the opening delimiter is already consumed).
    mutating func parseAttributeEntries(closing: String, depth: Int = 0) throws -> [AttributeEntry] {
        var entries: [AttributeEntry] = []
        if try consumeIf(closing) { return entries }
        repeat {
            guard token.kind == .identifier else { throw unexpected("attribute name") }
            let name = token.text
            let position = token.position
            try advance()
            try consume("=")
            entries.append(AttributeEntry(name: name, position: position, value: try parseAttributeValue(depth: depth)))
        } while try consumeIf(",")
        try consume(closing)
        return entries
    }

    mutating func parseAttributeValue(depth: Int) throws -> ParsedAttribute {
        let position = token.position
        guard depth < GraphParser.maxAttributeDepth else {
            throw KilnError("\(position): attribute value is nested too deeply")
        }
        switch token.kind {
        case .number:
            let text = token.text
            try advance()
            return ParsedAttribute(kind: .number(text), position: position)
        case .string:
            let text = token.text
            try advance()
            return ParsedAttribute(kind: .string(text), position: position)
        case .identifier:
            let word = token.text
            try advance()
            if try consumeIf("(") {
                let args = try parseAttributeEntries(closing: ")", depth: depth + 1)
                return ParsedAttribute(kind: .call(word, args), position: position)
            }
            return ParsedAttribute(kind: .word(word), position: position)
        case .punctuation where token.text == "[":
            try advance()
            var items: [ParsedAttribute] = []
            if !token.isPunctuation("]") {
                repeat { items.append(try parseAttributeValue(depth: depth + 1)) } while try consumeIf(",")
            }
            try consume("]")
            return ParsedAttribute(kind: .list(items), position: position)
        case .punctuation, .valueName, .graphName, .end:
            throw unexpected("attribute value")
        }
    }
}

/// Reads typed attributes by name for one op (the `context` of its messages).
///
/// A missing required attribute yields a placeholder and is reported by `finish()`, after
/// unknown names, so a misspelled attribute is reported as unknown rather than as missing.
/// A present attribute of the wrong type throws at once.
struct AttributeReader {
    let context: String
    /// Where "missing attribute" errors point: the op's mnemonic.
    let position: SourcePosition
    private let entries: [AttributeEntry]
    private var used: Set<String> = []
    private var missing: String?

    init(context: String, position: SourcePosition, entries: [AttributeEntry]) throws {
        var seen: Set<String> = []
        for e in entries where !seen.insert(e.name).inserted {
            throw KilnError("\(e.position): \(context): duplicate attribute '\(e.name)'")
        }
        self.context = context
        self.position = position
        self.entries = entries
    }

    /// Unknown attributes first, then the first missing one.
    func finish() throws {
        if let e = entries.first(where: { !used.contains($0.name) }) {
            throw KilnError("\(e.position): \(context): unknown attribute '\(e.name)'")
        }
        if let name = missing { throw KilnError("\(position): \(context): missing attribute '\(name)'") }
    }

    private mutating func take(_ name: String, optional: Bool) -> ParsedAttribute? {
        used.insert(name)
        if let e = entries.first(where: { $0.name == name }) { return e.value }
        if !optional && missing == nil { missing = name }
        return nil
    }

    private func mismatch(_ name: String, _ value: ParsedAttribute, _ expected: String) -> KilnError {
        KilnError("\(value.position): \(context): attribute '\(name)' must be \(expected)")
    }

    // MARK: - Scalars

    private func asInt(_ name: String, _ v: ParsedAttribute) throws -> Int {
        guard case .number(let text) = v.kind, let i = Int(text) else { throw mismatch(name, v, "an integer") }
        return i
    }

    private func asFloat(_ name: String, _ v: ParsedAttribute) throws -> Float {
        guard case .number(let text) = v.kind, let f = Float(text) else { throw mismatch(name, v, "a number") }
        return f
    }

    mutating func int(_ name: String) throws -> Int {
        guard let v = take(name, optional: false) else { return 0 }
        return try asInt(name, v)
    }

    mutating func optionalInt(_ name: String) throws -> Int? {
        guard let v = take(name, optional: true) else { return nil }
        return try asInt(name, v)
    }

    mutating func float(_ name: String) throws -> Float {
        guard let v = take(name, optional: false) else { return 0 }
        return try asFloat(name, v)
    }

    mutating func optionalFloat(_ name: String) throws -> Float? {
        guard let v = take(name, optional: true) else { return nil }
        return try asFloat(name, v)
    }

    mutating func double(_ name: String) throws -> Double {
        guard let v = take(name, optional: false) else { return 0 }
        guard case .number(let text) = v.kind, let d = Double(text) else { throw mismatch(name, v, "a number") }
        return d
    }

    mutating func bool(_ name: String) throws -> Bool {
        guard let v = take(name, optional: false) else { return false }
        guard case .word(let w) = v.kind, w == "true" || w == "false" else { throw mismatch(name, v, "true or false") }
        return w == "true"
    }

    mutating func string(_ name: String) throws -> String {
        guard let v = take(name, optional: false) else { return "" }
        guard case .string(let s) = v.kind else { throw mismatch(name, v, "a string") }
        return s
    }

    /// An enum value spelled by its raw value (`half_pixel`, `f16`).
    mutating func word<E: CaseIterable & RawRepresentable>(_ name: String, placeholder: E) throws -> E
    where E.RawValue == String {
        guard let v = take(name, optional: false) else { return placeholder }
        guard case .word(let w) = v.kind, let e = E(rawValue: w) else {
            throw mismatch(name, v, "one of " + E.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return e
    }

    /// An optional attribute as written, for attributes with their own syntax.
    mutating func optionalItem(_ name: String) -> ParsedAttribute? {
        take(name, optional: true)
    }

    // MARK: - Lists

    private mutating func list(_ name: String) throws -> (items: [ParsedAttribute], value: ParsedAttribute)? {
        guard let v = take(name, optional: false) else { return nil }
        guard case .list(let items) = v.kind else { return ([], v) }
        return (items, v)
    }

    mutating func ints(_ name: String) throws -> [Int] {
        guard let (items, v) = try list(name) else { return [] }
        guard case .list = v.kind else { throw mismatch(name, v, "a list of integers") }
        return try items.map { item in
            guard case .number(let text) = item.kind, let i = Int(text) else { throw mismatch(name, item, "a list of integers") }
            return i
        }
    }

    mutating func int64s(_ name: String) throws -> [Int64] {
        try ints(name).map { Int64($0) }
    }

    mutating func floats(_ name: String) throws -> [Float] {
        guard let (items, v) = try list(name) else { return [] }
        guard case .list = v.kind else { throw mismatch(name, v, "a list of numbers") }
        return try items.map { item in
            guard case .number(let text) = item.kind, let f = Float(text) else { throw mismatch(name, item, "a list of numbers") }
            return f
        }
    }

    /// The raw items of a list attribute, for attributes with their own item syntax.
    mutating func items(_ name: String, expected: String) throws -> [ParsedAttribute] {
        guard let (items, v) = try list(name) else { return [] }
        guard case .list = v.kind else { throw mismatch(name, v, expected) }
        return items
    }
}
