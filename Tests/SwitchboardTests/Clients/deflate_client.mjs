// Checks Node's built-in WebSocket against a compressing Switchboard echo
// route: the extension is agreed and compressed replies arrive intact.
// Usage: node deflate_client.mjs PORT. Run by CompressionTests.
const port = process.argv[2];
const fail = (message) => { console.error(message); process.exit(1); };
// Generous: under the sanitizers the whole suite shares two cores. The step
// reached tells a hang from a slow machine.
let step = "opening";
setTimeout(() => fail(`timed out while ${step}`), 30_000).unref();

const ws = new WebSocket(`ws://127.0.0.1:${port}/z`);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("could not open")); });
if (!ws.extensions.startsWith("permessage-deflate")) fail(`extensions: ${ws.extensions}`);
const next = () => new Promise((resolve) => { ws.onmessage = (event) => resolve(event.data); });
for (let seq = 0; seq < 50; seq++) {
  step = `echoing message ${seq}`;
  const event = JSON.stringify({ seq, symbol: "ACME", prices: Array(seq * 10).fill(seq) });
  ws.send(event);
  if ((await next()) !== event) fail(`echo ${seq}`);
}
const big = "lorem ipsum dolor ".repeat(50_000);
step = "echoing 900 kB";
ws.send(big);
if ((await next()) !== big) fail("large echo");
step = "closing";
ws.close(1000);
await new Promise((resolve) => { ws.onclose = resolve; });
console.log("node deflate: all checks passed");
