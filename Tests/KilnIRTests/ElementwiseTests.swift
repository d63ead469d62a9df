import XCTest
@testable import KilnIR

/// Expected float values below come from onnx.reference (opset 22) on the same f32 inputs.
final class ElementwiseTests: XCTestCase {
    let x = f32([8], [-2.5, -1, -0.5, 0, 0.5, 1.5, 2.5, 3])

    func unary(_ op: UnaryOp) throws -> [Double] { try evaluateOp1(.unary(op), [x]).doubles }

    func testMathFunctions() throws {
        assertClose(try unary(.erf), [-0.9995930194854736, -0.8427007794380188, -0.5204998850822449, 0.0, 0.5204998850822449, 0.9661051630973816, 0.9995930194854736, 0.9999778866767883])
        XCTAssertEqual(try unary(.round), [-2, -1, -0.0, 0, 0, 2, 2, 3])  // half to even
        XCTAssertEqual(try unary(.sign), [-1, -1, -1, 0, 1, 1, 1, 1])
        XCTAssertEqual(try unary(.floor), [-3, -1, -1, 0, 0, 1, 2, 3])
        XCTAssertEqual(try unary(.abs), [2.5, 1, 0.5, 0, 0.5, 1.5, 2.5, 3])
        assertClose(try unary(.softsign), [-0.7142857313156128, -0.5, -0.3333333432674408, 0.0, 0.3333333432674408, 0.6000000238418579, 0.7142857313156128, 0.75])
    }

    func testActivations() throws {
        assertClose(try unary(.sigmoid), [0.07585818320512772, 0.26894140243530273, 0.3775406777858734, 0.5, 0.622459352016449, 0.8175745010375977, 0.9241418242454529, 0.9525741338729858])
        assertClose(try unary(.softplus), [0.07888973504304886, 0.3132616877555847, 0.4740769863128662, 0.6931471824645996, 0.9740769863128662, 1.7014132738113403, 2.578889846801758, 3.0485873222351074])
        assertClose(try unary(.mish), [-0.19681620597839355, -0.30340147018432617, -0.22074377536773682, 0.0, 0.37524518370628357, 1.4033782482147217, 2.4713923931121826, 2.98653507232666])
        // silu = ONNX Swish (opset 24, alpha 1)
        assertClose(try unary(.silu), [-0.189645454287529, -0.26894140243530273, -0.1887703388929367, 0.0, 0.3112296760082245, 1.2263617515563965, 2.310354471206665, 2.857722282409668])
        assertClose(try unary(.hardSwish), [-0.20833328366279602, -0.3333333134651184, -0.2083333283662796, 0.0, 0.2916666567325592, 1.125, 2.2916667461395264, 3.0])
        assertClose(try unary(.gelu(tanh: false)), [-0.015524178743362427, -0.15865525603294373, -0.1542687714099884, 0.0, 0.3457312285900116, 1.3997893333435059, 2.48447585105896, 2.995950222015381])
        assertClose(try unary(.gelu(tanh: true)), [-0.015084221959114075, -0.15880799293518066, -0.1542859971523285, 0.0, 0.3457140028476715, 1.3995715379714966, 2.4849157333374023, 2.9963626861572266])
        assertClose(try unary(.selu(alpha: 1.67326319217681884765625, gamma: 1.05070102214813232421875)), [-1.613785743713379, -1.1113307476043701, -0.6917582154273987, 0.0, 0.5253505110740662, 1.5760514736175537, 2.6267526149749756, 3.1521029472351074])
        assertClose(try unary(.elu(alpha: 0.7)), [-0.642540454864502, -0.44248437881469727, -0.27542853355407715, 0.0, 0.5, 1.5, 2.5, 3.0])
        assertClose(try unary(.celu(alpha: 0.5)), [-0.49663102626800537, -0.4323323667049408, -0.31606027483940125, 0.0, 0.5, 1.5, 2.5, 3.0])
        assertClose(try unary(.hardSigmoid(alpha: 0.3, beta: 0.4)), [0.0, 0.09999999403953552, 0.25, 0.4000000059604645, 0.550000011920929, 0.8500000238418579, 1.0, 1.0])
        assertClose(try unary(.thresholdedRelu(alpha: 1)), [0, 0, 0, 0, 0, 1.5, 2.5, 3])
        assertClose(try unary(.leakyRelu(alpha: 0.1)), [-0.25, -0.10000000149011612, -0.05000000074505806, 0.0, 0.5, 1.5, 2.5, 3.0])
        XCTAssertEqual(try unary(.relu), [0, 0, 0, 0, 0.5, 1.5, 2.5, 3])
    }

