import KilnIR

/// What an ONNX tensor name denotes while importing.
enum Binding {
    /// An IR value.
    case value(ValueID)
    /// An initializer, materialized as a constant node on its first use as an operand (a
    /// parameter input such as Reshape's shape reads the tensor without materializing it).
    case initializer(Tensor)
    /// Produced by an unsupported or failed node: nodes reading it are skipped silently,
    /// the producer's problem is already recorded.
    case unavailable
}

/// One import: walks the ONNX graph in order, builds the IR graph and collects problems.
///
/// Algorithm:
/// 1. Initializers become `Binding.initializer`; graph inputs become IR inputs (shapes
///    pinned or defaulted, see `Importer+Inputs`) or constants when bound.
/// 2. Each node is mapped by its op's mapping function (`OpTable`). A node with an
///    unsupported op type, or whose mapping fails, is recorded as a problem and its
///    outputs become `unavailable`; nodes reading unavailable values are skipped.
/// 3. Parameter inputs (shapes, axes, pads, …) are read as compile-time constants through
///    `known(_:)`, which evaluates the producing nodes on demand.
/// 4. Graph outputs are bound, renamed with identities where needed; if any problem was
///    recorded one error lists them all, else the graph is compacted and verified.
final class Importer {
    let modelName: String
    let opset: Int
    let options: ImportOptions
    let decoder: TensorDecoder
    var builder: GraphBuilder
    var env: [String: Binding] = [:]
    var problems = Problems()
    /// Names read by some node (in any nested graph) or by a graph output.
    var usedNames: Set<String> = []
    /// Value index → index of the node defining it.
    var producer: [Int: Int] = [:]
    /// Compile-time values found so far, and values known not to be constant.
    var knownValues: [Int: Tensor] = [:]
    var notConstant: Set<Int> = []
    private var nodeCounter = 0

    init(modelName: String, opset: Int, options: ImportOptions, decoder: TensorDecoder) {
        self.modelName = modelName
        self.opset = opset
        self.options = options
        self.decoder = decoder
        builder = GraphBuilder(name: "main")
    }

    func run(_ g: Onnx_GraphProto) throws -> Graph {
        builder.setName(g.name.isEmpty ? "main" : g.name)
        collectUsedNames(g)
        for o in g.output { usedNames.insert(o.name) }
        bindInitializers(g.initializer)
        for s in g.sparseInitializer {
            problems.add("sparse initializer '\(s.values.name)' is not supported")
        }
        importInputs(g)
        importNodes(g.node)
        bindOutputs(g)
        if !problems.isEmpty { throw problems.error(model: modelName) }
        var graph = builder.graph
        graph.compact()
        do {
            try Verifier.verify(graph)
        } catch let e as KilnError {
            throw KilnError("\(modelName): imported graph is invalid (importer bug): \(e.message)")
        }
        return graph
    }

    private func collectUsedNames(_ g: Onnx_GraphProto) {
        for n in g.node {
            for i in n.input where !i.isEmpty { usedNames.insert(i) }
            for a in n.attribute {
                if a.hasG { collectUsedNames(a.g) }
                for sub in a.graphs { collectUsedNames(sub) }
            }
        }
        for o in g.output { usedNames.insert(o.name) }
    }

    func bindInitializers(_ initializers: [Onnx_TensorProto]) {
        for t in initializers {
            do {
                env[t.name] = .initializer(try decoder.decode(t, what: "initializer '\(t.name)'"))
            } catch let e as KilnError {
                problems.add(e.message)
                env[t.name] = .unavailable
            } catch {
                problems.add("initializer '\(t.name)': \(error)")
                env[t.name] = .unavailable
            }
        }
    }

    // MARK: Nodes

    func importNodes(_ nodes: [Onnx_NodeProto]) {
        for n in nodes { importNode(n) }
    }

