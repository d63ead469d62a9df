import KilnIR

extension Importer {
    /// Turns the graph inputs that are not initializers into IR inputs, or into constants
    /// when `--bind` freezes them. Shapes come from `--input-shape` when given, else from
    /// the model, where an unknown dim 0 (the batch) defaults to 1 and any other unknown
    /// dim is a problem.
    func importInputs(_ g: Onnx_GraphProto) {
        let inputNames = Set(g.input.map(\.name))
        for name in options.inputShapes.keys.sorted() where !inputNames.contains(name) {
            problems.add("--input-shape names '\(name)', which is not a graph input (inputs: \(inputList(g)))")
        }
        for name in options.bindings.keys.sorted() where !inputNames.contains(name) {
            problems.add("--bind names '\(name)', which is not a graph input (inputs: \(inputList(g)))")
        }
        for vi in g.input where env[vi.name] == nil {
            if let t = options.bindings[vi.name] {
                if let problem = bindingProblem(vi, t) {
                    problems.add(problem)
                    env[vi.name] = .unavailable
                } else {
                    env[vi.name] = .value(constant(t, name: vi.name, nodeName: vi.name))
                }
                continue
            }
            switch inputType(vi) {
            case .success(let type):
                env[vi.name] = .value(builder.input(vi.name, type))
            case .failure(let list):
                list.messages.forEach { problems.add($0) }
                env[vi.name] = .unavailable
            }
        }
    }

    private func inputList(_ g: Onnx_GraphProto) -> String {
        g.input.filter { if case .initializer? = env[$0.name] { return false } else { return true } }
            .map(\.name).joined(separator: ", ")
    }

    struct InputProblems: Error { var messages: [String] }

    /// The input's tensor type, or every problem with it.
    func inputType(_ vi: Onnx_ValueInfoProto) -> Result<TensorType, InputProblems> {
        let name = vi.name
        guard case .tensorType(let tt)? = vi.type.value else {
            return .failure(InputProblems(messages: ["input '\(name)' is not a tensor (sequence, map, optional and sparse inputs are not supported)"]))
        }
        guard let dtype = ONNXDataType.dtype(tt.elemType) else {
            return .failure(InputProblems(messages: ["input '\(name)' has unsupported element type \(ONNXDataType.name(tt.elemType))"]))
        }
        let declared = tt.shape.dim
        if let pinned = options.inputShapes[name] {
            var messages: [String] = []
            if pinned.contains(where: { $0 < 0 }) {
                messages.append("--input-shape \(name)=\(pinned.map(String.init).joined(separator: ",")) has a negative dim")
            }
            if tt.hasShape && declared.count != pinned.count {
                messages.append("--input-shape gives input '\(name)' rank \(pinned.count) but the model declares rank \(declared.count)")
            } else if tt.hasShape {
                for (i, d) in declared.enumerated() {
                    if case .dimValue(let v)? = d.value, v >= 0, v != Int64(pinned[i]) {  // < 0: dynamic (paddle2onnx writes -1)
                        messages.append("--input-shape gives input '\(name)' dim \(i) = \(pinned[i]) but the model fixes it to \(v)")
                    }
                }
            }
            return messages.isEmpty ? .success(TensorType(dtype, Shape(pinned))) : .failure(InputProblems(messages: messages))
        }
        guard tt.hasShape else {
            return .failure(InputProblems(messages: ["input '\(name)' has no shape in the model; pass --input-shape \(name)=..."]))
        }
        var dims: [Int] = []
        var unknown: [(Int, String)] = []
        for (i, d) in declared.enumerated() {
            if case .dimValue(let v)? = d.value, v >= 0 {
                dims.append(Int(v))
            } else if i == 0 {
                dims.append(1)  // batch-like leading dim
            } else {
                if case .dimParam(let p)? = d.value { unknown.append((i, p)) } else { unknown.append((i, "")) }
                dims.append(-1)
            }
        }
        if unknown.isEmpty { return .success(TensorType(dtype, Shape(dims))) }
        return .failure(InputProblems(messages: [dynamicDimsMessage(name, dims, unknown)]))
    }

    /// One line for all of an input's unknown dims: which they are (with the model's names
    /// for them) and a `--input-shape` to pin them with, the unknown dims as `<placeholder>`s
    /// (the model's name when it is a plain identifier, else `dimI`).
    private func dynamicDimsMessage(_ name: String, _ dims: [Int], _ unknown: [(Int, String)]) -> String {
        func placeholder(_ i: Int, _ p: String) -> String {
            let plain = !p.isEmpty && p.count <= 24 && p.first.map { $0.isLetter || $0 == "_" } == true
                && p.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
            return "<" + (plain ? p : "dim\(i)") + ">"
        }
        let listed = unknown.map { i, p in p.isEmpty ? "\(i)" : "\(i) ('\(p)')" }.joined(separator: ", ")
        let byIndex = Dictionary(uniqueKeysWithValues: unknown.map { ($0.0, $0.1) })
        let example = dims.indices.map { i in byIndex[i].map { placeholder(i, $0) } ?? String(dims[i]) }
            .joined(separator: ",")
        let what = unknown.count == 1 ? "dim \(listed) is dynamic; pin it" : "dims \(listed) are dynamic; pin them"
        return "input '\(name)' \(what) with numbers: --input-shape \(name)=\(example)"
    }

    /// Why a `--bind` value does not fit the input it freezes, or nil if it fits.
    private func bindingProblem(_ vi: Onnx_ValueInfoProto, _ t: Tensor) -> String? {
        guard case .tensorType(let tt)? = vi.type.value else {
            return "--bind \(vi.name): the input is not a tensor"
        }
        if let want = ONNXDataType.dtype(tt.elemType), want != t.dtype {
            return "--bind \(vi.name): the value has dtype \(t.dtype.rawValue) but the input is \(want.rawValue)"
        }
        guard tt.hasShape else { return nil }
        let declared = tt.shape.dim
        if declared.count != t.shape.rank {
            return "--bind \(vi.name): the value has shape \(t.shape) but the input has rank \(declared.count)"
        }
        for (i, d) in declared.enumerated() {
            if case .dimValue(let v)? = d.value, v >= 0, v != Int64(t.shape[i]) {
                return "--bind \(vi.name): the value has shape \(t.shape) but the input's dim \(i) is \(v)"
            }
        }
        return nil
    }
}
