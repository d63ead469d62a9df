/// A 1-based line and column (columns count Unicode scalars) in the parsed text.
struct SourcePosition: Hashable, CustomStringConvertible {
    var line: Int
    var column: Int
    var description: String { "\(line):\(column)" }
}

/// One token of the textual IR.
struct Token {
    enum Kind: Equatable {
        /// `[A-Za-z_][A-Za-z0-9_]*`: keywords, mnemonics, dtypes, attribute names, enum values.
        case identifier
        /// `%name` or `%"quoted"`; `text` is the name without `%`.
        case valueName
        /// `@name` or `@"quoted"`; `text` is the name without `@`.
        case graphName
        /// `-12`, `0.5`, `1e-05`, `inf`, `-nan`; `text` is the spelling, converted by the user.
        case number
        /// `"…"` with escapes resolved.
        case string
        /// `( ) { } [ ] < > , = :` and `->`.
        case punctuation
        case end
    }

    var kind: Kind
    var text: String
    var position: SourcePosition

    func isPunctuation(_ p: String) -> Bool { kind == .punctuation && text == p }
    func isIdentifier(_ word: String) -> Bool { kind == .identifier && text == word }

    /// How an error message names this token: `'{'`, `'%x'`, `end of input`.
    var description: String {
        func short(_ s: String) -> String { s.count > 40 ? String(s.prefix(40)) + "…" : s }
        switch kind {
        case .identifier, .number, .punctuation: return "'" + short(text) + "'"
        case .valueName: return "'" + short(Printer.valueName(text)) + "'"
        case .graphName: return "'@" + short(Printer.nameText(text)) + "'"
        case .string: return "string " + short(Printer.quoted(text))
        case .end: return "end of input"
        }
    }
}

