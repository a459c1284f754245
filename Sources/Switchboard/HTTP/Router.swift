public import HTTPTypes
import Synchronization
import SwitchboardSync

/// Handles a plain HTTP request on the connection's loop thread. It must not
/// block: hand slow work to another thread and publish the result later.
public typealias RouteHandler = @Sendable (Request) throws -> Response

/// Maps a method and a path to a handler.
///
/// Patterns are split on `/`: a literal segment matches itself, `:name`
/// matches any one segment, and a final `*name` matches the rest of the
/// path (possibly empty). Literals win over parameters, parameters over a
/// catch-all. A path that matches with another method gets 405 with
/// `Allow`; no match at all gets 404. `GET` routes also answer `HEAD`, and
/// `OPTIONS` is answered from the routes' methods.
///
/// Register routes before the server starts; the table is read without
/// locks from then on, so registering later is a programming error.
public final class Router: Sendable {
    private let root = Locked(RouteNode())
    private let frozenRoot = Atomic<Bool>(false)
    /// WebSocket routes' patterns, in the order added: their metrics labels.
    private let webSocketPatterns = Locked<[String]>([])
    /// HTTP routes' patterns (once each, whatever the methods), likewise.
    private let httpPatterns = Locked<[String]>([])

    public init() {}

    /// Adds `handler` for `method` at `pattern`, e.g. `"/publish/:topic"`.
    public func on(_ method: HTTPRequest.Method, _ pattern: String, _ handler: @escaping RouteHandler) {
        add(method, pattern, .http(handler, metricsIndex: registerHTTPRoute(pattern)))
    }

    public func get(_ pattern: String, _ handler: @escaping RouteHandler) { on(.get, pattern, handler) }
    public func post(_ pattern: String, _ handler: @escaping RouteHandler) { on(.post, pattern, handler) }
    public func put(_ pattern: String, _ handler: @escaping RouteHandler) { on(.put, pattern, handler) }
    public func delete(_ pattern: String, _ handler: @escaping RouteHandler) { on(.delete, pattern, handler) }
    public func patch(_ pattern: String, _ handler: @escaping RouteHandler) { on(.patch, pattern, handler) }

    func add(_ method: HTTPRequest.Method, _ pattern: String, _ target: RouteTarget) {
        precondition(!frozenRoot.load(ordering: .acquiring), "routes must be registered before the server starts (\(method) \(pattern))")
        root.withLock { root in
            root.insert(segments: RouteNode.segments(of: pattern)[...], method: method, target: target, pattern: pattern)
        }
    }

    /// Numbers a WebSocket route for the metrics.
    func registerWebSocketRoute(_ pattern: String) -> Int {
        webSocketPatterns.withLock { patterns in
            patterns.append(pattern)
            return patterns.count - 1
        }
    }

    /// Numbers an HTTP route's pattern for the metrics (the same number for
    /// every method on it).
    func registerHTTPRoute(_ pattern: String) -> Int {
        httpPatterns.withLock { patterns in
            if let index = patterns.firstIndex(of: pattern) { return index }
            patterns.append(pattern)
            return patterns.count - 1
        }
    }

    /// The HTTP routes' patterns, by their metrics number.
    var httpRoutePatterns: [String] { httpPatterns.withLock { $0 } }

    /// The WebSocket routes' patterns, by their metrics number.
    var webSocketRoutePatterns: [String] { webSocketPatterns.withLock { $0 } }

    /// The finished table; after this, registering traps.
    func freeze() -> RouteTable {
        frozenRoot.store(true, ordering: .releasing)
        return RouteTable(
            root: root.withLock { $0 }, webSocketRouteCount: webSocketPatterns.withLock { $0.count },
            httpRouteCount: httpPatterns.withLock { $0.count })
    }

    /// Lets go of every handler once the server has stopped: handlers
    /// often capture the server itself (to publish), and would keep it, its
    /// loops and its buffers alive after `stop()`.
    func releaseHandlers() {
        root.withLock { $0 = RouteNode() }
    }
}

/// What a route leads to.
enum RouteTarget: Sendable {
    case http(RouteHandler, metricsIndex: Int)
    case webSocket(WebSocketRoute)
}

/// The router's immutable table, shared by every loop without locks. A
/// class: read by every request, where a struct's copy retained each of
/// its references.
final class RouteTable: Sendable {
    let root: RouteNode
    /// WebSocket routes, numbered 0..<count (`WebSocketSettings.metricsIndex`).
    let webSocketRouteCount: Int
    /// HTTP route patterns, numbered 0..<count.
    let httpRouteCount: Int
    /// The nodes with routes that only literal segments lead to, by their
    /// whole path ("/chat/room"): one hash lookup instead of splitting the
    /// path (an allocation) and walking the tree. The tree would find the
    /// same node (it tries literals first and never backtracks out of a
    /// match), so anything else falls through to it.
    let exactPaths: [Substring: RouteNode]

    init(root: RouteNode, webSocketRouteCount: Int = 0, httpRouteCount: Int = 0) {
        self.root = root
        self.webSocketRouteCount = webSocketRouteCount
        self.httpRouteCount = httpRouteCount
        var exactPaths: [Substring: RouteNode] = [:]
        root.forEachLiteralPath(prefix: "") { path, node in exactPaths[path[...]] = node }
        self.exactPaths = exactPaths
    }

    /// Whether some WebSocket route accepts permessage-deflate: then every
    /// publish carries a slot for its compressed frame.
    var allowsCompression: Bool { root.anyTarget { if case .webSocket(let route) = $0 { route.configuration.compression != nil } else { false } } }

