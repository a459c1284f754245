import Foundation
import HTTPTypes

extension Router {
    /// Serves the files under `directory` at `prefix` with `GET` and
    /// `HEAD`; a directory serves its `index.html`.
    ///
    /// A path with `..`, `.`, a backslash or a NUL in any segment (also
    /// percent-encoded) is refused with 404, and so is a file whose real
    /// path (symbolic links resolved) lies outside `directory`. Files are
    /// read on the loop thread on each request: meant for the small pages
    /// and scripts of an app, not for large downloads.
    public func staticFiles(at prefix: String, directory: String) {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
        let pattern = (prefix.hasSuffix("/") ? prefix : prefix + "/") + "*path"
        get(pattern) { request in
            guard let relative = request.parameters["path"], let file = StaticFile.resolve(relative, in: root) else {
                throw HTTPError(.notFound)
            }
            return file
        }
    }
}

enum StaticFile {
    static func resolve(_ relative: String, in root: String) -> Response? {
        let segments = relative.split(separator: "/", omittingEmptySubsequences: true)
        for segment in segments where segment == ".." || segment == "." || segment.contains("\\") || segment.contains("\0") {
            return nil
        }
        var path = root + "/" + segments.joined(separator: "/")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { path += "/index.html" }
        // Symbolic links could still lead out of the root.
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard real.hasPrefix(root + "/"), let data = FileManager.default.contents(atPath: real) else { return nil }
        return Response(status: .ok, headerFields: [.contentType: contentType(of: real)], body: [UInt8](data))
    }

    static func contentType(of path: String) -> String {
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json": return "application/json"
        case "txt": return "text/plain; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "ico": return "image/x-icon"
        case "wasm": return "application/wasm"
        case "woff2": return "font/woff2"
        default: return "application/octet-stream"
        }
    }
}
