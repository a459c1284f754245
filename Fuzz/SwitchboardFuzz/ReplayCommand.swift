#if !FUZZING
import Foundation
import SwitchboardFuzzTargets

/// Without libFuzzer (a normal build): replays saved inputs.
///
///     swift run SwitchboardFuzz <target> <file or folder>...
///     swift run SwitchboardFuzz all Fuzz/Corpus
///
/// With `all`, each folder holds one subfolder per target, named after it.
/// Exits 1 if any input breaks a property, 2 on bad arguments.
@main
enum ReplayCommand {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard arguments.count >= 2 else { usage() }
        let runs: [(FuzzTarget, String)]
        if arguments[0] == "all" {
            runs = FuzzTarget.all.flatMap { target in arguments.dropFirst().map { (target, $0 + "/" + target.name) } }
        } else if let target = FuzzTarget.named(arguments[0]) {
            runs = arguments.dropFirst().map { (target, $0) }
        } else {
            usage()
        }
        var failed = false
        for (target, path) in runs {
            do {
                let files = try CorpusReplay.files(at: path)
                let failures = try CorpusReplay.run(target, files: files)
                failures.forEach { print("FAIL \(target.name) \($0)") }
                print("\(target.name): \(files.count) inputs, \(failures.count) failed (\(path))")
                failed = failed || !failures.isEmpty
            } catch {
                print("\(target.name): cannot read \(path): \(error)")
                failed = true
            }
        }
        exit(failed ? 1 : 0)
    }

    static func usage() -> Never {
        let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
        print("usage: SwitchboardFuzz <target|all> <file or folder>...\ntargets: \(names)")
        exit(2)
    }
}
#endif
