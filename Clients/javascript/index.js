// The client as an ES module, for bundlers (Vite, webpack, esbuild) and
// Node: `import { Client } from "switchboard-client"`. switchboard.js is
// the one source; it also serves as the classic script the server hosts.
import "./switchboard.js";

export const Client = globalThis.Switchboard.Client;
export default globalThis.Switchboard;
