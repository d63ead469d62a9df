/// The one error type of the compiler: a one-line message for the user.
public struct KilnError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Throws a `KilnError` with `message` unless `condition` holds.
@inlinable
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) throws {
    if !condition() { throw KilnError(message()) }
}