    private func importNode(_ node: Onnx_NodeProto) {
        let index = nodeCounter
        nodeCounter += 1
        let isDefaultDomain = node.domain.isEmpty || node.domain == "ai.onnx"
        let opName = isDefaultDomain ? node.opType : "\(node.domain).\(node.opType)"
        let shownName = node.name.isEmpty ? "#\(index)" : node.name
        let label = node.name.isEmpty
            ? "node #\(index) (\(opName)\(node.output.first.map { ", output '\($0)'" } ?? ""))"
            : "node '\(node.name)' (\(opName))"
        func markUnavailable() {
            for o in node.output where !o.isEmpty { env[o] = .unavailable }
        }
        guard isDefaultDomain, let mapping = OpTable.mapping(node.opType) else {
            problems.unsupportedOp(opName, node: shownName)
            markUnavailable()
            return
        }
        for name in node.input where !name.isEmpty {
            switch env[name] {
            case nil:
                problems.add("\(label): input '\(name)' is not defined by any earlier node, initializer or graph input")
                markUnavailable()
                return
            case .unavailable?:
                markUnavailable()
                return
            case .value?, .initializer?:
                continue
            }
        }
        let base = node.name.isEmpty ? (node.output.first(where: { !$0.isEmpty }) ?? "node\(index)") : node.name
        let ctx = NodeContext(proto: node, importer: self, attr: Attributes(node, decoder: decoder),
                              baseName: base, opset: opset)
        do {
            let results = try mapping(ctx)
            for (i, name) in node.output.enumerated() where !name.isEmpty {
                if i < results.count, let id = results[i] {
                    env[name] = .value(id)
                } else {
                    env[name] = .unavailable
                    if usedNames.contains(name) {
                        problems.add("\(label): output \(i) ('\(name)') is used but Kiln does not produce it")
                    }
                }
            }
        } catch let e as KilnError {
            problems.add("\(label): \(e.message)")
            markUnavailable()
        } catch {
            problems.add("\(label): \(error)")
            markUnavailable()
        }
    }

    // MARK: Values

    /// The IR value for an ONNX name, materializing an initializer as a constant node on
    /// first use. Nil when the name is unavailable or undefined (the caller checked).
    func value(_ name: String) -> ValueID? {
        switch env[name] {
        case .value(let id)?: return id
        case .initializer(let t)?:
            let id = constant(t, name: name, nodeName: "")
            env[name] = .value(id)
            return id
        case .unavailable?, nil: return nil
        }
    }

    /// Adds a node whose result types come from the op's type rule.
    func add(_ op: Op, _ operands: [ValueID], names: [String], nodeName: String) throws -> [ValueID] {
        let index = builder.graph.nodes.count
        let ids = try builder.add(op, operands, names: names, nodeName: nodeName)
        for id in ids { producer[id.index] = index }
        return ids
    }

    /// Adds a constant node; its value is known at compile time.
    func constant(_ t: Tensor, name: String, nodeName: String) -> ValueID {
        let index = builder.graph.nodes.count
        let id = builder.addNode(.constant(t), [], types: [t.type], names: [name], nodeName: nodeName)[0]
        producer[id.index] = index
        knownValues[id.index] = t
        return id
    }

    // MARK: Outputs

    private func bindOutputs(_ g: Onnx_GraphProto) {
        for o in g.output {
            switch env[o.name] {
            case nil:
                problems.add("graph output '\(o.name)' is not produced by any node, initializer or graph input")
            case .unavailable?:
                continue  // its producer's problem is already recorded
            case .value?, .initializer?:
                guard let id = value(o.name) else { continue }
                if builder.graph[id].name == o.name && !builder.graph.outputs.contains(id) {
                    builder.output(id)
                } else {
                    // The value carries another name (an inlined branch's, or it is already
                    // an output under another name): an identity gives the output its name.
                    do {
                        let renamed = try add(.identity(Identity()), [id], names: [o.name], nodeName: o.name)[0]
                        builder.output(renamed)
                    } catch {
                        problems.add("graph output '\(o.name)': \(error)")
                    }
                }
            }
        }
    }
}
