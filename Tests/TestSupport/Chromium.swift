public import Foundation
import Glibc

/// A headless Chromium showing one page, for tests of the browser client.
///
/// Foundation's `Process` starts the child in a process group of its own,
/// so `kill()` ends the whole browser (zygotes, renderers, crash handlers)
/// with one signal, whatever state the test left it in.
public final class Chromium {
    public static let path = "/usr/bin/chromium"
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    private let process = Process()
    /// Profile and log; removed by `kill()`.
    private let folder: URL
    private let logFile: URL
    private var killed = false

    /// Starts the browser on `url`.
    /// Opens `url`; `arguments` are extra command-line flags (e.g. a DevTools port).
    public init(url: String, arguments: [String] = []) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-chromium-\(UUID().uuidString)")
        logFile = folder.appendingPathComponent("chromium.log")
        let profile = folder.appendingPathComponent("profile")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        process.executableURL = URL(fileURLWithPath: Self.path)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            // Nothing but the test page: no proxy from the environment, no
            // calls home, no extensions.
            "--no-proxy-server", "--disable-background-networking", "--disable-component-update",
            "--disable-extensions", "--no-default-browser-check",
            "--user-data-dir=" + profile.path,
        ] + arguments + [url]
        process.standardInput = FileHandle.nullDevice
        // A file, not a pipe: nobody has to drain it while the test runs.
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    deinit { kill() }

    public var isRunning: Bool { process.isRunning }

    /// The browser's profile folder (Chromium writes `DevToolsActivePort` there).
    public var profileFolder: URL { folder.appendingPathComponent("profile") }

    /// The end of the browser's output, for failure messages.
    public var logTail: String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    /// Kills the browser's process group and removes its profile. Safe to
    /// call more than once.
    public func kill() {
        guard !killed else { return }
        killed = true
        let pid = process.processIdentifier
        // Never signal group 0 (our own) or a group the browser is not the leader of.
        if pid > 0 {
            if getpgid(pid) == pid { Glibc.kill(-pid, SIGKILL) } else { Glibc.kill(pid, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}
