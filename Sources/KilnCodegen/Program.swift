import KilnIR

/// A tensor of the lowered program: a name, a type and where it lives.
public struct PlanTensor: Hashable, Sendable {
    public enum Storage: Hashable, Sendable {
        /// An intermediate value (or scratch) in the arena.
        case arena
        /// Weights: stored in the CONSTANTS section.
        case constant(Tensor)
        /// Graph input number `n` (lives in the arena, never written by the program).
        case input(Int)
        /// Graph output number `n` (lives in the arena, written by one instruction).
        case output(Int)
    }

    public var name: String
    public var type: TensorType
    public var storage: Storage

    public init(name: String, type: TensorType, storage: Storage) {
        self.name = name; self.type = type; self.storage = storage
    }

    public var storageKind: StorageKind {
        switch storage {
        case .arena: return .arena
        case .constant: return .constant
        case .input: return .input
        case .output: return .output
        }
    }

    /// Whether the tensor occupies arena bytes (everything but constants).
    public var inArena: Bool { storageKind != .constant }
}

/// One runtime instruction: opcode, encoded attribute block, operand and result tensor ids
/// (nil = absent, written as `KILN_NO_TENSOR`).
public struct Instruction: Hashable, Sendable {
    public var opcode: Opcode
    public var attributes: [UInt8]
    public var operands: [Int?]
    public var results: [Int?]

    public init(opcode: Opcode, attributes: [UInt8] = [], operands: [Int?], results: [Int?]) {
        self.opcode = opcode; self.attributes = attributes; self.operands = operands; self.results = results
    }
}

/// The lowered form of a graph: tensors and a straight-line instruction list, before
/// memory planning.
public struct Program: Hashable, Sendable {
    public var tensors: [PlanTensor] = []
    public var instructions: [Instruction] = []

    public init() {}

    /// Tensor ids of the inputs and outputs, in io order.
    public var inputs: [Int] { ioTensors { if case .input(let n) = $0 { return n } else { return nil } } }
    public var outputs: [Int] { ioTensors { if case .output(let n) = $0 { return n } else { return nil } } }

    private func ioTensors(_ index: (PlanTensor.Storage) -> Int?) -> [Int] {
        tensors.indices.compactMap { i in index(tensors[i].storage).map { ($0, i) } }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    @discardableResult
    mutating func addTensor(_ name: String, _ type: TensorType, _ storage: PlanTensor.Storage = .arena) -> Int {
        tensors.append(PlanTensor(name: name, type: type, storage: storage))
        return tensors.count - 1
    }

    mutating func emit(_ opcode: Opcode, _ attributes: [UInt8] = [], _ operands: [Int?], _ results: [Int?]) {
        precondition(opcode.fields(forSize: attributes.count) != nil, "\(opcode): attribute block of \(attributes.count) bytes")
        instructions.append(Instruction(opcode: opcode, attributes: attributes, operands: operands, results: results))
    }
}
