// ExistingApp: an app that already has a JSON API, made real-time.
//
//   swift run ExistingApp             # PORT=9000 for another port
//   curl -d '{"title":"Buy milk"}' 127.0.0.1:8080/todos
//   curl -X PATCH -d '{"done":true}' 127.0.0.1:8080/todos/1
//
// The todo API below is ordinary app code. Adding real-time took the lines
// marked "REAL-TIME": mount the client protocol and its script, and publish
// an event after every change. Browsers then follow the list with
//
//   const client = new Switchboard.Client("/realtime");
//   client.subscribe("todos", ({ event, todo, version }) => render(event, todo));
//
// as the page at / does (Page.swift): open it in two windows, change the
// list in one (or with curl), and the other follows.
import Foundation
import Switchboard

let port = ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8080
let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: port))

/// JSON text for a response or an event.
func json(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}

// REAL-TIME (1 of 2): every change to the list goes to topic "todos".
let todos = TodoStore(didChange: { event in server.pubsub.publish("todos", json: json(event)) })

// REAL-TIME (2 of 2): the client protocol at /realtime, read-only, topic "todos"
// only; and the JavaScript client for browsers.
server.pubsubEndpoint("/realtime", authorizer: PubSubAuthorizer<Void>(
    authenticate: { _ in },                         // anyone may watch (check a session here)
    canSubscribe: { _, topic in topic == "todos" },  // anything else: error "forbidden"
    canPublish: { _, _ in false }                    // changes come through the API only
))
server.router.clientScript(at: "/switchboard.js")

// The app as it was.

/// The body of POST /todos and PATCH /todos/:id.
struct TodoInput: Decodable {
    var title: String?
    var done: Bool?
}

func input(_ request: Request) throws -> TodoInput {
    guard let input = try? JSONDecoder().decode(TodoInput.self, from: Data(request.body)) else {
        throw HTTPError(.badRequest, #"expected JSON like {"title":"Buy milk"} or {"done":true}"#)
    }
    if let title = input.title, title.trimmingCharacters(in: .whitespaces).isEmpty || title.count > 200 {
        throw HTTPError(.badRequest, "a title has 1 to 200 characters")
    }
    return input
}

func id(_ request: Request) throws -> Int {
    guard let id = request.parameters["id"].flatMap(Int.init) else { throw HTTPError(.notFound, "no such todo") }
    return id
}

server.router.get("/health") { _ in .text("ok") }
server.router.get("/") { _ in .html(page) }
server.router.get("/todos") { _ in
    let (list, version) = todos.all
    // The version of the list: a page applies only the events after it.
    var response = Response.json(json(list))
    response.headerFields[.eTag] = "\"\(version)\""
    return response
}
server.router.post("/todos") { request in
    guard let title = try input(request).title else { throw HTTPError(.badRequest, "a todo needs a title") }
    return .json(json(todos.create(title: title)), status: .created)
}
server.router.patch("/todos/:id") { request in
    let change = try input(request)
    guard change.title != nil || change.done != nil else { throw HTTPError(.badRequest, "nothing to change") }
    guard let todo = todos.update(id: try id(request), title: change.title, done: change.done) else {
        throw HTTPError(.notFound, "no such todo")
    }
    return .json(json(todo))
}
server.router.delete("/todos/:id") { request in
    guard todos.delete(id: try id(request)) != nil else { throw HTTPError(.notFound, "no such todo") }
    return .status(.noContent)
}

do {
    try server.runUntilTerminated()
} catch {
    FileHandle.standardError.write(Data("ExistingApp: \(error)\n".utf8))
    exit(1)
}
