import Foundation
import KilnIR

/// Reads a folder of samples for `--calibration` / `--validation`: one sample per
/// `.npy` file (single-input graphs), per `.npz` file (an array named after each input),
/// or per subfolder (`<input>.npy` for each input). Samples are read in name order, and
/// every array must have its input's dtype and shape.
struct SampleFolder {
    var option: String
    var graph: Graph

    func load(_ dir: String) throws -> [[Tensor]] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        try require(fm.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue, "\(option) \(dir): not a folder")
        let entries = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let base = dir.hasSuffix("/") ? dir : dir + "/"
        var samples: [[Tensor]] = []
        for e in entries {
            let path = base + e
            var d: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &d), d.boolValue {
                samples.append(try graph.inputs.map { id in
                    try check(try read(path + "/" + Npy.fileName(for: graph[id].name) + ".npy", id), id)
                })
            } else if e.hasSuffix(".npz") {
                let arrays = try NpzArchive.read(path)
                samples.append(try graph.inputs.map { id in
                    let name = graph[id].name
                    guard let t = arrays.first(where: { $0.name == name || $0.name == Npy.fileName(for: name) }) else {
                        throw KilnError("\(option) sample \(path): no array named '\(name)' (arrays: \(arrays.map(\.name).joined(separator: ", ")))")
                    }
                    return try check((path + ":" + t.name, try Npy.decode(t.bytes, what: path + ":" + t.name)), id)
                })
            } else if e.hasSuffix(".npy") {
                try require(graph.inputs.count == 1,
                            "\(option) \(dir): the graph has \(graph.inputs.count) inputs; use one .npz or subfolder per sample")
                samples.append([try check(try read(path, graph.inputs[0]), graph.inputs[0])])
            }
        }
        try require(!samples.isEmpty, "\(option) \(dir): no samples (.npy, .npz files or sample subfolders) found")
        return samples
    }

    private func read(_ path: String, _ id: ValueID) throws -> (String, Tensor) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KilnError("\(option) sample \(path): cannot read the file (input '\(graph[id].name)')")
        }
        return (path, try Npy.decode(Array(data), what: path))
    }

    private func check(_ sample: (String, Tensor), _ id: ValueID) throws -> Tensor {
        let (path, t) = sample, want = graph.type(of: id)
        try require(t.dtype == want.dtype && t.shape == want.shape,
                    "\(option) sample \(path): input '\(graph[id].name)' expects \(want.dtype.rawValue)\(want.shape), got \(t.dtype.rawValue)\(t.shape)")
        return t
    }
}

/// The members of an uncompressed `.npz` (`np.savez`): a ZIP archive of `.npy` files.
///
/// Algorithm: walk the local file headers from the start; each gives the member's name,
/// method and sizes (from the ZIP64 extra field when the 32-bit fields hold 0xFFFFFFFF,
/// as numpy writes them). Only stored (method 0) members with sizes in the header are read.
enum NpzArchive {
    struct Member { var name: String; var bytes: [UInt8] }

    static func read(_ path: String) throws -> [Member] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KilnError("\(path): cannot read the file") }
        let b = [UInt8](data)
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func u64(_ o: Int) -> Int { u32(o) | u32(o + 4) << 32 }
        var members: [Member] = [], o = 0
        while o + 30 <= b.count, u32(o) == 0x0403_4B50 {
            let flags = u16(o + 6), method = u16(o + 8)
            var size = u32(o + 18)
            let nameLength = u16(o + 26), extraLength = u16(o + 28)
            let start = o + 30 + nameLength + extraLength
            try require(start <= b.count, "\(path): truncated .npz")
            let name = String(decoding: b[(o + 30)..<(o + 30 + nameLength)], as: UTF8.self)
            try require(method == 0, "\(path): compressed .npz (np.savez_compressed) is not supported; save with np.savez")
            try require(flags & 8 == 0, "\(path): .npz member \(name) has no size in its header; save with np.savez")
            if size == 0xFFFF_FFFF {
                var e = o + 30 + nameLength
                while e + 4 <= o + 30 + nameLength + extraLength {
                    let id = u16(e), length = u16(e + 2)
                    if id == 1, length >= 16, e + 20 <= b.count { size = u64(e + 12) }
                    e += 4 + length
                }
            }
            try require(size >= 0 && start + size <= b.count, "\(path): truncated .npz")
            members.append(Member(name: name.hasSuffix(".npy") ? String(name.dropLast(4)) : name, bytes: Array(b[start..<(start + size)])))
            o = start + size
        }
        try require(!members.isEmpty, "\(path): not a .npz file")
        return members
    }
}