    func testIntegerAndBoolUnary() throws {
        let v = i32([4], [-3, 0, 5, -2147483648])
        XCTAssertEqual(try evaluateOp1(.unary(.abs), [v]).int64s, [3, 0, 5, -2147483648])  // wraps like C
        XCTAssertEqual(try evaluateOp1(.unary(.neg), [v]).int64s, [3, 0, -5, -2147483648])
        XCTAssertEqual(try evaluateOp1(.unary(.sign), [v]).int64s, [-1, 0, 1, -1])
        XCTAssertEqual(try evaluateOp1(.unary(.relu), [v]).int64s, [0, 0, 5, 0])
        XCTAssertEqual(try evaluateOp1(.unary(.not), [bools([2], [true, false])]).int64s, [0, 1])
        let special = f32([4], [.nan, .infinity, -.infinity, 1])
        let nan = try evaluateOp1(.unary(.isNaN), [special])
        XCTAssertEqual(nan.dtype, .bool)
        XCTAssertEqual(nan.int64s, [1, 0, 0, 0])
        XCTAssertEqual(try evaluateOp1(.unary(.isInf), [special]).int64s, [0, 1, 1, 0])
    }

    func testUnaryTypeErrors() {
        assertKilnError("exp expects a float operand, got i32") { try inferTypes(.unary(.exp), [TensorType(.i32, [2])]) }
        assertKilnError("neg expects a float or signed integer operand, got u8") { try inferTypes(.unary(.neg), [TensorType(.u8, [2])]) }
        assertKilnError("not expects a bool operand, got f32") { try inferTypes(.unary(.not), [TensorType(.f32, [2])]) }
        assertKilnError("relu takes 1 operands, got 2") { try inferTypes(.unary(.relu), [TensorType(.f32, [2]), TensorType(.f32, [2])]) }
        XCTAssertEqual(try inferTypes(.unary(.abs), [TensorType(.u8, [3])]), [TensorType(.u8, [3])])
    }

    func testBroadcastArithmetic() throws {
        let a = f32([2, 3], [1.5, -2, 3, 4, 5, -6])
        let b = f32([3], [0.5, 2, -1])
        let sum = try evaluateOp1(.binary(.add), [a, b])
        XCTAssertEqual(sum.shape, [2, 3])
        XCTAssertEqual(sum.doubles, [2, 0, 2, 4.5, 7, -7])
        let col = f32([2, 1], [10, 20])
        let row = f32([1, 3], [1, 2, 3])
        let diff = try evaluateOp1(.binary(.sub), [col, row])
        XCTAssertEqual(diff.shape, [2, 3])
        XCTAssertEqual(diff.doubles, [9, 8, 7, 19, 18, 17])
        // pow with an i64 exponent keeps the base's dtype
        let p = try evaluateOp1(.binary(.pow), [a, i64([3], [2, 3, -1])])
        XCTAssertEqual(p.dtype, .f32)
        assertClose(p.doubles, [2.25, -8.0, 0.3333333432674408, 16.0, 125.0, -0.1666666716337204])
        let m = try evaluateOp1(.binary(.max), [f32([3], [1, .nan, 3]), f32([3], [2, 0, .nan])])
        assertClose(m.doubles, [2, .nan, .nan])
    }

