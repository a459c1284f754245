#!/usr/bin/env python3
"""Writes the connection-io seeds: programs of socket operations (see
ConnectionIOTarget.swift). Each operation is one byte, the client slot in
its high nibble and the operation in its low one, followed by the bytes the
operation reads.

Run from the repository root: python3 Fuzz/make-connection-io-seeds.py
The seeds are committed; rerun only after changing this list.
"""
import os

OUT = os.path.join(os.path.dirname(__file__), "Corpus", "connection-io")

CONNECT, HANDSHAKE, FRAME, CUT_FRAME, RAW, HTTP = 0, 2, 3, 5, 6, 7
HALF_CLOSE, RESET, CLOSE, DRAIN, WAIT, PUBLISH, SLOW_READER, BURST = 8, 9, 10, 11, 12, 13, 14, 15
ECHO, TOPIC_A, TOPIC_B, DEFLATE, PUBSUB, MISSING = range(6)
TEXT, BINARY, CONTINUATION, CLOSE_FRAME, PING, PONG = range(6)
NOT_FIN, RSV1, UNMASKED, LONG, ACCENTS = 0x08, 0x10, 0x20, 0x40, 0x80


def op(code, slot=0, *arguments):
    return bytes([(slot << 4) | code, *arguments])


def handshake(slot, path, deflate=False):
    return op(CONNECT, slot) + op(HANDSHAKE, slot, path, 1 if deflate else 0)


def frame(slot, kind, payload=b"", flags=0, long_blocks=0):
    body = op(FRAME, slot, kind | flags, len(payload)) + payload
    return body + (bytes([long_blocks]) if flags & LONG else b"")


SEEDS = {
    "echo-then-close": handshake(0, ECHO) + frame(0, TEXT, b"hello") + op(DRAIN) + frame(0, CLOSE_FRAME, b"\x03\xe8")
    + op(WAIT, 0, 8) + op(DRAIN),
    "close-then-reset": handshake(0, ECHO) + frame(0, TEXT, b"hi") + frame(0, CLOSE_FRAME, b"\x03\xe8") + op(RESET),
    "protocol-error-then-reset": handshake(0, TOPIC_A) + frame(0, TEXT, b"x", UNMASKED) + op(RESET),
    "bad-utf8-then-reset": handshake(0, ECHO) + frame(0, TEXT, b"\xc3\x28") + op(WAIT, 0, 2) + op(RESET),
    "topic-fan-out": handshake(0, TOPIC_A) + handshake(1, TOPIC_A) + frame(1, BINARY, b"to everyone")
    + op(PUBLISH, 0, 4, 0) + op(DRAIN) + op(DRAIN, 1) + op(RESET, 1) + op(HALF_CLOSE),
    "slow-reader-flood": handshake(0, TOPIC_B) + op(SLOW_READER) + handshake(1, TOPIC_B)
    + frame(1, BINARY, b"", LONG, 100) * 4 + op(WAIT, 0, 15) + op(CLOSE),
    "fragments-with-ping": handshake(0, ECHO) + frame(0, TEXT, b"one ", NOT_FIN) + frame(0, PING, b"p")
    + frame(0, CONTINUATION, b"two") + op(DRAIN) + op(HALF_CLOSE) + op(WAIT, 0, 4) + op(DRAIN),
    "deflate-echo": handshake(0, DEFLATE, deflate=True) + frame(0, TEXT, b"plain") + frame(0, TEXT, b"\x00", RSV1)
    + op(DRAIN),
    "pubsub-protocol": handshake(0, PUBSUB) + frame(0, TEXT, b'{"type":"subscribe","topic":"a","id":1}')
    + frame(0, TEXT, b'{"type":"publish","topic":"a","data":1}') + op(DRAIN) + op(CLOSE),
    "http-keep-alive-then-upgrade": op(CONNECT) + op(HTTP, 0, 0) + op(HTTP, 0, 1) + op(DRAIN) + op(HANDSHAKE, 0, ECHO, 0)
    + frame(0, TEXT, b"after requests") + op(DRAIN),
    "bad-request-and-chunks": op(CONNECT) + op(HTTP, 0, 2) + op(HTTP, 0, 4) + op(DRAIN) + op(CONNECT, 1) + op(HTTP, 1, 3),
    "cut-frame-then-fin": handshake(0, ECHO) + op(CUT_FRAME, 0, BINARY, 40) + bytes(40) + bytes([9]) + op(HALF_CLOSE),
    "close-from-another-thread": handshake(0, ECHO) + frame(0, TEXT, b"later") + op(WAIT, 0, 8) + op(DRAIN),
    "close-from-the-handler": handshake(0, ECHO) + frame(0, TEXT, b"close") + frame(0, TEXT, b"more") + op(DRAIN),
    "burst-then-reset": handshake(0, ECHO) + op(BURST, 0, 31) + op(BURST, 0, 31) + op(RESET),
    "missing-route": handshake(0, MISSING) + op(DRAIN) + op(RAW, 0, 4) + b"\x81\x80ab",
}

os.makedirs(OUT, exist_ok=True)
for name, program in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as file:
        file.write(program)
print(f"{len(SEEDS)} seeds in {OUT}")
