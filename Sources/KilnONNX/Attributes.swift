import Foundation
import KilnIR

/// Typed access to a node's attributes: `try node.attr.int("group", default: 1)`.
///
/// Each getter checks the attribute's declared type and throws an error naming the
/// attribute when it is wrong (the importer prefixes every node error with the node). Attributes whose `type` field is missing (written by
/// old exporters) are accepted when the matching value field is set.
struct Attributes {
    private let byName: [String: Onnx_AttributeProto]
    let decoder: TensorDecoder

    init(_ node: Onnx_NodeProto, decoder: TensorDecoder) {
        self.decoder = decoder
        var m: [String: Onnx_AttributeProto] = [:]
        for a in node.attribute { m[a.name] = a }
        byName = m
    }

    func has(_ name: String) -> Bool { byName[name] != nil }
    var names: [String] { byName.keys.sorted() }

    private func get(_ name: String, _ kind: Onnx_AttributeProto.AttributeType) throws -> Onnx_AttributeProto? {
        guard let a = byName[name] else { return nil }
        let declared = a.type == .undefined ? Attributes.inferredType(a) : a.type
        try require(declared == kind,
                    "attribute '\(name)' must be \(Attributes.describe(kind)), got \(Attributes.describe(declared))")
        return a
    }

    // MARK: Scalars

    func int(_ name: String) throws -> Int? { try get(name, .int).map { Int($0.i) } }
    func int(_ name: String, default d: Int) throws -> Int { try int(name) ?? d }
    func bool(_ name: String, default d: Bool) throws -> Bool { try int(name).map { $0 != 0 } ?? d }

    func float(_ name: String) throws -> Float? { try get(name, .float)?.f }
    func float(_ name: String, default d: Float) throws -> Float { try float(name) ?? d }

    func string(_ name: String) throws -> String? {
        guard let a = try get(name, .string) else { return nil }
        return String(decoding: a.s, as: UTF8.self)
    }
    func string(_ name: String, default d: String) throws -> String { try string(name) ?? d }

    func tensor(_ name: String) throws -> Tensor? {
        guard let a = try get(name, .tensor) else { return nil }
        return try decoder.decode(a.t, what: "tensor of attribute '\(name)'")
    }

    func graph(_ name: String) throws -> Onnx_GraphProto? { try get(name, .graph)?.g }

    // MARK: Lists

    func ints(_ name: String) throws -> [Int]? { try get(name, .ints).map { $0.ints.map { Int($0) } } }
    func ints(_ name: String, default d: [Int]) throws -> [Int] { try ints(name) ?? d }
    func floats(_ name: String) throws -> [Float]? { try get(name, .floats)?.floats }
    func strings(_ name: String) throws -> [String]? {
        try get(name, .strings).map { $0.strings.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// An error about an attribute's value (not its type): `attribute 'mode' ...`.
    func invalid(_ name: String, _ message: String) -> KilnError {
        KilnError("attribute '\(name)' \(message)")
    }

    // MARK: Type names

    static func inferredType(_ a: Onnx_AttributeProto) -> Onnx_AttributeProto.AttributeType {
        if a.hasF { return .float }
        if a.hasI { return .int }
        if a.hasS { return .string }
        if a.hasT { return .tensor }
        if a.hasG { return .graph }
        if a.hasSparseTensor { return .sparseTensor }
        if !a.floats.isEmpty { return .floats }
        if !a.ints.isEmpty { return .ints }
        if !a.strings.isEmpty { return .strings }
        if !a.tensors.isEmpty { return .tensors }
        if !a.graphs.isEmpty { return .graphs }
        return .undefined
    }

    static func describe(_ t: Onnx_AttributeProto.AttributeType) -> String {
        switch t {
        case .undefined: return "untyped"
        case .float: return "a float"
        case .int: return "an int"
        case .string: return "a string"
        case .tensor: return "a tensor"
        case .graph: return "a graph"
        case .sparseTensor: return "a sparse tensor"
        case .typeProto: return "a type"
        case .floats: return "a list of floats"
        case .ints: return "a list of ints"
        case .strings: return "a list of strings"
        case .tensors: return "a list of tensors"
        case .graphs: return "a list of graphs"
        case .sparseTensors: return "a list of sparse tensors"
        case .typeProtos: return "a list of types"
        }
    }
}