    func testIntegerDivisionAndModulo() throws {
        let a = i32([4], [7, -7, 7, -7])
        XCTAssertEqual(try evaluateOp1(.binary(.div), [a, i32([4], [2, 2, -2, -2])]).int64s, [3, -3, -3, 3])
        let three = i32([4], [3, 3, -3, -3])
        XCTAssertEqual(try evaluateOp1(.binary(.mod), [a, three]).int64s, [1, 2, -2, -1])
        XCTAssertEqual(try evaluateOp1(.binary(.fmod), [a, three]).int64s, [1, -1, 1, -1])
        // division by zero does not trap
        XCTAssertEqual(try evaluateOp1(.binary(.div), [i32([1], [5]), i32([1], [0])]).int64s, [0])
        let fm = try evaluateOp1(.binary(.fmod), [f32([4], [5.5, -5.5, 5.5, -5.5]), f32([4], [2, 2, -2, -2])])
        XCTAssertEqual(fm.doubles, [1.5, -1.5, 1.5, -1.5])
        let pm = try evaluateOp1(.binary(.mod), [f32([4], [5.5, -5.5, 5.5, -5.5]), f32([4], [2, 2, -2, -2])])
        XCTAssertEqual(pm.doubles, [1.5, 0.5, -0.5, -1.5])
        let p = try evaluateOp1(.binary(.pow), [i64([3], [3, -2, 5]), i64([3], [20, 3, 0])])
        XCTAssertEqual(p.int64s, [3486784401, -8, 1])
    }

