// Uses every part of the client's declared API the way a bundled front end
// would; `tsc --strict` must accept it and must refuse each line marked as
// an expected error (so the declarations are not looser than the API).
import Switchboard, { Client, type StreamPosition, type PublishAck, type SwitchboardError, type ClientState } from "../../../../Clients/javascript/index.js";

const client: Client = new Switchboard.Client("ws://127.0.0.1:8080/pubsub", { minBackoff: 100, maxBackoff: 5000, requestTimeout: 3000 });
const same: Client = new Client("/pubsub");
same.close();

const stop: () => void = client.subscribe<{ n: number; text: string }>("chat.lobby", (data, topic) => {
  const n: number = data.n;
  const where: string = topic;
  console.log(n, where, data.text.length);
});
stop();
client.subscribe("chat.lobby", () => {}, { since: { epoch: "0123456789abcdef", offset: 41 } });

const position: StreamPosition | undefined = client.position("chat.lobby");
if (position) console.log(position.epoch.length + position.offset);

client.publish("chat.lobby", { text: "hi", tags: ["a", null, 1, true] }).then(
  (ack: PublishAck) => console.log(ack.subscribers, ack.epoch ?? "", ack.offset ?? 0),
  (error: SwitchboardError) => console.log(error.code, error.reason, error.id),
);

const removers: Array<() => void> = [
  client.on("unrecovered", ({ topic, reason }) => console.log(topic.length, reason.length)),
  client.on("subscribed", (topic) => console.log(topic.toUpperCase())),
  client.on("state", (state: ClientState) => console.log(state === "reconnecting")),
  client.on("close", ({ code, reason }) => console.log(code + 1, reason)),
  client.on("error", ({ code, reason, topic }) => console.log(code, reason, topic)),
  client.on("open", () => console.log("open")),
];
for (const remove of removers) remove();
const state: ClientState = client.state;
console.log(state, client.url);

// @ts-expect-error an event the client does not have
client.on("message", () => {});
// @ts-expect-error data must be JSON
client.publish("t", () => 1);
// @ts-expect-error the handler's data is typed
client.subscribe<{ n: number }>("t", (data) => { const wrong: string = data.n; console.log(wrong); });
// @ts-expect-error state is read-only
client.state = "open";
// @ts-expect-error options are numbers
new Client("/pubsub", { minBackoff: "fast" });
// @ts-expect-error a position is an object
const wrongPosition: string = client.position("t");
// @ts-expect-error a position has an epoch and an offset
client.subscribe("t", () => {}, { since: { offset: 1 } });
