// Types of the Switchboard client (switchboard.js), checked by `tsc` in
// Switchboard's tests against a program that uses every part of them.

/** Where a history topic's stream stands: its epoch and the offset of the last message. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

export interface SubscribeOptions {
  /** Start after this position instead of now (a history topic). */
  since?: StreamPosition;
}

export interface ClientOptions {
  /** Shortest wait before a reconnect, ms. Default 250. */
  minBackoff?: number;
  /** Longest wait before a reconnect, ms. Default 10000. */
  maxBackoff?: number;
  /** How long a publish or subscribe waits for the server's reply, ms. Default 10000. */
  requestTimeout?: number;
}

export type ClientState = "connecting" | "open" | "reconnecting" | "closed";

/** JSON as the server relays it. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/** The server's error codes, and the client's own. */
export type ErrorCode =
  | "bad_request" | "invalid_topic" | "forbidden" | "too_many_subscriptions" | "rate_limited"
  | "not_connected" | "connection_closed" | "timeout" | "closed" | "bad_frame";

/** A refused or failed request (publish rejects with it). */
export interface SwitchboardError extends Error {
  code: ErrorCode | string;
  reason: string;
  id?: number | string;
}

/** What a publish resolves with once the server acknowledged it. */
export interface PublishAck {
  /** Subscribers the message reached on the server it was published to. */
  subscribers: number;
  /** On a history topic: the message's place in the stream. */
  epoch?: string;
  offset?: number;
}

/** Why missed messages could not be given back. */
export type UnrecoveredReason = "epoch" | "expired" | "too_far" | "no_history" | "reset" | "unknown";

export interface ClientEvents {
  open: undefined;
  close: { code: number; reason: string };
  error: { code: ErrorCode | string; reason: string; id?: number | string; topic?: string };
  state: ClientState;
  /** The server has the subscription (after every reconnect too). */
  subscribed: string;
  /** Messages of a history topic were missed for good: reload what they change. */
  unrecovered: { topic: string; reason: UnrecoveredReason | string };
}

export class Client {
  constructor(url: string, options?: ClientOptions);
  readonly url: string;
  readonly state: ClientState;
  /**
   * Calls `handler` for each message on `topic`; returns a function that removes it.
   * On a history topic, `options.since` starts after that position (as the server's
   * history route answers it): load state over HTTP, then miss nothing.
   */
  subscribe<Data extends JSONValue = JSONValue>(
    topic: string, handler: (data: Data, topic: string) => void, options?: SubscribeOptions,
  ): () => void;
  /** Publishes `data`; rejects with a SwitchboardError. */
  publish(topic: string, data: JSONValue): Promise<PublishAck>;
  /** The position of the last message handled on a history topic. */
  position(topic: string): StreamPosition | undefined;
  on<Event extends keyof ClientEvents>(event: Event, listener: (value: ClientEvents[Event]) => void): () => void;
  /** Closes for good: no reconnect; pending requests reject with "closed". */
  close(): void;
}

declare const Switchboard: { Client: typeof Client };
export default Switchboard;
