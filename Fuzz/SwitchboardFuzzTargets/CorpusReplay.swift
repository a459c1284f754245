import Foundation

/// Runs saved inputs through a target: the seed corpora in the test suite,
/// a crash file or a grown corpus from the command line.
public enum CorpusReplay {
    public struct Failure: CustomStringConvertible {
        public let file: String
        public let violation: PropertyViolation
        public var description: String { "\(file): \(violation)" }
    }

    /// The files to replay for `path`: the file itself, or every regular
    /// file directly inside the folder, by name.
    public static func files(at path: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        guard isFolder.boolValue else { return [path] }
        return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            .map { path + "/" + $0 }
            .filter { !$0.hasSuffix("/.gitkeep") }
    }

    /// Runs each file through `target`; returns the ones that broke a property.
    public static func run(_ target: FuzzTarget, files: [String]) throws -> [Failure] {
        var failures: [Failure] = []
        for file in files {
            let input = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            do {
                try target.run(input)
            } catch {
                failures.append(Failure(file: file, violation: error))
            }
        }
        return failures
    }
}
