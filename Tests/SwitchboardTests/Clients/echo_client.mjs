// Drives a Switchboard echo route with Node's built-in WebSocket
// (node 20: --experimental-websocket). Usage: node echo_client.mjs PORT.
// Exits 0 when every check passed. Run by WebSocketClientTests.
const port = process.argv[2];
const fail = (message) => { console.error(message); process.exit(1); };
// Generous: under the sanitizers the whole suite shares two cores. The step
// reached tells a hang from a slow machine.
let step = "opening";
setTimeout(() => fail(`timed out while ${step}`), 30_000).unref();

function open(path, protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`could not open ${path}`));
  });
}

function next(ws) {
  return new Promise((resolve) => { ws.onmessage = (event) => resolve(event.data); });
}

const ws = await open("/ws?user=node", ["v1.chat"]);
if (ws.protocol !== "v1.chat") fail(`protocol ${ws.protocol}`);
step = "echoing text";
ws.send("grüße");
if ((await next(ws)) !== "grüße") fail("text echo");
step = "echoing binary";
ws.send(new Uint8Array([1, 2, 3, 255]));
const binary = new Uint8Array(await next(ws));
if (binary.join() !== "1,2,3,255") fail(`binary echo ${binary.join()}`);
const big = "y".repeat(300_000);
step = "echoing 300 kB";
ws.send(big);
if ((await next(ws)) !== big) fail("large echo");
const closed = new Promise((resolve) => { ws.onclose = (event) => resolve(event); });
step = "waiting for the server's close";
ws.send("close-me");
const event = await closed;
if (event.code !== 4000 || event.reason !== "asked") fail(`close ${event.code} ${event.reason}`);

step = "opening with a bad token";
const refused = await open("/ws?token=nope").then(() => false, () => true);
if (!refused) fail("bad token was not refused");
console.log("node WebSocket: all checks passed");
