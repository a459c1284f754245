import Switchboard
import SwitchboardVapor
import Testing
import Vapor

// The README's Vapor code, kept compiling here: when the API changes, this
// file fails to build before the README misleads anyone.

private actor Todos {
    func all() -> [String] { [] }
}

@Suite("README: Vapor")
struct ReadmeSnippetsTests {
    @Test func theSamePortSetupBuildsAndBoots() async throws {
        let todos = Todos()
        let switchboard = Switchboard.Server()
        switchboard.pubsubEndpoint("/realtime", authorizer: PubSubAuthorizer())
        let app = try await Application.make(.testing)
        app.lifecycle.use(SwitchboardLifecycle(switchboard))
        app.get("todos") { _ in await todos.all() }
        app.switchboard("realtime", to: switchboard)
        app.switchboardClientScript("switchboard.js")
        // What `execute()` would do first; the snippet's server is not started.
        try await app.asyncBoot()
        #expect(switchboard.address == nil && !switchboard.isDraining)
        try await app.asyncShutdown()
        #expect(switchboard.isDraining)
    }
}
