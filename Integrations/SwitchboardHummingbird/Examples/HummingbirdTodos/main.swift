// HummingbirdTodos: an existing Hummingbird 2 todo API, made real-time on
// its own port by handing WebSocket upgrades to Switchboard.
//
//   swift run HummingbirdTodos        # PORT=9000 for another port
//   curl -d '{"title":"Buy milk"}' 127.0.0.1:8080/todos
//   curl -X PATCH -d '{"done":true}' 127.0.0.1:8080/todos/1
//
// Open http://127.0.0.1:8080/ in two windows: what one changes (or curl),
// the other shows at once. The app below is ordinary Hummingbird code;
// real-time took the four lines marked "REAL-TIME" and Realtime.swift.
import Foundation
import Hummingbird
import SwitchboardHummingbird

let port = ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8080

// REAL-TIME (1 of 4): every change goes to topic "todos" (Realtime.swift).
let todos = TodoRepository(didChange: publish)

/// The body of POST /todos and PATCH /todos/:id.
struct TodoInput: Decodable {
    var title: String?
    var done: Bool?
}

func input(_ request: Request, _ context: BasicRequestContext) async throws -> TodoInput {
    guard let input = try? await request.decode(as: TodoInput.self, context: context) else {
        throw HTTPError(.badRequest, message: #"expected JSON like {"title":"Buy milk"} or {"done":true}"#)
    }
    if let title = input.title, title.trimmingCharacters(in: .whitespaces).isEmpty || title.count > 200 {
        throw HTTPError(.badRequest, message: "a title has 1 to 200 characters")
    }
    return input
}

let router = Router()
router.add(middleware: LogRequestsMiddleware(.info))
router.get("/health") { _, _ in "ok" }
router.get("/") { _, _ in
    Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
}
router.get("/todos") { _, _ -> EditedResponse<[Todo]> in
    let (list, version) = await todos.all
    // The version of the list: a page applies only the events after it.
    return EditedResponse(headers: [.eTag: "\"\(version)\""], response: list)
}
router.post("/todos") { request, context -> EditedResponse<Todo> in
    guard let title = try await input(request, context).title else { throw HTTPError(.badRequest, message: "a todo needs a title") }
    return EditedResponse(status: .created, response: await todos.create(title: title))
}
router.patch("/todos/:id") { request, context -> Todo in
    let change = try await input(request, context)
    guard change.title != nil || change.done != nil else { throw HTTPError(.badRequest, message: "nothing to change") }
    guard let id = context.parameters.get("id", as: Int.self),
          let todo = await todos.update(id: id, title: change.title, done: change.done)
    else { throw HTTPError(.notFound, message: "no such todo") }
    return todo
}
router.delete("/todos/:id") { _, context -> HTTPResponse.Status in
    guard let id = context.parameters.get("id", as: Int.self), await todos.delete(id: id) != nil else {
        throw HTTPError(.notFound, message: "no such todo")
    }
    return .noContent
}

// REAL-TIME (2 of 4): the upgrade route, and the browser client the page loads.
router.switchboard("/realtime", to: switchboard)
router.switchboardClientScript(at: "/switchboard.js")

let app = Application(
    router: router,
    // REAL-TIME (3 of 4): the app's HTTP server can hand upgrades over.
    server: .http1(handingOffTo: switchboard),
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    // REAL-TIME (4 of 4): Switchboard starts and stops with the app
    // (SIGTERM: WebSocket clients get 1001).
    services: [switchboard]
)
try await app.runService()
