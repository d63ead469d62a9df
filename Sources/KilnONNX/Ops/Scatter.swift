import KilnIR

// ScatterND, ScatterElements and Scatter with indices known at compile time, as a Gather
// from the data and the updates side by side: out[e] = concat(data, updates)[source[e]];
// with a reduction, one Gather + binary op + Where per update landing on one element.

extension NodeContext {
    /// ScatterND(data, indices, updates; reduction none/add/mul/max/min): each index tuple
    /// of `indices [..., K]` names a slice data[i0, ..., iK-1, ...] that the matching slice
    /// of `updates` replaces (or is combined into, in index order); negative indices count
    /// from the end; a repeated tuple without a reduction: the last one wins (as ONNX
    /// Runtime does). Indices must be known at compile time.
    func scatterND() throws -> [ValueID?] {
        let reduction = try reductionOp()
        let (data, updates) = (try input(0), try input(2))
        let (ds, us) = (type(data).shape.dims, type(updates).shape.dims)
        let indices = try knownIndices(1)
        let q = indices.shape.rank
        try require(q >= 1, "indices must have rank >= 1")
        let k = indices.shape.dims[q - 1]
        try require(k >= 1 && k <= ds.count, "the last indices dim (\(k)) must be in 1...\(ds.count) (the data rank)")
        let expected = Array(indices.shape.dims[..<(q - 1)]) + Array(ds[k...])
        try require(us == expected, "updates shape \(Shape(us)) must be \(Shape(expected)) (indices dims but the last, then data dims after the first \(k))")
        let inner = ds[k...].reduce(1, *)
        var strides = [Int](repeating: inner, count: k)
        for j in stride(from: k - 2, through: 0, by: -1) { strides[j] = strides[j + 1] * ds[j + 1] }
        var writes = [(target: Int, update: Int)]()
        let v = indices.int64s
        for t in 0..<(v.count / k) {
            var offset = 0
            for j in 0..<k {
                let i = v[t * k + j], d = Int64(ds[j])
                let w = i < 0 ? i + d : i
                try require(w >= 0 && w < d, "index \(i) is out of range for data dim \(j) of size \(d)")
                offset += Int(w) * strides[j]
            }
            for e in 0..<inner { writes.append((offset + e, t * inner + e)) }
        }
        return [try scatter(data, updates, writes, reduction)]
    }

    /// ScatterElements(data, indices, updates; axis, reduction), and Scatter (opsets 9-10,
    /// the same op): updates[p] goes to data[p with its `axis` coordinate replaced by
    /// indices[p]]; indices and updates have one shape, of the data's rank, no dim larger
    /// than the data's (but along `axis`). Indices must be known at compile time.
    func scatterElements() throws -> [ValueID?] {
        let reduction = try reductionOp()
        let (data, updates) = (try input(0), try input(2))
        let (ds, us) = (type(data).shape.dims, type(updates).shape.dims)
        let indices = try knownIndices(1)
        let r = ds.count
        let axis = try normalizeAxis(attr.int("axis", default: 0), rank: r)
        try require(indices.shape.dims == us, "indices shape \(indices.shape) and updates shape \(Shape(us)) must be equal")
        try require(us.count == r, "updates rank \(us.count) must equal the data rank \(r)")
        for a in 0..<r where a != axis {
            try require(us[a] <= ds[a], "updates dim \(a) (\(us[a])) exceeds the data dim (\(ds[a]))")
        }
        let dataStrides = Shape(ds).strides
        var writes = [(target: Int, update: Int)]()
        let v = indices.int64s
        var coord = [Int](repeating: 0, count: r)
        for p in 0..<v.count {
            var rem = p
            for a in stride(from: r - 1, through: 0, by: -1) { coord[a] = rem % us[a]; rem /= us[a] }
            let i = v[p], d = Int64(ds[axis])
            let w = i < 0 ? i + d : i
            try require(w >= 0 && w < d, "index \(i) is out of range for axis \(axis) of size \(d)")
            coord[axis] = Int(w)
            let target = zip(coord, dataStrides).reduce(0) { $0 + $1.0 * $1.1 }
            writes.append((target, p))
        }
        return [try scatter(data, updates, writes, reduction)]
    }

    /// The reduction attribute as a binary op (nil: none).
    private func reductionOp() throws -> BinaryOp? {
        let reduction = try attr.string("reduction", default: "none")
        switch reduction {
        case "none": return nil
        case "add": return .add
        case "mul": return .mul
        case "max": return .max
        case "min": return .min
        default: throw KilnError("reduction '\(reduction)' is not one of none, add, mul, max, min")
        }
    }

    private func knownIndices(_ i: Int) throws -> Tensor {
        let id = try input(i)
        try require(type(id).dtype == .i64 || type(id).dtype == .i32, "indices must be int64 or int32, got \(type(id).dtype.rawValue)")
        guard let t = try importer.known(id) else {
            throw KilnError("indices (input \(i) '\(inputName(i))') must be known at compile time, but they depend on \(importer.inputsClause(id))")
        }
        return t
    }

    /// The data with `writes` (flat data element, flat updates element) applied in order:
    /// without a reduction one Gather(concat(flat data, flat updates), source) where the
    /// last write to an element is its source; with one, layer j combines each element with
    /// the j-th update written to it (a Gather from [acc, updates], the binary op, and a
    /// Where keeping elements with fewer writes).
    private func scatter(_ data: ValueID, _ updates: ValueID, _ writes: [(target: Int, update: Int)],
                         _ reduction: BinaryOp?) throws -> ValueID {
        let shape = type(data).shape.dims, count = type(data).shape.elementCount
        let flatUpdates = try reshape("flat_updates", updates, [type(updates).shape.elementCount])
        func pick(_ tag: String, _ from: ValueID, _ source: [Int64]) throws -> ValueID {
            let both = try helper("\(tag)_and_updates", .concat(Concat(axis: 0)), [from, flatUpdates])
            return try helper("\(tag)_picked", .gather(Gather(axis: 0)),
                              [both, helperConstant("\(tag)_sources", Tensor(.i64, Shape([count]), int64s: source))])
        }
        var acc = try reshape("flat_data", data, [count])
        guard let reduction else {
            var source = (0..<count).map(Int64.init)
            for w in writes { source[w.target] = Int64(count + w.update) }
            return try emit1(.reshape(Reshape(shape: shape)), [try pick("data", acc, source)])
        }
        var perTarget = [[Int]](repeating: [], count: count)
        for w in writes { perTarget[w.target].append(w.update) }
        let layers = perTarget.map(\.count).max() ?? 0
        for j in 0..<layers {
            let source = (0..<count).map { e in j < perTarget[e].count ? Int64(count + perTarget[e][j]) : Int64(e) }
            let mask = Tensor(.bool, Shape([count]), int64s: (0..<count).map { j < perTarget[$0].count ? 1 : 0 })
            let combined = try helper("combined\(j)", .binary(reduction), [acc, try pick("layer\(j)", acc, source)])
            acc = try helper("layer\(j)", .where(Where()), [helperConstant("written\(j)", mask), combined, acc])
        }
        return try emit1(.reshape(Reshape(shape: shape)), [acc])
    }
}