    func testComparisonsLogicAndPrelu() throws {
        let lt = try evaluateOp1(.binary(.less), [i64([3], [1, 5, 3]), i64([], [3])])
        XCTAssertEqual(lt.dtype, .bool)
        XCTAssertEqual(lt.int64s, [1, 0, 0])
        XCTAssertEqual(try evaluateOp1(.binary(.greaterOrEqual), [i64([3], [1, 5, 3]), i64([], [3])]).int64s, [0, 1, 1])
        XCTAssertEqual(try evaluateOp1(.binary(.equal), [bools([2], [true, false]), bools([2], [true, true])]).int64s, [1, 0])
        let t = bools([4], [true, true, false, false]), u = bools([4], [true, false, true, false])
        XCTAssertEqual(try evaluateOp1(.binary(.and), [t, u]).int64s, [1, 0, 0, 0])
        XCTAssertEqual(try evaluateOp1(.binary(.or), [t, u]).int64s, [1, 1, 1, 0])
        XCTAssertEqual(try evaluateOp1(.binary(.xor), [t, u]).int64s, [0, 1, 1, 0])
        let xs = f32([1, 3, 2, 2], (0..<12).map { Double($0) - 5 })
        let slope = f32([3, 1, 1], [0.1, 0.2, 0.3])
        let pr = try evaluateOp1(.binary(.prelu), [xs, slope])
        XCTAssertEqual(pr.shape, [1, 3, 2, 2])
        assertClose(pr.doubles, [-0.5, -0.4000000059604645, -0.30000001192092896, -0.20000000298023224, -0.20000000298023224, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    }

    func testBinaryTypeErrors() {
        assertKilnError("add: operand dtypes differ (f32 and i64)") {
            try inferTypes(.binary(.add), [TensorType(.f32, [2]), TensorType(.i64, [2])])
        }
        assertKilnError("mul: shapes [2,3] and [2] do not broadcast") {
            try inferTypes(.binary(.mul), [TensorType(.f32, [2, 3]), TensorType(.f32, [2])])
        }
        assertKilnError("and expects bool operands, got i32 and i32") {
            try inferTypes(.binary(.and), [TensorType(.i32, [2]), TensorType(.i32, [2])])
        }
        assertKilnError("prelu: slope shape [2,3] does not broadcast to the input shape [3]") {
            try inferTypes(.binary(.prelu), [TensorType(.f32, [3]), TensorType(.f32, [2, 3])])
        }
        assertKilnError("add takes 2 operands, got 1") { try inferTypes(.binary(.add), [TensorType(.f32, [2])]) }
        assertKilnError { try inferTypes(.binary(.less), [TensorType(.bool, [2]), TensorType(.bool, [2])]) }
    }

    func testClip() throws {
        let v = f32([5], [-3, -1, 0, 2, 9])
        XCTAssertEqual(try evaluateOp1(.clip(Clip(min: -1.5, max: 6)), [v]).doubles, [-1.5, -1, 0, 2, 6])
        XCTAssertEqual(try evaluateOp1(.clip(Clip(min: nil, max: 1)), [v]).doubles, [-3, -1, 0, 1, 1])
        XCTAssertEqual(try evaluateOp1(.clip(Clip(min: 0, max: nil)), [v]).doubles, [0, 0, 0, 2, 9])
        XCTAssertEqual(try evaluateOp1(.clip(Clip(min: 3, max: 1)), [v]).doubles, [1, 1, 1, 1, 1])  // min > max → max
        XCTAssertEqual(try evaluateOp1(.clip(Clip(min: -1.5, max: 6.5)), [i32([5], [-3, -1, 0, 2, 9])]).int64s, [-1, -1, 0, 2, 6])
        assertKilnError("clip expects a numeric operand, got bool") { try inferTypes(.clip(Clip(min: 0, max: 1)), [TensorType(.bool, [1])]) }
    }

    func testWhereBroadcastsThreeWays() throws {
        let c = bools([2, 1], [true, false])
        let x = i64([3], [1, 2, 3])
        let y = i64([], [-1])
        let r = try evaluateOp1(.where(Where()), [c, x, y])
        XCTAssertEqual(r.shape, [2, 3])
        XCTAssertEqual(r.int64s, [1, 2, 3, -1, -1, -1])
        assertKilnError("where: condition must be bool, got i64") {
            try inferTypes(.where(Where()), [TensorType(.i64, [1]), TensorType(.i64, [1]), TensorType(.i64, [1])])
        }
        assertKilnError("where: shapes [2], [3] and [1] do not broadcast") {
            try inferTypes(.where(Where()), [TensorType(.bool, [2]), TensorType(.f32, [3]), TensorType(.f32, [1])])
        }
    }

    func testCast() throws {
        let toI32 = try evaluateOp1(.cast(Cast(to: .i32)), [f32([4], [-2.7, 2.7, -0.5, 100.9])])
        XCTAssertEqual(toI32.dtype, .i32)
        XCTAssertEqual(toI32.int64s, [-2, 2, 0, 100])
        let toF16 = try evaluateOp1(.cast(Cast(to: .f16)), [f32([4], [1.0009765625 + 0.00048828125, 65519, 1e-8, 0.1])])
        XCTAssertEqual(toF16.doubles, [1.001953125, 65504.0, 0.0, 0.0999755859375])
        XCTAssertEqual(try evaluateOp1(.cast(Cast(to: .i8)), [Tensor(.u8, [4], int64s: [0, 127, 128, 255])]).int64s, [0, 127, -128, -1])
        XCTAssertEqual(try evaluateOp1(.cast(Cast(to: .bool)), [f32([3], [0, -0.5, .nan])]).int64s, [0, 1, 1])
        XCTAssertEqual(try evaluateOp1(.cast(Cast(to: .f32)), [bools([2], [true, false])]).doubles, [1, 0])
        XCTAssertEqual(try evaluateOp1(.cast(Cast(to: .f64)), [Tensor(.u64, [1], int64s: [-1])]).doubles, [18446744073709551615.0])
        XCTAssertEqual(try inferTypes(.cast(Cast(to: .bf16)), [TensorType(.i8, [2, 2])]), [TensorType(.bf16, [2, 2])])
    }
}
