import KilnIR

// BatchNormalization (inference), InstanceNormalization, LayerNormalization,
// GroupNormalization and LRN.

extension NodeContext {
    /// BatchNormalization(X, scale, B, mean, var) in inference mode only.
    func batchNormalization() throws -> [ValueID?] {
        let training = try attr.int("training_mode", default: 0)
        if training != 0 { throw attr.invalid("training_mode", "= \(training) is not supported (Kiln imports inference graphs)") }
        for i in 1..<max(outputCount, 1) where outputUsed(i) {
            throw KilnError("output \(i) ('\(outputName(i))') is used; it only exists in training mode")
        }
        let operands = try (0..<5).map { try input($0) }
        return [try emit1(.batchNorm(BatchNorm(epsilon: attr.float("epsilon", default: 1e-5))), operands)]
    }

    /// InstanceNormalization(X, scale, B).
    func instanceNormalization() throws -> [ValueID?] {
        let operands = try (0..<3).map { try input($0) }
        return [try emit1(.instanceNorm(InstanceNorm(epsilon: attr.float("epsilon", default: 1e-5))), operands)]
    }

    /// LayerNormalization(X, Scale, B?): only Y may be used.
    func layerNormalization() throws -> [ValueID?] {
        for i in 1..<max(outputCount, 1) where outputUsed(i) {
            throw KilnError("output \(i) ('\(outputName(i))', \(i == 1 ? "Mean" : "InvStdDev")) is used; Kiln only produces Y")
        }
        let x = try input(0)
        let axis = try normalizeAxis(attr.int("axis", default: -1), rank: type(x).shape.rank)
        let operands = [x, try input(1)] + (try optionalInput(2).map { [$0] } ?? [])
        return [try emit1(.layerNorm(LayerNorm(axis: axis, epsilon: attr.float("epsilon", default: 1e-5))), operands)]
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
