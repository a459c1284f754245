/// The whole client: one page, no assets, a plain `WebSocket`. Everything
/// the server relays is put in the page as text (`textContent`, `append`
/// of strings), never as HTML.
let chatPage = #"""
<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard chat</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  form { display: flex; gap: .5rem; align-items: end; }
  label { display: flex; flex-direction: column; font-size: .875rem; }
  #send label { flex: 1; }
  #log { list-style: none; margin: 1rem 0; padding: .5rem; min-height: 12rem; max-height: 60vh; overflow-y: auto; border: 1px solid #bbb; }
  .notice { color: #555; font-style: italic; }
  .error { color: #b00020; }
  [hidden] { display: none; }
</style>
<h1>Chat</h1>
<form id="join">
  <label>Name <input name="name" required maxlength="32" autocomplete="nickname"></label>
  <label>Room <input name="room" required maxlength="32" pattern="[A-Za-z0-9_\-]+" value="lobby"
                     title="letters, digits, _ and -"></label>
  <button>Join</button>
</form>
<h2 id="title" hidden></h2>
<ol id="log" aria-live="polite" aria-label="Messages"></ol>
<form id="send" hidden>
  <label>Message <input name="text" required maxlength="500" autocomplete="off"></label>
  <button>Send</button>
  <button type="button" id="leave">Leave</button>
</form>
<p id="status" role="status"></p>
<script>
  const $ = (id) => document.getElementById(id);
  let socket;

  // Adds a line to the log; strings are shown as text.
  function show(className, ...parts) {
    const line = document.createElement("li");
    line.className = className;
    line.append(...parts);
    $("log").append(line);
    line.scrollIntoView({ block: "nearest" });
  }

  function setJoined(joined, room) {
    $("join").hidden = joined;
    $("send").hidden = !joined;
    $("title").hidden = !joined;
    $("title").textContent = `Room ${room}`;
  }

  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    const { name, room } = Object.fromEntries(new FormData(event.target));
    let opened = false;
    $("status").textContent = "Joining…";
    socket = new WebSocket("/ws?" + new URLSearchParams({ name, room }));
    socket.onopen = () => {
      opened = true;
      $("log").replaceChildren();
      setJoined(true, room);
      $("status").textContent = `You are ${name} in ${room}.`;
      $("send").elements.text.focus();
    };
    socket.onmessage = ({ data }) => {
      const event = JSON.parse(data);
      if (event.type === "message") {
        const author = document.createElement("b");
        author.textContent = event.name;
        show("message", author, ": ", event.text);
      } else if (event.type === "join") {
        show("notice", `${event.name} joined`);
      } else if (event.type === "leave") {
        show("notice", `${event.name} left`);
      } else if (event.type === "error") {
        show("error", event.text);
      }
    };
    socket.onclose = () => {
      setJoined(false, room);
      $("status").textContent = opened ? "You left the room." : "Could not join: check the name and the room.";
    };
  });

  $("send").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = event.target.elements.text;
    socket.send(input.value);
    input.value = "";
  });

  $("leave").addEventListener("click", () => socket.close());
</script>
"""#
