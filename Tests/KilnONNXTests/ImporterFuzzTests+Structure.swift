import Foundation
import KilnTestSupport
import KilnIR
@testable import KilnONNX

/// Structure-aware mutations for the importer fuzz test: byte mutations mostly break the
/// protobuf encoding, so half of the cases decode a seed model and change one field that
/// the importer interprets — an attribute's integer(s) or float, a node's op type or
/// input/output names, an initializer's dims, data type or payload, a graph input's shape —
/// to a boundary or foreign value, then re-encode it.
extension FuzzMutator {
    static let boundaryInts: [Int64] = [0, 1, -1, 2, -2, 3, 7, 64, 1 << 31, -(1 << 31), Int64.max, Int64.min, 1 << 40]
    static let boundaryFloats: [Float] = [0, -0.0, 1, -1, .nan, .infinity, -.infinity, 1e-45, 3.4e38]

    mutating func boundaryInt() -> Int64 { Self.boundaryInts[below(Self.boundaryInts.count)] }

    mutating func mutateModel(_ model: Onnx_ModelProto, opTypes: [String]) -> Onnx_ModelProto {
        var m = model
        var g = m.graph
        switch below(8) {
        case 0, 1, 2:  // an attribute
            guard !g.node.isEmpty else { break }
            let n = below(g.node.count)
            guard !g.node[n].attribute.isEmpty else { g.node[n].attribute.append(ONNX.attr("axis", int: Int(boundaryInt()))); break }
            let a = below(g.node[n].attribute.count)
            var attr = g.node[n].attribute[a]
            switch below(5) {
            case 0: attr.i = boundaryInt()
            case 1 where !attr.ints.isEmpty: attr.ints[below(attr.ints.count)] = boundaryInt()
            case 1: attr.ints = [boundaryInt()]
            case 2: attr.ints = Array(attr.ints.dropLast())
            case 3: attr.f = Self.boundaryFloats[below(Self.boundaryFloats.count)]
            default: attr.type = Onnx_AttributeProto.AttributeType(rawValue: below(16)) ?? .undefined
            }
            g.node[n].attribute[a] = attr
        case 3:  // op type, input or output names
            guard !g.node.isEmpty else { break }
            let n = below(g.node.count)
            switch below(4) {
            case 0: g.node[n].opType = opTypes[below(opTypes.count)]
            case 1: if !g.node[n].input.isEmpty { g.node[n].input.removeLast() }
            case 2: g.node[n].input.append(g.node[below(g.node.count)].output.first ?? "")
            default: if !g.node[n].output.isEmpty { g.node[n].output[0] = g.node[below(g.node.count)].output.first ?? "" }
            }
        case 4, 5:  // an initializer (or a Constant node's tensor)
            guard !g.initializer.isEmpty else { break }
            let t = below(g.initializer.count)
            var tensor = g.initializer[t]
            switch below(4) {
            case 0 where !tensor.dims.isEmpty: tensor.dims[below(tensor.dims.count)] = boundaryInt()
            case 0: tensor.dims = [boundaryInt()]
            case 1: tensor.dims.append(boundaryInt() & 7)
            case 2: tensor.dataType = Int32(below(24))
            default: tensor.rawData = tensor.rawData.prefix(below(tensor.rawData.count + 1))
            }
            g.initializer[t] = tensor
        case 6:  // a graph input's shape
            guard !g.input.isEmpty else { break }
            let i = below(g.input.count)
            var dims = g.input[i].type.tensorType.shape.dim
            if !dims.isEmpty && below(2) == 0 { dims[below(dims.count)].dimValue = boundaryInt() } else { dims.removeLast(min(dims.count, 1)) }
            g.input[i].type.tensorType.shape.dim = dims
        default:  // the opset
            if !m.opsetImport.isEmpty { m.opsetImport[0].version = Int64(9 + below(22)) }
        }
        m.graph = g
        return m
    }
}
