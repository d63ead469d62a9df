import ArgumentParser
import KilnIR

struct Kiln: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Kiln: an ahead-of-time compiler for ONNX models.")
}
Kiln.main()