/// Splits the text into tokens on demand, skipping whitespace and `//` comments.
struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1

    init(_ text: String) { bytes = Array(text.utf8) }

    private var position: SourcePosition { SourcePosition(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func advance() {
        guard index < bytes.count else { return }
        let b = bytes[index]
        index += 1
        if b == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if b & 0xC0 != 0x80 {
            column += 1  // count lead bytes only, so a column is a Unicode scalar
        }
    }

    private static func isIdentifierStart(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || b == UInt8(ascii: "_")
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func isIdentifierByte(_ b: UInt8) -> Bool { isIdentifierStart(b) || isDigit(b) }

    private static let nonFiniteWords: Set<String> = ["inf", "nan", "snan"]

    mutating func next() throws -> Token {
        skipTrivia()
        let start = position
        guard let b = peek() else { return Token(kind: .end, text: "", position: start) }
        switch b {
        case UInt8(ascii: "%"), UInt8(ascii: "@"):
            advance()
            let name = try nameAfterSigil(start: start, sigil: b)
            return Token(kind: b == UInt8(ascii: "%") ? .valueName : .graphName, text: name, position: start)
        case UInt8(ascii: "\""):
            return Token(kind: .string, text: try stringLiteral(start: start), position: start)
        case UInt8(ascii: "-"):
            if peek(1) == UInt8(ascii: ">") {
                advance(); advance()
                return Token(kind: .punctuation, text: "->", position: start)
            }
            if let n = peek(1), Lexer.isDigit(n) {
                return Token(kind: .number, text: numberLiteral(), position: start)
            }
            if let n = peek(1), Lexer.isIdentifierStart(n) {
                advance()
                let word = identifier()
                if Lexer.nonFiniteWords.contains(word) { return Token(kind: .number, text: "-" + word, position: start) }
            }
            throw KilnError("\(start): unexpected character '-'")
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["),
             UInt8(ascii: "]"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ","), UInt8(ascii: "="),
             UInt8(ascii: ":"):
            advance()
            return Token(kind: .punctuation, text: String(UnicodeScalar(b)), position: start)
        default:
            if Lexer.isDigit(b) { return Token(kind: .number, text: numberLiteral(), position: start) }
            if Lexer.isIdentifierStart(b) {
                let word = identifier()
                return Token(kind: Lexer.nonFiniteWords.contains(word) ? .number : .identifier, text: word, position: start)
            }
            throw KilnError("\(start): unexpected character \(characterDescription())")
        }
    }

    private mutating func skipTrivia() {
        while let b = peek() {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                advance()
            } else if b == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                while let c = peek(), c != UInt8(ascii: "\n") { advance() }
            } else {
                return
            }
        }
    }

    /// The character at the current position, quoted, for an error message.
    private func characterDescription() -> String {
        var end = index + 1
        while end < bytes.count && bytes[end] & 0xC0 == 0x80 && end - index < 4 { end += 1 }
        return "'" + String(decoding: bytes[index..<min(end, bytes.count)], as: UTF8.self) + "'"
    }

    private mutating func identifier() -> String {
        let begin = index
        while let b = peek(), Lexer.isIdentifierByte(b) { advance() }
        return String(decoding: bytes[begin..<index], as: UTF8.self)
    }

    /// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`; a malformed tail is left for the next token.
    private mutating func numberLiteral() -> String {
        let begin = index
        if peek() == UInt8(ascii: "-") { advance() }
        while let b = peek(), Lexer.isDigit(b) { advance() }
        if peek() == UInt8(ascii: "."), let n = peek(1), Lexer.isDigit(n) {
            advance()
            while let b = peek(), Lexer.isDigit(b) { advance() }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            var k = 1
            if let s = peek(1), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { k = 2 }
            if let d = peek(k), Lexer.isDigit(d) {
                for _ in 0..<k { advance() }
                while let b = peek(), Lexer.isDigit(b) { advance() }
            }
        }
        return String(decoding: bytes[begin..<index], as: UTF8.self)
    }

    private mutating func nameAfterSigil(start: SourcePosition, sigil: UInt8) throws -> String {
        if peek() == UInt8(ascii: "\"") { return try stringLiteral(start: position) }
        let begin = index
        while let b = peek(), Printer.isBareNameByte(b) { advance() }
        guard index > begin else {
            throw KilnError("\(start): expected a name after '\(UnicodeScalar(sigil))'")
        }
        return String(decoding: bytes[begin..<index], as: UTF8.self)
    }

    /// A `"…"` literal; escapes `\"`, `\\`, `\n`, `\t`, `\r`, `\u{hex}`. No raw line breaks.
    private mutating func stringLiteral(start: SourcePosition) throws -> String {
        advance()  // opening quote
        var out: [UInt8] = []
        while true {
            guard let b = peek(), b != UInt8(ascii: "\n") else {
                throw KilnError("\(start): unterminated string")
            }
            if b == UInt8(ascii: "\"") {
                advance()
                return String(decoding: out, as: UTF8.self)
            }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                advance()
                continue
            }
            let escapePosition = position
            advance()
            guard let e = peek() else { throw KilnError("\(start): unterminated string") }
            advance()
            switch e {
            case UInt8(ascii: "\""): out.append(e)
            case UInt8(ascii: "\\"): out.append(e)
            case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "u"):
                out += try unicodeEscape(at: escapePosition)
            default:
                throw KilnError("\(escapePosition): unknown escape sequence in string")
            }
        }
    }

    /// The `{hex}` part of `\u{hex}`, as UTF-8 bytes.
    private mutating func unicodeEscape(at escapePosition: SourcePosition) throws -> [UInt8] {
        guard peek() == UInt8(ascii: "{") else { throw KilnError("\(escapePosition): expected '{' after \\u") }
        advance()
        var value: UInt32 = 0
        var digits = 0
        while let h = peek(), let d = Lexer.hexValue(h) {
            guard digits < 8 else { break }
            value = value << 4 | UInt32(d)
            digits += 1
            advance()
        }
        guard digits > 0, peek() == UInt8(ascii: "}"), let scalar = Unicode.Scalar(value) else {
            throw KilnError("\(escapePosition): invalid \\u{…} escape")
        }
        advance()
        return Array(String(Character(scalar)).utf8)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
