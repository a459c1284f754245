/// The page at `/`: the todo list, changed through the app's JSON API and
/// kept up to date by the events on topic "todos". Open it twice: what one
/// window (or curl) changes, the other shows at once.
///
/// Once the server has its subscription (the client's "subscribed", after
/// every reconnect too) it loads the list (`GET /todos`, whose `ETag` is
/// the list's version): every change after that comes as an event. It
/// applies each event newer than the list; events that come while the list
/// loads wait for it. An event that skips a version means one was missed,
/// and the list is loaded again.
let page = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Todos · Switchboard</title>
<style>
  body { font: 15px system-ui, sans-serif; color: #1d2330; max-width: 34rem; margin: 2rem auto; padding: 0 1rem; }
  header { display: flex; justify-content: space-between; align-items: baseline; }
  #state { font-size: .85rem; color: #888; }
  #state.open { color: #1a7f37; }
  form { display: flex; gap: .5rem; margin: 1rem 0; }
  input[type=text] { flex: 1; padding: .4rem .5rem; font: inherit; }
  ul { list-style: none; padding: 0; }
  li { display: flex; align-items: center; gap: .6rem; padding: .35rem 0; border-bottom: 1px solid #eef; }
  li.done span { text-decoration: line-through; color: #888; }
  li span { flex: 1; }
  li button { border: none; background: none; color: #c62828; cursor: pointer; }
  #empty { color: #888; }
</style>
</head>
<body>
<header><h1>Todos</h1><span id="state">connecting</span></header>
<form id="add"><input type="text" id="title" placeholder="Buy milk" maxlength="200" required><button>Add</button></form>
<ul id="list"></ul>
<p id="empty">Nothing to do.</p>
<script src="/switchboard.js"></script>
<script>
  let todos = new Map();   // id → {id, title, done}
  let version = -1;        // changes the shown list holds; -1 while it loads
  let waiting = [];        // events that came while the list was loading

  function render() {
    const list = document.getElementById("list");
    list.replaceChildren(...[...todos.values()].sort((a, b) => a.id - b.id).map((todo) => {
      const item = document.createElement("li");
      item.className = todo.done ? "done" : "";
      item.dataset.id = todo.id;
      const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: todo.done });
      box.onchange = () => send("PATCH", `/todos/${todo.id}`, { done: box.checked });
      const title = Object.assign(document.createElement("span"), { textContent: todo.title });
      const remove = Object.assign(document.createElement("button"), { textContent: "✕", title: "delete" });
      remove.onclick = () => send("DELETE", `/todos/${todo.id}`);
      item.append(box, title, remove);
      return item;
    }));
    document.getElementById("empty").hidden = todos.size > 0;
  }

  async function load() {
    version = -1;
    const response = await fetch("/todos");
    todos = new Map((await response.json()).map((todo) => [todo.id, todo]));
    version = Number(response.headers.get("ETag").replaceAll('"', ""));
    for (const event of waiting.splice(0)) apply(event);
    render();
  }

  function apply(event) {
    if (version < 0) return waiting.push(event);
    if (event.version <= version) return;             // the loaded list has it
    if (event.version > version + 1) return load();   // one was missed
    version = event.version;
    if (event.event === "deleted") todos.delete(event.todo.id);
    else todos.set(event.todo.id, event.todo);
    render();
  }

  // Changes go through the API only; the events bring them back to every window.
  function send(method, path, body) {
    return fetch(path, { method, body: body && JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  }
  document.getElementById("add").onsubmit = (event) => {
    event.preventDefault();
    const title = document.getElementById("title");
    send("POST", "/todos", { title: title.value });
    title.value = "";
  };

  const client = new Switchboard.Client("/realtime");
  const state = document.getElementById("state");
  client.on("state", (s) => { state.textContent = s; state.className = s; });
  client.on("subscribed", load);   // first, and after every reconnect
  client.subscribe("todos", apply);
</script>
</body>
</html>
"""#
