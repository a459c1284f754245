import Synchronization

/// One item of the todo list, as the API sends it:
/// {"done":false,"id":1,"title":"Buy milk"}
struct Todo: Codable, Sendable, Equatable {
    var id: Int
    var title: String
    var done = false
}

/// A change to the list, as it is published:
/// {"event":"created","todo":{…},"version":4}. `version` counts the changes
/// (the list's `ETag` is the same count), so a page that loaded the list
/// knows which events it already holds and when it missed one.
struct TodoEvent: Encodable, Sendable {
    enum Kind: String, Encodable { case created, updated, deleted }
    var event: Kind
    var todo: Todo
    var version: Int
}

/// The app's state: all in memory, guarded by one lock, so any of the
/// server's loop threads may call it.
final class TodoStore: Sendable {
    private struct State {
        var nextID = 1
        var todos: [Todo] = []
        /// Changes made so far.
        var version = 0

        mutating func changed(_ kind: TodoEvent.Kind, _ todo: Todo) -> TodoEvent {
            version += 1
            return TodoEvent(event: kind, todo: todo, version: version)
        }
    }
    private let state = Mutex(State())
    /// Called after every change, still under the lock, so changes are
    /// reported in the order they were made.
    private let didChange: @Sendable (TodoEvent) -> Void

    init(didChange: @escaping @Sendable (TodoEvent) -> Void = { _ in }) {
        self.didChange = didChange
    }

    /// The list, and how many changes made it.
    var all: (todos: [Todo], version: Int) { state.withLock { ($0.todos, $0.version) } }

    func create(title: String) -> Todo {
        state.withLock { state in
            let todo = Todo(id: state.nextID, title: title)
            state.nextID += 1
            state.todos.append(todo)
            didChange(state.changed(.created, todo))
            return todo
        }
    }

    /// Renames and/or marks the todo; nil when there is no such id.
    func update(id: Int, title: String?, done: Bool?) -> Todo? {
        state.withLock { state in
            guard let index = state.todos.firstIndex(where: { $0.id == id }) else { return nil }
            if let title { state.todos[index].title = title }
            if let done { state.todos[index].done = done }
            didChange(state.changed(.updated, state.todos[index]))
            return state.todos[index]
        }
    }

    /// Removes the todo and returns it; nil when there is no such id.
    func delete(id: Int) -> Todo? {
        state.withLock { state in
            guard let index = state.todos.firstIndex(where: { $0.id == id }) else { return nil }
            let todo = state.todos.remove(at: index)
            didChange(state.changed(.deleted, todo))
            return todo
        }
    }
}
