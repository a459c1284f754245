// For pages that load switchboard.js with a classic <script>: the global it sets.
import type { Client } from "./index";

declare global {
  var Switchboard: { Client: typeof Client };
}

export {};
