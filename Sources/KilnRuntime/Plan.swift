import CKiln

/// A loaded, validated plan. Immutable; sessions on several threads may share it.
public final class Plan: @unchecked Sendable {
    let handle: OpaquePointer

    /// Loads a plan from its bytes (copied).
    public init(bytes: [UInt8]) throws {
        var error = kiln_error()
        var plan: OpaquePointer?
        let status = bytes.withUnsafeBytes { raw in
            kiln_plan_load_memory(raw.baseAddress, raw.count, &plan, &error)
        }
        guard status == KILN_OK, let plan else { throw KilnRuntimeError(error) }
        handle = plan
    }

    /// Loads a plan file; `mmap` maps it read-only (weights used in place when uncompressed).
    public init(path: String, mmap: Bool = true) throws {
        var error = kiln_error()
        var plan: OpaquePointer?
        let status = mmap ? kiln_plan_load_mmap(path, &plan, &error) : kiln_plan_load_file(path, &plan, &error)
        guard status == KILN_OK, let plan else { throw KilnRuntimeError(error) }
        handle = plan
    }

    deinit { kiln_plan_free(handle) }

    public var formatVersion: (major: Int, minor: Int) {
        var major: UInt16 = 0, minor: UInt16 = 0
        kiln_plan_format_version(handle, &major, &minor)
        return (Int(major), Int(minor))
    }

    public var arenaSize: Int { Int(kiln_plan_arena_size(handle)) }
    public var instructionCount: Int { Int(kiln_plan_instruction_count(handle)) }

    public var inputs: [TensorInfo] {
        (0..<kiln_plan_input_count(handle)).map { i in
            var info = kiln_tensor_info()
            kiln_plan_input_info(handle, i, &info)
            return TensorInfo(info)
        }
    }

    public var outputs: [TensorInfo] {
        (0..<kiln_plan_output_count(handle)).map { i in
            var info = kiln_tensor_info()
            kiln_plan_output_info(handle, i, &info)
            return TensorInfo(info)
        }
    }

    /// Metadata entries (producer, producer_version, source_sha256, pipeline, ...).
    public var metadata: [String: String] {
        var result: [String: String] = [:]
        for i in 0..<kiln_plan_metadata_count(handle) {
            var key: UnsafePointer<CChar>?
            var value: UnsafePointer<CChar>?
            if kiln_plan_metadata_entry(handle, i, &key, &value) == KILN_OK, let key, let value {
                result[String(cString: key)] = String(cString: value)
            }
        }
        return result
    }
}