    enum Match {
        case found(RouteTarget, Parameters)
        /// The path exists, but not with this method.
        case methodNotAllowed(allowed: [HTTPRequest.Method])
        case notFound
    }

    func match(_ method: HTTPRequest.Method, path: Substring) -> Match {
        if let node = exactPaths[path] { return Self.match(method, at: node, parameters: Parameters()) }
        return matchWalkingTheTree(method, path: path)
    }

    /// `match` without the exact-path table (tests compare the two).
    func matchWalkingTheTree(_ method: HTTPRequest.Method, path: Substring) -> Match {
        var parameters = Parameters()
        let segments = RouteNode.segments(of: path)
        guard let node = root.find(segments[...], parameters: &parameters) else { return .notFound }
        return Self.match(method, at: node, parameters: parameters)
    }

    private static func match(_ method: HTTPRequest.Method, at node: RouteNode, parameters: Parameters) -> Match {
        // GET (every WebSocket upgrade) without hashing the method's string.
        if method == .get, let target = node.getTarget { return .found(target, parameters) }
        if let target = node.targets[method] ?? (method == .head ? node.targets[.get] : nil) {
            return .found(target, parameters)
        }
        return .methodNotAllowed(allowed: node.allowedMethods)
    }
}

/// One segment position in the route tree (a value type: the frozen table
/// is a copy nobody can change).
struct RouteNode: Sendable {
    var literals: [Substring: RouteNode] = [:]
    var parameter: (name: String, node: Box)?
    var catchAll: (name: String, node: Box)?
    var targets: [HTTPRequest.Method: RouteTarget] = [:]
    /// `targets[.get]`, the commonest lookup, kept apart.
    var getTarget: RouteTarget?

    /// Indirection so a node can hold nodes of its own type.
    final class Box: @unchecked Sendable {
        // Only mutated while the router is being built, under its lock.
        var node: RouteNode
        init(_ node: RouteNode) { self.node = node }
    }

    static func segments<S: StringProtocol>(of path: S) -> [Substring] where S.SubSequence == Substring {
        var segments = splitAtASCII(path[...], UInt8(ascii: "/"))
        if segments.first?.isEmpty == true { segments.removeFirst() }
        return segments
    }

    /// Calls `body` with every node under this one that has routes and is
    /// reached through literal segments only, and its whole path.
    func forEachLiteralPath(prefix: String, _ body: (String, RouteNode) -> Void) {
        if !targets.isEmpty { body(prefix, self) }
        for (segment, node) in literals { node.forEachLiteralPath(prefix: prefix + "/" + segment, body) }
    }

    /// Whether any target in this subtree satisfies `predicate`.
    func anyTarget(_ predicate: (RouteTarget) -> Bool) -> Bool {
        targets.values.contains(where: predicate)
            || literals.values.contains { $0.anyTarget(predicate) }
            || parameter?.node.node.anyTarget(predicate) == true
            || catchAll?.node.node.anyTarget(predicate) == true
    }

    var allowedMethods: [HTTPRequest.Method] {
        var methods = Array(targets.keys)
        if targets[.get] != nil, targets[.head] == nil { methods.append(.head) }
        methods.append(.options)
        return methods.sorted { $0.rawValue < $1.rawValue }
    }

    mutating func insert(segments: ArraySlice<Substring>, method: HTTPRequest.Method, target: RouteTarget, pattern: String) {
        guard let first = segments.first else {
            precondition(targets[method] == nil, "route registered twice: \(method) \(pattern)")
            targets[method] = target
            if method == .get { getTarget = target }
            return
        }
        let rest = segments.dropFirst()
        if first.hasPrefix(":") {
            let name = String(first.dropFirst())
            if parameter == nil { parameter = (name, Box(RouteNode())) }
            precondition(parameter!.name == name, "conflicting parameter names at the same place: \(pattern)")
            parameter!.node.node.insert(segments: rest, method: method, target: target, pattern: pattern)
        } else if first.hasPrefix("*") {
            precondition(rest.isEmpty, "a catch-all must be the last segment: \(pattern)")
            let name = String(first.dropFirst())
            if catchAll == nil { catchAll = (name, Box(RouteNode())) }
            catchAll!.node.node.insert(segments: rest, method: method, target: target, pattern: pattern)
        } else {
            literals[first, default: RouteNode()].insert(segments: rest, method: method, target: target, pattern: pattern)
        }
    }

    /// The node the path ends at, trying literals, then the parameter, then
    /// the catch-all, backtracking when a branch leads nowhere.
    func find(_ segments: ArraySlice<Substring>, parameters: inout Parameters) -> RouteNode? {
        guard let first = segments.first else {
            if !targets.isEmpty { return self }
            // "/files/" with a "/files/*path" route: the rest is empty.
            if let catchAll, !catchAll.node.node.targets.isEmpty {
                parameters.append(catchAll.name, "")
                return catchAll.node.node
            }
            return nil
        }
        let rest = segments.dropFirst()
        if let literal = literals[first], let found = literal.find(rest, parameters: &parameters) {
            return found
        }
        if let parameter, let value = percentDecode(first) {
            parameters.append(parameter.name, value)
            if let found = parameter.node.node.find(rest, parameters: &parameters) { return found }
            parameters.removeLast()
        }
        if let catchAll, !catchAll.node.node.targets.isEmpty,
           let value = percentDecode(segments.joined(separator: "/")[...]) {
            parameters.append(catchAll.name, value)
            return catchAll.node.node
        }
        return nil
    }
}
