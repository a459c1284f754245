#!/usr/bin/env python3
"""Server memory per idle WebSocket connection, with and without
permessage-deflate, measured on a release BenchHost.

Usage: Benchmarks/deflate-memory.py [BENCHHOST] [CONNECTIONS]

For each mode a fresh BenchHost is started (LOOPS=1), CONNECTIONS raw
clients connect to /echo and stay, and the growth of the server's VmRSS is
divided by CONNECTIONS:
  plain               no extension offered
  deflate             offered; server default (no context takeover)
  deflate+message     the same, after one compressed message each way
  takeover+message    DEFLATE=takeover, after one compressed message each way
                      (each connection then owns its zlib streams)
"""
import base64
import os
import socket
import subprocess
import sys
import time
import zlib

HOST = "127.0.0.1"


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def masked_frame(payload: bytes, rsv1: bool) -> bytes:
    first = 0x81 | (0x40 if rsv1 else 0)
    length = len(payload)
    header = bytes([first, 0x80 | length]) if length < 126 else bytes([first, 0x80 | 126]) + length.to_bytes(2, "big")
    key = b"\x01\x02\x03\x04"
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def connect(port: int, offer: bool, message: bool) -> socket.socket:
    sock = socket.create_connection((HOST, port))
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if offer else ""
    sock.sendall((f"GET /echo HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    assert offer == (b"permessage-deflate" in head), head
    if message:
        text = ('{"symbol":"ACME","price":101.25,"seq":%d}' % 7) * 8
        compressor = zlib.compressobj(wbits=-15)
        body = compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        sock.sendall(masked_frame(body[:-4], rsv1=True))
        reply = b""
        while len(reply) < 2 or len(reply) < 2 + (reply[1] & 0x7F):
            reply += sock.recv(4096)
        assert reply[0] & 0x40, "the reply should be compressed"
    return sock


def measure(binary: str, count: int, mode: str) -> float:
    port = free_port()
    env = dict(os.environ, PORT=str(port), LOOPS="1")
    if mode.startswith("takeover"):
        env["DEFLATE"] = "takeover"
    server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        offer = mode != "plain"
        message = mode.endswith("+message")
        warm = [connect(port, offer, message) for _ in range(50)]
        time.sleep(0.3)
        before = rss(server.pid)
        held = [connect(port, offer, message) for _ in range(count)]
        time.sleep(1.0)
        after = rss(server.pid)
        for sock in warm + held:
            sock.close()
        return (after - before) / count
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/BenchHost"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    for mode in ["plain", "deflate", "deflate+message", "takeover+message"]:
        print(f"{mode:18s} {measure(binary, count, mode):10.0f} bytes per connection ({count} connections)")


if __name__ == "__main__":
    main()
