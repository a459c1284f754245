import Foundation
import SwitchboardFuzzTargets
import Testing

/// Every seed (and every saved regression input) in Fuzz/Corpus/<target>/
/// still passes its fuzz target, so a regression fails here in seconds
/// rather than in a fuzzing run.
@Suite("Fuzz seed corpora")
struct SeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus").path

    @Test("seeds pass", arguments: FuzzTarget.all.map(\.name))
    func seedsPass(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let files = try CorpusReplay.files(at: Self.corpus + "/" + name)
        #expect(files.count >= 5, "too few seeds for \(name)")
        for failure in try CorpusReplay.run(target, files: files) {
            Issue.record("\(failure)")
        }
    }
}
