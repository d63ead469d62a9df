import KilnIR

// BatchNormalization (inference), InstanceNormalization, LayerNormalization,
// GroupNormalization and LRN.

extension NodeContext {
    /// BatchNormalization(X, scale, B, mean, var). In inference mode (the default) it is the
    /// batch_norm op and only Y exists. Training mode (opset 14+) is deterministic and
    /// imports as its definition (see `batchNormalizationTraining`).
    func batchNormalization() throws -> [ValueID?] {
        let operands = try (0..<5).map { try input($0) }
        let epsilon = try attr.float("epsilon", default: 1e-5)
        if try legacyTrainingMode {
            // spatial = 0 takes the batch statistics per activation (over N only).
            let spatial = try attr.int("spatial", default: 1)
            try require(spatial != 0, "attribute 'spatial' = 0 in training mode (is_test = 0) is not supported")
            return try batchNormalizationTraining(operands, epsilon: epsilon)
        }
        if opset >= 14, try attr.int("training_mode", default: 0) != 0 {
            return try batchNormalizationTraining(operands, epsilon: epsilon)
        }
        // Opsets 7–8: `spatial` = 0 normalizes each activation with its own statistics
        // (scale, B, mean, var of shape C x D1 x …); with per-channel (rank-1) parameters it is
        // the same as the default.
        if opset < 9, try attr.int("spatial", default: 1) == 0 {
            try require(operands[1...].allSatisfy { type($0).shape.rank <= 1 },
                        "attribute 'spatial' = 0 with per-activation statistics is not supported")
        }
        for i in 1..<max(outputCount, 1) where outputUsed(i) {
            throw KilnError("output \(i) ('\(outputName(i))') is used; it only exists in training mode")
        }
        return [try emit1(.batchNorm(BatchNorm(epsilon: epsilon)), operands)]
    }

    /// Training-mode BatchNormalization: Y normalizes with the batch's own statistics,
    /// the optional outputs blend them into the running ones.
    ///
    /// Algorithm (c the axis-1 channel, statistics over every other axis):
    /// 1. batch_mean = reduce_mean(X), batch_var = reduce_mean((X - batch_mean)²) (population).
    /// 2. Y = batch_norm(X, scale, B, batch_mean, batch_var).
    /// 3. running_mean = mean · momentum + batch_mean · (1 - momentum); running_var likewise.
    private func batchNormalizationTraining(_ operands: [ValueID], epsilon: Float) throws -> [ValueID?] {
        let x = operands[0]
        let t = type(x)
        try require(t.dtype.isFloat && t.shape.rank >= 2, "X must be a float tensor of rank 2 or more, got \(t.dtype.rawValue)\(t.shape)")
        let rank = t.shape.rank, channels = t.shape[1]
        let stats = Reduce(kind: .mean, axes: [0] + Array(2..<rank), keepDims: false)
        let mean = try helper("batch_mean", .reduce(stats), [x])
        let column = try reshape("batch_mean_column", mean, [channels] + Array(repeating: 1, count: rank - 2))
        let d = try helper("centered", .binary(.sub), [x, column])
        let variance = try helper("batch_var", .reduce(stats), [try helper("squared", .binary(.mul), [d, d])])
        let y = try emit1(.batchNorm(BatchNorm(epsilon: epsilon)),
                          [x, operands[1], operands[2], mean, variance])
        let momentum = Double(try attr.float("momentum", default: 0.9))
        func running(_ i: Int, _ tag: String, old: ValueID, batch: ValueID) throws -> ValueID? {
            guard outputUsed(i) else { return nil }
            let dtype = type(old).dtype
            let current = type(batch).dtype == dtype ? batch : try helper("\(tag)_cast", .cast(Cast(to: dtype)), [batch])
            let kept = try helper("\(tag)_kept", .binary(.mul), [old, helperConstant("\(tag)_momentum", Tensor.scalar(momentum, dtype))])
            let added = try helper("\(tag)_added", .binary(.mul), [current, helperConstant("\(tag)_rate", Tensor.scalar(1 - momentum, dtype))])
            return try importer.add(.binary(.add), [kept, added], names: [outputName(i)], nodeName: "\(baseName)/\(tag)")[0]
        }
        return [y, try running(1, "running_mean", old: operands[3], batch: mean),
                try running(2, "running_var", old: operands[4], batch: variance)]
    }

    /// InstanceNormalization(X, scale, B).
    func instanceNormalization() throws -> [ValueID?] {
        let operands = try (0..<3).map { try input($0) }
        return [try emit1(.instanceNorm(InstanceNorm(epsilon: attr.float("epsilon", default: 1e-5))), operands)]
    }

