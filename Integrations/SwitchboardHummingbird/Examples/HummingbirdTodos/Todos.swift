import Hummingbird

/// One item of the list, as the API sends it:
/// {"done":false,"id":1,"title":"Buy milk"}
struct Todo: ResponseCodable, Equatable {
    var id: Int
    var title: String
    var done = false
}

/// A change to the list, as it is published:
/// {"event":"created","todo":{…},"version":4}. `version` counts the changes
/// (the list's `ETag` is the same count), so a page that loaded the list
/// knows which events it already holds.
struct TodoEvent: Encodable, Sendable {
    enum Kind: String, Encodable { case created, updated, deleted }
    var event: Kind
    var todo: Todo
    var version: Int
}

/// The app's state, in memory. An actor, as a Hummingbird app would keep
/// it; `didChange` runs inside it, so changes are reported in order.
actor TodoRepository {
    private var nextID = 1
    private var todos: [Todo] = []
    private var version = 0
    private let didChange: @Sendable (TodoEvent) -> Void

    init(didChange: @escaping @Sendable (TodoEvent) -> Void = { _ in }) {
        self.didChange = didChange
    }

    /// The list, and how many changes made it.
    var all: (todos: [Todo], version: Int) { (todos, version) }

    func create(title: String) -> Todo {
        let todo = Todo(id: nextID, title: title)
        nextID += 1
        todos.append(todo)
        changed(.created, todo)
        return todo
    }

    /// Renames and/or marks the todo; nil when there is no such id.
    func update(id: Int, title: String?, done: Bool?) -> Todo? {
        guard let index = todos.firstIndex(where: { $0.id == id }) else { return nil }
        if let title { todos[index].title = title }
        if let done { todos[index].done = done }
        changed(.updated, todos[index])
        return todos[index]
    }

    /// Removes the todo and returns it; nil when there is no such id.
    func delete(id: Int) -> Todo? {
        guard let index = todos.firstIndex(where: { $0.id == id }) else { return nil }
        let todo = todos.remove(at: index)
        changed(.deleted, todo)
        return todo
    }

    private func changed(_ kind: TodoEvent.Kind, _ todo: Todo) {
        version += 1
        didChange(TodoEvent(event: kind, todo: todo, version: version))
    }
}
