/// Reads the textual IR (`.kir`) that `Printer` writes, back into a `Graph`.
///
/// Grammar (whitespace and `//` comments between tokens are ignored):
///
///     file      := graph*                      (`parse` wants exactly one)
///     graph     := 'graph' @name '(' [%name ':' type {',' …}] ')' '->' '(' [type {',' type}] ')'
///                  '{' statement* 'return' [%name {',' %name}] '}'
///     statement := [%name {',' %name} '='] mnemonic '(' [%name {',' …}] ')' ['{' attrs '}']
///                  ':' (type {',' type} | '()') [loc]
///                | %name '=' 'constant' type data [loc]
///     type      := dtype '[' [int {',' int}] ']' ['quant' '<' attrs '>']
///     data      := 'dense' '<' '[' literals ']' '>' | 'dense' '<' "0x<hex of little-endian bytes>" '>'
///                | 'splat' '<' literal '>' | 'random' '<' 'seed' '=' int '>'
///     attrs     := [name '=' value {',' name '=' value}]
///     value     := number | identifier | string | '[' [value {',' value}] ']' | identifier '(' attrs ')'
///     loc       := 'loc' '(' string ')'
///
/// The parser builds nodes with the result types written in the text: it never runs type
/// rules, so a parsed graph should be checked with the `Verifier` by the caller. Values are
/// numbered in definition order (inputs, then results in statement order), so
/// `parse(print(g, constants: .full)) == g` for a compacted graph. Errors are
/// `KilnError("LINE:COL: message")`; no input makes the parser trap.
public enum Parser {
    /// Parses one graph.
    public static func parse(_ text: String) throws -> Graph {
        var parser = try GraphParser(text)
        let graph = try parser.parseGraph()
        guard parser.token.kind == .end else { throw parser.unexpected("end of input") }
        return graph
    }

    /// Parses every graph in the text (test files separate them with `// -----` lines).
    public static func parseGraphs(_ text: String) throws -> [Graph] {
        var parser = try GraphParser(text)
        var graphs: [Graph] = []
        repeat { graphs.append(try parser.parseGraph()) } while parser.token.kind != .end
        return graphs
    }
}

/// Parser state: the lexer, one token of lookahead and the graph being built.
struct GraphParser {
    private var lexer: Lexer
    private(set) var token: Token
    private var graph = Graph(name: "")
    private var valueIDs: [String: ValueID] = [:]

    init(_ text: String) throws {
        lexer = Lexer(text)
        token = try lexer.next()
    }

    // MARK: - Token helpers

    mutating func advance() throws { token = try lexer.next() }

    /// `LINE:COL: expected X, found Y` at the current token.
    func unexpected(_ expected: String) -> KilnError {
        KilnError("\(token.position): expected \(expected), found \(token.description)")
    }

    @discardableResult
    mutating func consume(_ punctuation: String) throws -> Token {
        guard token.isPunctuation(punctuation) else { throw unexpected("'\(punctuation)'") }
        let t = token
        try advance()
        return t
    }

    mutating func consumeIf(_ punctuation: String) throws -> Bool {
        guard token.isPunctuation(punctuation) else { return false }
        try advance()
        return true
    }

    /// An integer token (`what` names it in the error).
    mutating func integer(_ what: String) throws -> Int {
        guard token.kind == .number, let v = Int(token.text) else { throw unexpected(what) }
        try advance()
        return v
    }

    mutating func string(_ what: String) throws -> String {
        guard token.kind == .string else { throw unexpected(what) }
        let s = token.text
        try advance()
        return s
    }

    private mutating func valueName() throws -> (name: String, position: SourcePosition) {
        guard token.kind == .valueName else { throw unexpected("value name") }
        let t = token
        guard !t.text.isEmpty else { throw KilnError("\(t.position): value names must not be empty") }
        try advance()
        return (t.text, t.position)
    }

    // MARK: - Values

    private mutating func define(_ name: String, _ type: TensorType, at position: SourcePosition) throws -> ValueID {
        guard valueIDs[name] == nil else {
            throw KilnError("\(position): redefinition of value \(Printer.valueName(name))")
        }
        let id = ValueID(graph.values.count)
        graph.values.append(Value(name: name, type: type))
        valueIDs[name] = id
        return id
    }

    private func resolve(_ name: String, at position: SourcePosition) throws -> ValueID {
        guard let id = valueIDs[name] else {
            throw KilnError("\(position): use of undefined value \(Printer.valueName(name))")
        }
        return id
    }

    // MARK: - Graph

