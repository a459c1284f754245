#!/usr/bin/env python3
"""A fixed, repeatable load for instruction counts (Benchmarks/instructions.sh).

Usage: instructions-load.py echo PORT COUNT      COUNT 64-byte binary messages
                                                  echoed over 20 connections, in
                                                  bursts of 20 per write
       instructions-load.py connect PORT COUNT   COUNT upgrades of /echo, one
                                                  after another, each ended with
                                                  a close frame

Plain sockets, one thread, no library: the same bytes reach the server in
the same writes on every run, so two runs of one server binary count the
same instructions, and COUNT 0 measures what is not per message.
"""
import base64
import os
import socket
import sys


def upgrade(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("connection closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"not upgraded: {head[:80]!r}")
    return s, head.split(b"\r\n\r\n", 1)[1]


def frame(opcode, payload):
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def close(s):
    s.sendall(frame(8, b"\x03\xe8"))
    s.recv(100)
    s.close()


def main(mode, port, count):
    if mode == "echo":
        burst = frame(2, b"x" * 64) * 20
        reply = 2 + 64
        connections = [upgrade(port) for _ in range(20)]
        for s, buffered in connections:
            for _ in range(count // 20 // 20):
                s.sendall(burst)
                while len(buffered) < 20 * reply:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise SystemExit("connection closed during the echo")
                    buffered += chunk
                buffered = buffered[20 * reply:]
        for s, _ in connections:
            close(s)
    elif mode == "connect":
        for _ in range(count):
            s, _ = upgrade(port)
            close(s)
    else:
        raise SystemExit(__doc__)


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
