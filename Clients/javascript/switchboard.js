// Switchboard client: topics over one WebSocket, speaking the JSON protocol
// of Docs/client-protocol.md. Plain ES2020 with no dependencies: the same
// file is a classic <script> (the server hosts it) and the body of the ES
// module index.js (bundlers, Node); it sets globalThis.Switchboard.
(function () {
  "use strict";

  // How long a connection must stay open before the backoff starts again
  // from minBackoff: a server that accepts and then drops every connection
  // at once must not be hammered at the shortest delay.
  const STABLE_AFTER = 5000;

  class Client {
    constructor(url, options = {}) {
      this.url = resolveURL(url);
      this.options = { minBackoff: 250, maxBackoff: 10000, requestTimeout: 10000, ...options };
      this.state = "connecting";
      this._topics = new Map();    // topic -> Set of handlers
      this._positions = new Map(); // history topic -> { epoch, offset } of the last message handled
      this._recovering = new Set(); // topics whose missed messages are on their way
      this._pending = new Map();   // request id -> { resolve, reject, timer }
      this._listeners = new Map(); // event name -> Set of listeners
      this._nextId = 1;
      this._attempt = 0;           // failed connections since the last stable one
      this._socket = null;
      this._retryTimer = null;
      this._stableTimer = null;
      this._connect();
    }

    // Calls handler(data, topic) for every message on topic. Returns a
    // function that removes this handler (and leaves the topic when it was
    // the last one). On a history topic, options.since ({ epoch, offset },
    // as the server's history route answers) starts from that position:
    // the messages after it come first, so state loaded over HTTP goes on
    // with nothing missed and nothing twice.
    subscribe(topic, handler, options = {}) {
      let handlers = this._topics.get(topic);
      if (!handlers) {
        handlers = new Set();
        this._topics.set(topic, handlers);
        const since = options.since;
        if (since && typeof since.epoch === "string" && Number.isInteger(since.offset)) {
          this._positions.set(topic, { epoch: since.epoch, offset: since.offset });
        }
        this._sendSubscribe(topic);
      }
      // Wrap so the same function subscribed twice is two subscriptions.
      const entry = (data) => handler(data, topic);
      handlers.add(entry);
      return () => {
        if (!handlers.delete(entry) || handlers.size > 0) return;
        this._topics.delete(topic);
        this._positions.delete(topic);
        this._recovering.delete(topic);
        this._send({ type: "unsubscribe", topic });
      };
    }

    // Where a history topic's stream stands for this client ({ epoch,
    // offset } of the last message handed to the handlers), or undefined.
    position(topic) {
      const position = this._positions.get(topic);
      return position && { ...position };
    }

    // Publishes data (any JSON value). Resolves with { subscribers } (and
    // { epoch, offset } on a history topic) once
    // the server acknowledges; rejects when not connected, on a refusal,
    // on timeout, or when the connection drops first (the publish may or
    // may not have happened then, so it is not retried).
    publish(topic, data) {
      return this._request({ type: "publish", topic, data });
    }

    // Adds a listener for "open", "close", "error", "state", "subscribed" or
    // "unrecovered" ({ topic, reason }: messages of a history topic were
    // missed and cannot be given back, so reload what they change);
    // returns a function that removes it.
    on(event, listener) {
      if (!this._listeners.has(event)) this._listeners.set(event, new Set());
      this._listeners.get(event).add(listener);
      return () => this._listeners.get(event).delete(listener);
    }

    // Closes for good: no reconnect, pending requests are rejected.
    close() {
      if (this.state === "closed") return;
      clearTimeout(this._retryTimer);
      clearTimeout(this._stableTimer);
      this._setState("closed");
      this._rejectPending("closed", "client closed");
      if (this._socket) this._socket.close(1000);
    }

    _connect() {
      const socket = new WebSocket(this.url);
      socket.binaryType = "arraybuffer";
      this._socket = socket;
      // Events of a socket that has been replaced or closed by us are stale.
      const current = () => this._socket === socket && this.state !== "closed";
      socket.onopen = () => {
        if (!current()) return;
        this._stableTimer = setTimeout(() => { this._attempt = 0; }, STABLE_AFTER);
        this._setState("open");
        // Subscriptions end with the connection: make them again.
        for (const topic of this._topics.keys()) this._sendSubscribe(topic);
        this._emit("open");
      };
      socket.onmessage = (event) => { if (current()) this._receive(event.data); };
      // A failed connection also fires close (1006), which does the work.
      socket.onerror = () => {};
      socket.onclose = (event) => {
        if (this._socket !== socket) return;
        this._socket = null;
        clearTimeout(this._stableTimer);
        this._rejectPending("connection_closed", "connection closed before the reply");
        this._emit("close", { code: event.code, reason: event.reason });
        if (this.state === "closed") return;
        this._setState("reconnecting");
        this._retryTimer = setTimeout(() => this._connect(), this._backoff(this._attempt++));
      };
    }

    // Full jitter: a random delay up to a cap that doubles with each failure,
    // so clients dropped together by a restart do not all return together.
    _backoff(attempt) {
      const { minBackoff, maxBackoff } = this.options;
      const cap = Math.min(maxBackoff, minBackoff * 2 ** (attempt + 1));
      return minBackoff + Math.random() * (cap - minBackoff);
    }

    _sendSubscribe(topic) {
      if (this.state !== "open") return; // sent on open instead
      // On a history topic, ask for what was missed since the last message
      // handled; the ack says whether it comes (it follows the ack at once).
      const since = this._positions.get(topic);
      const request = since ? { type: "subscribe", topic, since } : { type: "subscribe", topic };
      if (since) this._recovering.add(topic);
      // "subscribed" once the server has the subscription (after every
      // (re)connect): from then on no message on the topic is missed, so
      // it is the moment to load the state that the messages change.
      this._request(request).then((ack) => {
        this._recovering.delete(topic);
        if (!this._topics.has(topic)) return;
        this._takePosition(topic, ack, since);
        this._emit("subscribed", topic);
      }).catch((error) => {
        this._recovering.delete(topic);
        // A drop is not an error here: the subscription is made again on reconnect.
        if (error.code !== "connection_closed" && error.code !== "closed") {
          this._emit("error", { code: error.code, reason: error.reason, id: error.id, topic });
        }
      });
    }

    // A subscribe's ack on a history topic: keep the position; if it asked
    // to recover and could not, say so (the app reloads its state).
    _takePosition(topic, ack, since) {
      if (typeof ack.epoch !== "string" || typeof ack.offset !== "number") {
        if (since) this._lose(topic, ack.reason || "no_history", undefined);
        return;
      }
      if (since && ack.recovered === true) return; // the missed messages follow, moving the position
      if (since) this._lose(topic, ack.reason || "unknown", { epoch: ack.epoch, offset: ack.offset });
      else this._positions.set(topic, { epoch: ack.epoch, offset: ack.offset });
    }

    _lose(topic, reason, position) {
      if (position) this._positions.set(topic, position);
      else this._positions.delete(topic);
      this._emit("unrecovered", { topic, reason });
    }

    _request(message) {
      return new Promise((resolve, reject) => {
        const id = this._nextId++;
        if (!this._send({ ...message, id })) {
          return reject(requestError("not_connected", "not connected", id));
        }
        const timer = setTimeout(() => {
          this._pending.delete(id);
          reject(requestError("timeout", "no reply within " + this.options.requestTimeout + " ms", id));
        }, this.options.requestTimeout);
        this._pending.set(id, { resolve, reject, timer });
      });
    }

    _send(message) {
      if (!this._socket || this._socket.readyState !== 1) return false; // 1: OPEN
      this._socket.send(JSON.stringify(message));
      return true;
    }

    _receive(text) {
      let frame = null;
      try { frame = typeof text === "string" ? JSON.parse(text) : null; } catch (_) { /* reported below */ }
      if (frame === null || typeof frame !== "object" || Array.isArray(frame)) {
        return this._emit("error", { code: "bad_frame", reason: "server sent a frame that is not a JSON object" });
      }
      switch (frame.type) {
        case "message":
          if (typeof frame.topic !== "string") break;
          if (typeof frame.offset === "number" && !this._inOrder(frame.topic, frame.offset)) return;
          for (const handler of this._topics.get(frame.topic) || []) {
            // One throwing handler must not keep the message from the others.
            try { handler(frame.data); } catch (error) { setTimeout(() => { throw error; }); }
          }
          return;
        case "ack":
        case "error":
          return this._settle(frame);
        case "reset":
          // The stream started again while subscribed (a new epoch).
          if (typeof frame.topic !== "string" || !this._topics.has(frame.topic)) return;
          if (typeof frame.epoch !== "string" || typeof frame.offset !== "number") break;
          return this._lose(frame.topic, "reset", { epoch: frame.epoch, offset: frame.offset });
        default:
          if (typeof frame.type === "string") return; // a newer server's type: ignored
      }
      this._emit("error", { code: "bad_frame", reason: "server sent a frame without a valid type or topic" });
    }

    // A history message is handled once and in order: one seen already is
    // dropped; one past a gap starts a recovery from the last one handled
    // (the server then sends the gap and what follows, in order). The
    // position moves before the handlers run.
    _inOrder(topic, offset) {
      const position = this._positions.get(topic);
      if (!position) return true;
      if (offset <= position.offset) return false;
      if (offset > position.offset + 1) {
        if (!this._recovering.has(topic)) this._sendSubscribe(topic);
        return false;
      }
      position.offset = offset;
      return true;
    }

    _settle(frame) {
      const request = this._pending.get(frame.id);
      if (!request) {
        // An error for a frame sent without id; a late ack after a timeout is dropped.
        if (frame.type === "error") this._emit("error", { code: frame.code, reason: frame.reason, id: frame.id });
        return;
      }
      this._pending.delete(frame.id);
      clearTimeout(request.timer);
      if (frame.type === "ack") request.resolve(ackValue(frame));
      else request.reject(requestError(frame.code, frame.reason, frame.id));
    }

    _rejectPending(code, reason) {
      const pending = this._pending;
      this._pending = new Map();
      for (const [id, request] of pending) {
        clearTimeout(request.timer);
        request.reject(requestError(code, reason, id));
      }
    }

    _setState(state) {
      if (this.state === state) return;
      this.state = state;
      this._emit("state", state);
    }

    _emit(event, value) {
      for (const listener of this._listeners.get(event) || []) {
        try { listener(value); } catch (error) { setTimeout(() => { throw error; }); }
      }
    }
  }

  // "/pubsub" is resolved against the page (http: -> ws:, https: -> wss:);
  // an absolute ws(s):// URL is used as given, without touching location.
  function resolveURL(url) {
    if (/^wss?:\/\//i.test(url)) return url;
    const resolved = new URL(url, globalThis.location ? globalThis.location.href : undefined);
    resolved.protocol = resolved.protocol === "https:" ? "wss:" : "ws:";
    return resolved.href;
  }

  // What an ack resolves with: its fields but type and id.
  function ackValue(frame) {
    const { type, id, ...value } = frame;
    return value;
  }

  function requestError(code, reason, id) {
    const error = new Error(code + ": " + reason);
    error.code = code;
    error.reason = reason;
    error.id = id;
    return error;
  }

  globalThis.Switchboard = { Client };
})();