    mutating func parseGraph() throws -> Graph {
        graph = Graph(name: "")
        valueIDs = [:]
        guard token.isIdentifier("graph") else { throw unexpected("'graph'") }
        try advance()
        guard token.kind == .graphName else { throw unexpected("graph name") }
        graph.name = token.text
        try advance()

        try consume("(")
        if !token.isPunctuation(")") {
            repeat {
                let (name, position) = try valueName()
                try consume(":")
                graph.inputs.append(try define(name, try parseType(), at: position))
            } while try consumeIf(",")
        }
        try consume(")")
        try consume("->")
        try consume("(")
        var outputTypes: [TensorType] = []
        if !token.isPunctuation(")") {
            repeat { outputTypes.append(try parseType()) } while try consumeIf(",")
        }
        try consume(")")
        try consume("{")

        while !token.isIdentifier("return") {
            guard token.kind == .valueName || token.kind == .identifier else { throw unexpected("statement or 'return'") }
            try parseStatement()
        }
        let returnPosition = token.position
        try advance()
        var outputs: [(id: ValueID, position: SourcePosition)] = []
        if token.kind == .valueName {
            repeat {
                let (name, position) = try valueName()
                outputs.append((try resolve(name, at: position), position))
            } while try consumeIf(",")
        }
        try consume("}")

        guard outputs.count == outputTypes.count else {
            throw KilnError("\(returnPosition): return has \(outputs.count) values, but the graph header declares \(outputTypes.count) result types")
        }
        for (output, declared) in zip(outputs, outputTypes) where graph.type(of: output.id) != declared {
            throw KilnError("\(output.position): returned value \(Printer.valueName(graph[output.id].name)) has type \(Printer.typeText(graph.type(of: output.id))), but the graph header declares \(Printer.typeText(declared))")
        }
        graph.outputs = outputs.map(\.id)
        return graph
    }

    // MARK: - Statements

    private mutating func parseStatement() throws {
        var results: [(name: String, position: SourcePosition)] = []
        if token.kind == .valueName {
            repeat { results.append(try valueName()) } while try consumeIf(",")
            try consume("=")
        }
        guard token.kind == .identifier else { throw unexpected("op name") }
        let mnemonic = token.text
        let mnemonicPosition = token.position
        try advance()

        if mnemonic == "constant" {
            guard results.count == 1 else {
                throw KilnError("\(mnemonicPosition): constant defines exactly one result, found \(results.count)")
            }
            let type = try parseType()
            let tensor = try parseConstantData(type, valueName: results[0].name)
            let nodeName = try parseLocation()
            let id = try define(results[0].name, tensor.type, at: results[0].position)
            graph.nodes.append(Node(op: .constant(tensor), operands: [], results: [id], name: nodeName))
            return
        }

        try consume("(")
        var operands: [(name: String, position: SourcePosition)] = []
        if !token.isPunctuation(")") {
            repeat { operands.append(try valueName()) } while try consumeIf(",")
        }
        try consume(")")
        var entries: [AttributeEntry] = []
        if try consumeIf("{") { entries = try parseAttributeEntries(closing: "}") }
        let colon = try consume(":")
        var types: [TensorType] = []
        if try consumeIf("(") {
            try consume(")")
        } else {
            repeat { types.append(try parseType()) } while try consumeIf(",")
        }
        let nodeName = try parseLocation()

        // Semantic checks, in source order where possible.
        var reader = try AttributeReader(context: mnemonic, position: mnemonicPosition, entries: entries)
        let built = Result { try Parser.makeOp(mnemonic, &reader) }
        if case .success(nil) = built { throw KilnError("\(mnemonicPosition): unknown op '\(mnemonic)'") }
        let operandIDs = try operands.map { try resolve($0.name, at: $0.position) }
        guard let op = try built.get() else { throw KilnError("\(mnemonicPosition): unknown op '\(mnemonic)'") }
        try reader.finish()
        guard types.count == results.count else {
            throw KilnError("\(colon.position): \(mnemonic) has \(results.count) result names but \(types.count) result types")
        }
        var resultIDs: [ValueID] = []
        for (result, type) in zip(results, types) {
            resultIDs.append(try define(result.name, type, at: result.position))
        }
        graph.nodes.append(Node(op: op, operands: operandIDs, results: resultIDs, name: nodeName))
    }

    /// `loc("name")` or nothing (empty node name).
    private mutating func parseLocation() throws -> String {
        guard token.isIdentifier("loc") else { return "" }
        try advance()
        try consume("(")
        let name = try string("node name string")
        try consume(")")
        return name
    }

    // MARK: - Types

    /// `f32[1,3,224,224]`, optionally followed by `quant<scales = […], zero_points = […], axis = n>`.
    mutating func parseType() throws -> TensorType {
        guard token.kind == .identifier else { throw unexpected("type") }
        let start = token.position
        guard let dtype = DType(rawValue: token.text) else {
            throw KilnError("\(start): unknown element type '\(token.text)'")
        }
        try advance()
        try consume("[")
        var dims: [Int] = []
        if !token.isPunctuation("]") {
            repeat {
                let position = token.position
                let d = try integer("dimension")
                guard d >= 0 else { throw KilnError("\(position): negative dimension \(d)") }
                dims.append(d)
            } while try consumeIf(",")
        }
        try consume("]")
        // Later code computes byte counts freely, so reject shapes whose size overflows Int.
        var bytes = dtype.byteSize
        for d in dims {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw KilnError("\(start): type \(dtype.rawValue)\(Shape(dims)) is too large") }
            bytes = product
        }
        var type = TensorType(dtype, Shape(dims))
        if token.isIdentifier("quant") {
            let position = token.position
            try advance()
            try consume("<")
            var reader = try AttributeReader(context: "quant", position: position,
                                             entries: try parseAttributeEntries(closing: ">"))
            let scales = try reader.floats("scales")
            let zeroPoints = try reader.int64s("zero_points")
            let axis = try reader.optionalInt("axis")
            try reader.finish()
            type.quantization = Quantization(scales: scales, zeroPoints: zeroPoints, axis: axis)
        }
        return type
    }
}
