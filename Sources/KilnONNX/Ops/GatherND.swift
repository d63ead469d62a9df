import KilnIR

// GatherND as a Gather over the data with its batch and indexed axes flattened into one.

extension NodeContext {
    /// GatherND(data, indices; batch_dims b): indices [..., K] pick slices
    /// data[batch, i0, ..., iK-1, ...] (negative indices count from the end). The data is
    /// reshaped to [B * N, rest] (B the batch dims' product, N the K indexed dims') and
    /// gathered along axis 0 at the flat index `batch * N + sum(ik * stride_k)`. Indices known
    /// at compile time become one constant flat index (an out-of-range one is an error, as
    /// ONNX says); indices computed at run time get the flat index from elementwise ops, with
    /// an out-of-range component making it fall below -(B * N), which the plan's Gather reads
    /// as zeros and the reference evaluator reports as an error.
    func gatherND() throws -> [ValueID?] {
        let data = try input(0)
        let (dt, it) = (type(data), try peekType(1))
        let b = try attr.int("batch_dims", default: 0)
        let (r, q) = (dt.shape.rank, it.shape.rank)
        try require(it.dtype == .i64 || it.dtype == .i32, "indices must be int64 or int32, got \(it.dtype.rawValue)")
        try require(r >= 1 && q >= 1, "data and indices must have rank >= 1 (got \(r) and \(q))")
        try require(b >= 0 && b < min(r, q), "batch_dims \(b) must be less than both ranks (\(r) and \(q))")
        let k = it.shape.dims[q - 1]
        try require(k >= 1 && k <= r - b, "the last indices dim (\(k)) must be in 1...\(r - b) (data rank \(r) - batch_dims \(b))")
        try require(Array(it.shape.dims[..<b]) == Array(dt.shape.dims[..<b]),
                    "the first \(b) dims of indices \(it.shape) and data \(dt.shape) must be equal")
        let picked = Array(dt.shape.dims[b..<(b + k)])
        let batch = dt.shape.dims[..<b].reduce(1, *), n = picked.reduce(1, *)
        let rest = Array(dt.shape.dims[(b + k)...])
        let strides = Shape(picked).strides
        let tuples = Array(it.shape.dims[..<(q - 1)])
        let flatData = try reshape("flat_data", data, [batch * n] + rest)
        let flat: ValueID
        let indices = try input(1)
        if let known = try importer.known(indices) {
            flat = helperConstant("flat_indices", try flatIndices(known, picked, strides, n, tuplesPerBatch: tuples[b...].reduce(1, *), tuples))
        } else {
            flat = try runtimeFlatIndices(indices, picked, strides, n, batch: Array(tuples[..<b]), tuples)
        }
        return [try emit1(.gather(Gather(axis: 0)), [flatData, flat])]
    }

    /// The flat index of every index tuple of compile-time `indices`.
    private func flatIndices(_ indices: Tensor, _ dims: [Int], _ strides: [Int], _ n: Int, tuplesPerBatch: Int,
                             _ shape: [Int]) throws -> Tensor {
        let v = indices.int64s, k = dims.count
        var out = [Int64]()
        out.reserveCapacity(v.count / k)
        for t in 0..<(v.count / k) {
            var flat = (t / tuplesPerBatch) * n
            for j in 0..<k {
                let i = v[t * k + j], d = Int64(dims[j])
                let w = i < 0 ? i + d : i
                try require(w >= 0 && w < d, "index \(i) is out of range for an indexed dim of size \(d)")
                flat += Int(w) * strides[j]
            }
            out.append(Int64(flat))
        }
        return Tensor(.i64, Shape(shape), int64s: out)
    }

    /// `batch * n + sum_j(w_j * stride_j)` from run-time indices, where w_j is index j made
    /// non-negative; a component outside its dim adds -(2 * B * n + 1) instead, so the sum
    /// stays below -(B * n) and no wrap-around brings it back into range.
    private func runtimeFlatIndices(_ indices: ValueID, _ dims: [Int], _ strides: [Int], _ n: Int, batch: [Int],
                                    _ shape: [Int]) throws -> ValueID {
        let k = dims.count, q = shape.count + 1
        let total = batch.reduce(1, *) * n
        func c(_ tag: String, _ values: [Int]) -> ValueID {
            helperConstant(tag, Tensor(.i64, Shape([values.count]), int64s: values.map(Int64.init)))
        }
        let ix = type(indices).dtype == .i64 ? indices : try helper("indices_i64", .cast(Cast(to: .i64)), [indices])
        let dimsK = c("dims", dims)
        let negative = try helper("negative", .binary(.less), [ix, c("zero", [0])])
        let shifted = try helper("shifted", .binary(.add), [ix, dimsK])
        let w = try helper("wrapped", .where(Where()), [negative, shifted, ix])
        let inRange = try helper("in_range", .binary(.and), [
            try helper("not_negative", .binary(.greaterOrEqual), [w, c("zero_again", [0])]),
            try helper("below_dim", .binary(.less), [w, dimsK]),
        ])
        let scaled = try helper("scaled", .binary(.mul), [w, c("strides", strides)])
        let terms = try helper("terms", .where(Where()), [inRange, scaled, c("out_of_range", [-(2 * total + 1)])])
        var sum = try component(terms, 0, q)
        for j in 1..<max(k, 1) { sum = try helper("sum\(j)", .binary(.add), [sum, try component(terms, j, q)]) }
        if !batch.isEmpty {
            // Tuple (b0, ..., t) starts at batch offset flatBatch(b0...) * n.
            let count = batch.reduce(1, *)
            let offsets = Tensor(.i64, Shape(batch + [Int](repeating: 1, count: q - batch.count)),
                                 int64s: (0..<count).map { Int64($0 * n) })
            sum = try helper("batch_offset", .binary(.add), [sum, helperConstant("batch_offsets", offsets)])
        }
        return try reshape("flat_indices", sum, shape)
    }

    /// terms[..., j:j+1] (keeps the last dim, of 1).
    private func component(_ terms: ValueID, _ j: Int, _ q: Int) throws -> ValueID {
        try helper("component\(j)", .slice(Slice(starts: [j], ends: [j + 1], axes: [q - 1], steps: [1])), [terms])
    }
}
