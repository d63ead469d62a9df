import KilnIR

// MaxPool's optional Indices output, composed from gather and arg_max.

extension NodeContext {
    /// MaxPool's Indices: for each output element, the flat index into X of the first
    /// maximum in its window (row-major over the whole tensor; with `storage_order = 1`
    /// the spatial part is column-major, the (n, c) plane offset stays).
    ///
    /// Algorithm (all geometry is static, so the tables are constants):
    /// 1. Per output position p of a plane and window offset k, `source[p][k]` is the
    ///    row-major spatial index the window reads; a cell in the padding reads the
    ///    window's first valid cell instead (a repeat of it never changes which cell is
    ///    the first maximum), and `reported[p][k]` is the index ONNX reports for it.
    /// 2. windows = gather(X as [N·C, S], source, axis 1): [N·C, P, K].
    /// 3. k = arg_max(windows, axis 2) (first maximum, as MaxPool's strict `>` scan).
    /// 4. Indices = gather(reported flattened, p·K + k) + plane · S, reshaped to Y's shape.
    func maxPoolIndices(_ x: ValueID, _ op: Pool, output: Shape, storageOrder: Int) throws -> ValueID {
        let dims = type(x).shape.dims
        let spatial = Array(dims[2...]), outSpatial = Array(output.dims[2...])
        let planes = dims[0] * dims[1], s = spatial.reduce(1, *)
        let positions = outSpatial.reduce(1, *), k = op.kernel.reduce(1, *)
        let n = spatial.count
        var source = [Int64](), reported = [Int64]()
        source.reserveCapacity(positions * k)
        reported.reserveCapacity(positions * k)
        for p in 0..<positions {
            let at = Shape(outSpatial).index(of: p)
            var cells: [(rowMajor: Int, reported: Int)?] = []
            for j in 0..<k {
                let offset = Shape(op.kernel).index(of: j)
                let pos = (0..<n).map { at[$0] * op.strides[$0] - op.pads[$0] + offset[$0] * op.dilations[$0] }
                guard (0..<n).allSatisfy({ pos[$0] >= 0 && pos[$0] < spatial[$0] }) else { cells.append(nil); continue }
                var rowMajor = 0, columnMajor = 0, columnStride = 1
                for a in 0..<n {
                    rowMajor = rowMajor * spatial[a] + pos[a]
                    columnMajor += pos[a] * columnStride
                    columnStride *= spatial[a]
                }
                cells.append((rowMajor, storageOrder == 1 ? columnMajor : rowMajor))
            }
            guard let first = cells.first(where: { $0 != nil }) ?? nil else {
                throw KilnError("output position \(at) of Indices has a window entirely in the padding")
            }
            for cell in cells {
                source.append(Int64((cell ?? first).rowMajor))
                reported.append(Int64((cell ?? first).reported))
            }
        }
        let plane = try reshape("indices_planes", x, [planes, s])
        let table = helperConstant("indices_windows", Tensor(.i64, [positions, k], int64s: source))
        let windows = try helper("indices_gather", .gather(Gather(axis: 1)), [plane, table])
        let best = try helper("indices_arg_max", .argReduce(ArgReduce(isMax: true, axis: 2, keepDims: true, selectLastIndex: false)), [windows])
        let rowStart = helperConstant("indices_row_start", Tensor(.i64, [1, positions, 1], int64s: (0..<positions).map { Int64($0 * k) }))
        let cell = try helper("indices_cell", .binary(.add), [best, rowStart])
        let reportedTable = helperConstant("indices_reported", Tensor(.i64, [positions * k], int64s: reported))
        let spatialIndex = try helper("indices_spatial", .gather(Gather(axis: 0)), [reportedTable, cell])
        let planeStart = helperConstant("indices_plane_start", Tensor(.i64, [planes, 1, 1], int64s: (0..<planes).map { Int64($0 * s) }))
        let flat = try helper("indices_flat", .binary(.add), [spatialIndex, planeStart])
        return try importer.add(.reshape(Reshape(shape: output.dims)), [flat], names: [outputName(1)],
                                nodeName: "\(baseName)/indices")[0]
    }
}
