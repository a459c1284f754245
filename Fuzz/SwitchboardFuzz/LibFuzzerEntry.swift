#if FUZZING
import Glibc
import SwitchboardFuzzTargets

/// Built with `-sanitize=fuzzer -DFUZZING` (Scripts/fuzz.sh): hands the
/// command line to libFuzzer, which calls ``fuzzerTestOneInput`` with each
/// input for the target named by `FUZZ_TARGET`.
///
/// SwiftPM links an executable's `main` to its `@main` type, so libFuzzer's
/// own `main` cannot be used; its documented driver entry is called instead.
@main
enum LibFuzzerEntry {
    static func main() {
        guard selectedTarget != nil else {
            let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
            printError("SwitchboardFuzz: set FUZZ_TARGET to one of: \(names)")
            exit(2)
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runLibFuzzer(&argc, &argv, fuzzerTestOneInput))
    }
}

/// `LLVMFuzzerRunDriver` (libFuzzer, in libclang_rt.fuzzer).
@_extern(c, "LLVMFuzzerRunDriver")
func runLibFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The target named by `FUZZ_TARGET`, read once.
private let selectedTarget: FuzzTarget? = getenv("FUZZ_TARGET").flatMap { FuzzTarget.named(String(cString: $0)) }

/// One input from libFuzzer. A broken property is reported and turned into
/// a crash, which libFuzzer saves as an artifact.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try selectedTarget!.run(input)
    } catch {
        printError("SwitchboardFuzz: \(selectedTarget!.name): property violated: \(error)")
        abort()
    }
    return 0
}

/// One line on standard error, where libFuzzer reports too.
private func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
#endif
