import Hummingbird
import Switchboard
import SwitchboardHummingbird
import Testing

// The README's Hummingbird code, kept compiling here: when the API changes,
// this file fails to build before the README misleads anyone.

private actor Todos {
    struct Todo: ResponseEncodable { var id: Int }
    var all: [Todo] { [] }
    func create() -> Todo { Todo(id: 1) }
}

@Suite("README: Hummingbird")
struct ReadmeSnippetsTests {
    @Test func sameAndSeparatePortSetupsBuild() throws {
        let todos = Todos()
        do {
            let switchboard = Switchboard.Server()
            switchboard.pubsubEndpoint("/realtime", authorizer: PubSubAuthorizer())
            let router = Hummingbird.Router()
            router.get("/todos") { _, _ in await todos.all }
            router.switchboard("/realtime", to: switchboard)
            router.switchboardClientScript(at: "/switchboard.js")
            let app = Application(
                router: router,
                server: .http1(handingOffTo: switchboard),
                configuration: .init(address: .hostname("127.0.0.1", port: 8080)),
                services: [switchboard]
            )
            _ = app
        }
        do {
            let switchboard = Switchboard.Server(configuration: ServerConfiguration(port: 8081))
            switchboard.pubsubEndpoint(
                "/realtime",
                configuration: WebSocketConfiguration(origins: .allowList(["http://localhost:8080"])),
                authorizer: PubSubAuthorizer())
            let router = Hummingbird.Router()
            router.post("/todos") { _, _ in
                let todo = await todos.create()
                switchboard.pubsub.publish("todos", json: #"{"created":\#(todo.id)}"#)
                return todo
            }
            let app = Application(router: router, services: [switchboard])
            _ = app
        }
    }
}
