import CKiln

/// One execution context of a plan: its arena, workspace and threads. Use from one thread
/// at a time.
public final class Session {
    public let plan: Plan
    let handle: OpaquePointer

    public init(plan: Plan, threads: Int = 1) throws {
        var error = kiln_error()
        var session: OpaquePointer?
        let status = kiln_session_create(plan.handle, UInt32(clamping: max(threads, 0)), &session, &error)
        guard status == KILN_OK, let session else { throw KilnRuntimeError(error) }
        self.plan = plan
        handle = session
    }

    deinit { kiln_session_free(handle) }

    private func check(_ status: kiln_status) throws {
        guard status == KILN_OK else { throw KilnRuntimeError(status, String(cString: kiln_session_error(handle))) }
    }

    /// Index of the input called `name`.
    public func inputIndex(_ name: String) throws -> Int {
        var index: UInt32 = 0
        let status = kiln_plan_input_index(plan.handle, name, &index)
        guard status == KILN_OK else { throw KilnRuntimeError(status, "session: the plan has no input named \"\(name)\"") }
        return Int(index)
    }

    /// Index of the output called `name`.
    public func outputIndex(_ name: String) throws -> Int {
        var index: UInt32 = 0
        let status = kiln_plan_output_index(plan.handle, name, &index)
        guard status == KILN_OK else { throw KilnRuntimeError(status, "session: the plan has no output named \"\(name)\"") }
        return Int(index)
    }

    /// Binds input `index` to `bytes` (exactly its byte count, little-endian, row-major).
    public func setInput(_ index: Int, bytes: UnsafeRawBufferPointer) throws {
        guard index >= 0, index < Int(UInt32.max) else { throw KilnRuntimeError(KILN_ERR_INVALID_ARGUMENT, "session: bad input index \(index)") }
        try check(kiln_session_set_input(handle, UInt32(index), bytes.baseAddress, UInt64(bytes.count)))
    }

    public func setInput(_ index: Int, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try setInput(index, bytes: $0) }
    }

    public func setInput(named name: String, bytes: [UInt8]) throws {
        try setInput(try inputIndex(name), bytes: bytes)
    }

    /// Runs the program once.
    public func run() throws { try check(kiln_session_run(handle)) }

    /// Calls `body` with output `index`'s bytes inside the arena (valid during the call).
    public func withOutput<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard index >= 0, index < Int(UInt32.max) else { throw KilnRuntimeError(KILN_ERR_INVALID_ARGUMENT, "session: bad output index \(index)") }
        var data: UnsafeRawPointer?
        var bytes: UInt64 = 0
        try check(kiln_session_output(handle, UInt32(index), &data, &bytes))
        return try body(UnsafeRawBufferPointer(start: data, count: Int(bytes)))
    }

    /// A copy of output `index`'s bytes.
    public func output(_ index: Int) throws -> [UInt8] { try withOutput(index) { Array($0) } }

    public func output(named name: String) throws -> [UInt8] { try output(try outputIndex(name)) }
}
