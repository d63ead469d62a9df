import CKiln

/// Swift view of the C runtime.
public enum KilnRuntime {
    /// The runtime library's version string.
    public static var version: String { String(cString: kiln_version()) }
}