    /// LayerNormalization(X, Scale, B?). Y is the layer_norm op. The optional outputs Mean
    /// and InvStdDev (shape of X with the normalized axes set to 1, element type
    /// `stash_type`) are emitted, when used, as the spec's own decomposition:
    /// Mean = reduce_mean(X), InvStdDev = 1 / sqrt(reduce_mean((X - Mean)²) + epsilon),
    /// computed on X cast to the stash type.
    func layerNormalization() throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        let axis = try normalizeAxis(attr.int("axis", default: -1), rank: rank)
        let epsilon = try attr.float("epsilon", default: 1e-5)
        let operands = [x, try input(1)] + (try optionalInput(2).map { [$0] } ?? [])
        let y = try emit1(.layerNorm(LayerNorm(axis: axis, epsilon: epsilon)), operands)
        guard outputUsed(1) || outputUsed(2) else { return [y] }

        let stash = try ONNXDataType.require(Int32(clamping: attr.int("stash_type", default: 1)), for: "attribute 'stash_type'")
        try require(stash.isFloat, "attribute 'stash_type' must be a float type, got \(stash.rawValue)")
        let xs = type(x).dtype == stash ? x : try helper("stashed", .cast(Cast(to: stash)), [x])
        let mean = Reduce(kind: .mean, axes: Array(axis..<rank), keepDims: true)
        func named(_ i: Int, _ op: Op, _ args: [ValueID]) throws -> ValueID {
            try importer.add(op, args, names: [outputName(i)], nodeName: "\(baseName)/\(i == 1 ? "mean" : "inv_std_dev")")[0]
        }
        let m = try named(1, .reduce(mean), [xs])
        guard outputUsed(2) else { return [y, m] }
        let d = try helper("centered", .binary(.sub), [xs, m])
        let variance = try helper("variance", .reduce(mean), [try helper("squared", .binary(.mul), [d, d])])
        let eps = helperConstant("epsilon", Tensor.scalar(Double(epsilon), stash))
        let std = try helper("std_dev", .unary(.sqrt), [try helper("variance_eps", .binary(.add), [variance, eps])])
        return [y, m, try named(2, .unary(.reciprocal), [std])]
    }

    /// GroupNormalization(X, scale, bias). Opsets 18–20 give one scale and bias per group;
    /// they are expanded to one per channel (channel c belongs to group c / (C / groups)):
    /// as constants when known, else with a gather.
    func groupNormalization() throws -> [ValueID?] {
        let x = try input(0)
        let dims = type(x).shape.dims
        try require(dims.count >= 2, "X must have rank 2 or more, got \(type(x).shape)")
        guard let groups = try attr.int("num_groups") else { throw KilnError("attribute 'num_groups' is missing") }
        let channels = dims[1]
        try require(groups >= 1 && channels % groups == 0,
                    "attribute 'num_groups' = \(groups) must divide the \(channels) channels")
        var scale = try input(1)
        var bias = try input(2)
        if opset < 21 {
            let groupOf = (0..<channels).map { $0 / (channels / groups) }
            scale = try perChannel(scale, input: 1, tag: "scale_per_channel", groupOf: groupOf, groups: groups)
            bias = try perChannel(bias, input: 2, tag: "bias_per_channel", groupOf: groupOf, groups: groups)
        }
        let op = GroupNorm(groups: groups, epsilon: try attr.float("epsilon", default: 1e-5))
        return [try emit1(.groupNorm(op), [x, scale, bias])]
    }

    private func perChannel(_ v: ValueID, input i: Int, tag: String, groupOf: [Int], groups: Int) throws -> ValueID {
        let t = type(v)
        try require(t.shape.dims == [groups], "\(describeInput(i)) must have shape [\(groups)] (one value per group), got \(t.shape)")
        if let known = try importer.known(v) {
            return helperConstant(tag, known.picking(groupOf, shape: [groupOf.count]))
        }
        let indices = helperConstant(tag + "_index", Tensor(.i64, [groupOf.count], int64s: groupOf.map { Int64($0) }))
        return try helper(tag, .gather(Gather(axis: 0)), [v, indices])
    }

    /// LRN across channels.
    func lrn() throws -> [ValueID?] {
        guard let size = try attr.int("size") else { throw KilnError("attribute 'size' is missing") }
        let op = LRN(size: size, alpha: try attr.float("alpha", default: 1e-4),
                     beta: try attr.float("beta", default: 0.75), bias: try attr.float("bias", default: 1))
        return [try emit1(.lrn(op), [input(0)])]
    }
}
