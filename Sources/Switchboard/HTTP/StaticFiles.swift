import Foundation
import Glibc
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
    ///
    /// Responses carry `ETag` and `Last-Modified` (from the file's size and
    /// modification time) with `Cache-Control: no-cache`: browsers keep
    /// their copy and ask again each time, and an unchanged file is
    /// answered with 304 and no body (`If-None-Match`, else
    /// `If-Modified-Since`, RFC 9110 §13.2.2), so a deployment is seen at
    /// once without resending what did not change.
    public func staticFiles(at prefix: String, directory: String) {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath().path
        let pattern = (prefix.hasSuffix("/") ? prefix : prefix + "/") + "*path"
        get(pattern) { request in
            guard let relative = request.parameters["path"],
                  let file = StaticFile.resolve(relative, in: root, conditions: request.headerFields) else {
                throw HTTPError(.notFound)
            }
            return file
        }
    }
}

enum StaticFile {
    static func resolve(_ relative: String, in root: String, conditions: HTTPFields = [:]) -> Response? {
        // Bytes, not Characters: a character that joins the "/" after it
        // into one grapheme cluster (U+0605) must not hide a segment.
        let segments = relative.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
            .map { String(decoding: $0, as: UTF8.self) }
        for segment in segments where segment == ".." || segment == "." || segment.utf8.contains(UInt8(ascii: "\\")) || segment.utf8.contains(0) {
            return nil
        }
        var path = root + "/" + segments.joined(separator: "/")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { path += "/index.html" }
        // Symbolic links could still lead out of the root.
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard real.utf8.starts(with: (root + "/").utf8) else { return nil }
        var status = stat()
        guard stat(real, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        let validators: HTTPFields = [
            .eTag: entityTag(status),
            .lastModified: HTTPDate.format(status.st_mtim.tv_sec),
            .cacheControl: "no-cache",
        ]
        if isUnchanged(status, conditions) {
            return Response(status: .notModified, headerFields: validators)
        }
        guard let data = FileManager.default.contents(atPath: real) else { return nil }
        var fields: HTTPFields = [.contentType: contentType(of: real)]
        fields.append(contentsOf: validators)
        return Response(status: .ok, headerFields: fields, body: [UInt8](data))
    }

    /// A weak validator: size and modification time (to the nanosecond)
    /// change when the file does, without reading it.
    static func entityTag(_ status: stat) -> String {
        let parts = [UInt64(status.st_size), UInt64(status.st_mtim.tv_sec), UInt64(status.st_mtim.tv_nsec)]
        return "W/\"" + parts.map { String($0, radix: 16) }.joined(separator: "-") + "\""
    }

    /// RFC 9110 §13.2.2: `If-None-Match` decides when present (weak
    /// comparison, `*` matches); otherwise `If-Modified-Since`, when it is a
    /// valid date, and the file is not newer (to the second).
    static func isUnchanged(_ status: stat, _ conditions: HTTPFields) -> Bool {
        if let tags = conditions[.ifNoneMatch] {
            let current = entityTag(status).dropFirst(2)  // weak comparison: the opaque part
            return tags.split(separator: ",").contains { candidate in
                let tag = candidate.trimmingCharacters(in: .whitespaces)
                return tag == "*" || (tag.hasPrefix("W/") ? tag.dropFirst(2) : Substring(tag)) == current
            }
        }
        if let since = conditions[.ifModifiedSince].flatMap({ HTTPDate.parse($0) }) {
            return status.st_mtim.tv_sec <= since
        }
        return false
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
