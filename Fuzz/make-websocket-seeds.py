#!/usr/bin/env python3
"""Writes the websocket-session seeds: one options byte (see
WebSocketSessionOptions.swift), then masked client frames.

Run from the repository root: python3 Fuzz/make-websocket-seeds.py
The seeds are committed; rerun only after changing this list.
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(__file__), "Corpus", "websocket-session")

COMPRESSION, LIMIT_125, LIMIT_1000, LIMIT_70000 = 0x01, 0x02, 0x04, 0x06
CONTEXT, CLOSE_AFTER_1, CLOSE_AFTER_2, LONG_REASON, SMALL_WINDOW = 0x08, 0x10, 0x20, 0x40, 0x80
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(opcode, payload=b"", fin=True, rsv1=False, masked=True, length=None):
    """A client frame (RFC 6455 section 5.2); `length` overrides the announced size."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    size = len(payload) if length is None else length
    mask = 0x80 if masked else 0
    if size <= 125:
        header = bytes([first, mask | size])
    elif size <= 0xFFFF:
        header = bytes([first, mask | 126]) + struct.pack(">H", size)
    else:
        header = bytes([first, mask | 127]) + struct.pack(">Q", size)
    if not masked:
        return header + payload
    return header + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


def deflate(messages, context):
    """Each message deflated as permessage-deflate sends it (RFC 7692 section 7.2.1)."""
    out, stream = [], zlib.compressobj(6, zlib.DEFLATED, -15)
    for message in messages:
        if not context:
            stream = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = stream.compress(message) + stream.flush(zlib.Z_SYNC_FLUSH)
        out.append(data[:-4])
    return out


def close(code, reason=b""):
    return frame(0x8, struct.pack(">H", code) + reason)


TEXT, BINARY, CONT, PING, PONG = 0x1, 0x2, 0x0, 0x9, 0xA
hello_twice = deflate([b"Hello", b"Hello"], context=True)
SEEDS = {
    "text-hello": bytes([0]) + frame(TEXT, b"Hello"),
    "binary-fragmented": bytes([0]) + frame(BINARY, b"\x00\x01", fin=False) + frame(CONT, b"\x02\x03"),
    "ping-pong-close": bytes([0]) + frame(PING, b"are you there") + frame(PONG, b"unsolicited") + close(1000, b"bye"),
    "ping-inside-fragments": bytes([0]) + frame(TEXT, "caf".encode(), fin=False) + frame(PING) + frame(CONT, "é!".encode()),
    "utf8-split-across-frames": bytes([0]) + frame(TEXT, "€".encode()[:1], fin=False) + frame(CONT, "€".encode()[1:]),
    "medium-length": bytes([LIMIT_70000]) + frame(BINARY, bytes(range(200))),
    "empty-close": bytes([0]) + frame(0x8),
    "close-invalid-code": bytes([0]) + close(1005),
    "close-invalid-reason": bytes([0]) + close(1001, b"\xff"),
    "invalid-utf8": bytes([0]) + frame(TEXT, b"ok\xc3\x28"),
    "unmasked": bytes([0]) + frame(TEXT, b"hi", masked=False),
    "reserved-bits": bytes([0]) + frame(TEXT, b"hi", rsv1=True),
    "unknown-opcode": bytes([0]) + frame(0x3, b"?"),
    "continuation-first": bytes([0]) + frame(CONT, b"orphan"),
    "fragmented-ping": bytes([0]) + frame(PING, b"x", fin=False),
    "long-ping": bytes([0]) + frame(PING, bytes(126)),
    "too-big": bytes([LIMIT_125]) + frame(BINARY, bytes(100), fin=False) + frame(CONT, bytes(100)),
    "huge-length": bytes([0]) + frame(BINARY, b"", length=1 << 63),
    "app-closes-then-ping": bytes([CLOSE_AFTER_1 | LONG_REASON]) + frame(TEXT, b"first") + frame(PING, b"late") + close(1000),
    "app-closes-after-two": bytes([CLOSE_AFTER_2]) + frame(TEXT, b"a") + frame(BINARY, b"b") + frame(TEXT, b"c"),
    "compressed-hello": bytes([COMPRESSION]) + frame(TEXT, deflate([b"Hello"], False)[0], rsv1=True),
    "compressed-context": bytes([COMPRESSION | CONTEXT])
    + frame(TEXT, hello_twice[0], rsv1=True)
    + frame(TEXT, hello_twice[1], rsv1=True),
    "compressed-fragmented": bytes([COMPRESSION | SMALL_WINDOW])
    + frame(BINARY, deflate([b"abcabcabc" * 8], False)[0][:5], rsv1=True, fin=False)
    + frame(CONT, deflate([b"abcabcabc" * 8], False)[0][5:]),
    "compressed-bomb": bytes([COMPRESSION | LIMIT_1000]) + frame(BINARY, deflate([bytes(100_000)], False)[0], rsv1=True),
    "compressed-corrupt": bytes([COMPRESSION]) + frame(TEXT, b"\xff\xff\xff\xff", rsv1=True) + frame(TEXT, b"after"),
    "compressed-continuation": bytes([COMPRESSION]) + frame(TEXT, b"a", fin=False) + frame(CONT, b"b", rsv1=True),
    "compressed-control": bytes([COMPRESSION]) + frame(PING, b"", rsv1=True),
    # Found by fuzzing: an empty message right after another, with context
    # takeover, compressed to no bytes at all.
    "regression-empty-message-with-context": bytes([CONTEXT]) + frame(BINARY, b"ab") + frame(BINARY) + frame(BINARY, b"ab"),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(SEEDS)} seeds in {OUT}")
