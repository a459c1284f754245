"""A seeded chaos client for Switchboard's WebSocket routes (BenchHost's).

Opens --connections raw TCP connections, at most --concurrency at a time,
each following a script derived from (seed, index) alone (and --topics):
how it opens
(upgrade, partial request then RST or FIN, garbage, plain HTTP first...),
what it sends (valid frames split at random byte boundaries, fragments
with pings between them, floods it never reads, invalid frames...) and how
it ends (close frame and wait, close frame then RST, close with unread
data, half-close, RST mid-frame...). Beside them, well-behaved clients
(the `websockets` library) subscribe, publish numbered messages and echo,
and check that nothing of theirs is lost, reordered or corrupted.

    chaos_client.py --port 9000 --seed 42 --connections 2000
    chaos_client.py --port 9000 --seed 42 --only 1234 --verbose   # replay one

Against a separate BenchHost, for soaks (BenchHost's limits are larger:
16 MiB messages, 64 MiB queued, so floods never reach 1008 there):

    swift build -c release --product BenchHost
    PORT=9000 .build/release/BenchHost &
    python3 Tests/SwitchboardTests/Clients/chaos_client.py --port 9000 \
        --connections 1000000000 --duration 1800 --time-limit 1900 > summary.json

ChaosTests runs it against an in-process server (CHAOS_SEED, CHAOS_LONG,
CHAOS_SECONDS, CHAOS_CONNECTIONS, CHAOS_CONCURRENCY).

Routes expected: GET /health ("ok"), /echo (echoes each message, opcode
kept), /topic/NAME (subscribes to NAME; what the connection sends is
published to NAME, sender included), POST /publish/NAME (publishes the body
as one binary message). Prints the seed on stderr first, and a JSON summary
on stdout at the end. Exit status: 0 when the well-behaved clients got
everything and no chaos connection saw the server break a rule it must
keep (an "anomaly"), 1 otherwise, 2 when the server could not be reached.

Bounded: each chaos connection has --connection-budget seconds, and the
whole run stops at --time-limit seconds (or earlier when the server stops
accepting connections, or when the parent process is gone with
--exit-with-parent).
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import socket
import struct
import sys
import time
import traceback
from collections import Counter

import websockets
from websockets.asyncio.client import connect as ws_connect

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

# Opcodes (RFC 6455 §5.2).
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# Close codes a peer may send (RFC 6455 §7.4; the server's isSendable), and
# some it may not.
VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]

# Characters for valid text: ASCII and 2-, 3- and 4-byte UTF-8.
TEXT_ALPHABET = list("abcdefghijklmnopqrstuvwxyz0123456789 ,.-") + ["é", "ß", "✓", "€", "中", "😀", "𝄞"]

# Invalid frames: (name, close code the server must answer with).
PROTOCOL_ERRORS = [
    ("unmasked", 1002),
    ("bad_utf8", 1007),
    ("bad_utf8_fragmented", 1007),
    ("bad_utf8_truncated", 1007),
    ("reserved_opcode", 1002),
    ("rsv_bits", 1002),
    ("control_too_long", 1002),
    ("fragmented_control", 1002),
    ("unexpected_continuation", 1002),
    ("interrupted_message", 1002),
    ("bad_close_code", 1002),
    ("close_payload_1_byte", 1002),
    ("bad_close_reason", 1007),
    ("length_top_bit", 1002),
    ("too_big", 1009),
]

# Requests that must be refused: (name, bytes, status class or exact status).
def garbage_requests(rng):
    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    long_header = "X-Filler: " + "a" * (17 * 1024)
    return [
        ("random_bytes", junk.replace(b"\r\n\r\n", b"") + b"\r\n\r\n", 400),
        ("bad_request_line", b"GARBAGE\r\n\r\n", 400),
        ("bad_version", b"GET / HTTP/9.9\r\nHost: t\r\n\r\n", None),  # 400 or 505
        ("bad_content_length", b"POST /publish/x HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400),
        ("smuggling", b"POST /publish/x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("header_too_large", f"GET /health HTTP/1.1\r\nHost: t\r\n{long_header}\r\n\r\n".encode(), 431),
        ("http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", None),
        ("bad_ws_version", b"GET /echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 426),
        ("missing_ws_key", b"GET /echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           b"Sec-WebSocket-Version: 13\r\n\r\n", 400),
    ]


def weighted(rng, table):
    """Picks a key of `table` ({name: weight})."""
    names = list(table)
    return rng.choices(names, weights=[table[name] for name in names])[0]


def message_size(rng, largest=64 * 1024):
    """Mostly small, sometimes up to `largest`; 0 included."""
    kind = rng.random()
    if kind < 0.15:
        return 0
    if kind < 0.7:
        return rng.randrange(1, 126)
    if kind < 0.9:
        return rng.randrange(126, 65536 if largest >= 65536 else largest + 1)
    return rng.randrange(1, largest + 1)


def split_points(rng, length, most=6):
    """Random byte offsets to cut a write of `length` bytes at."""
    if length < 2 or most < 1 or rng.random() < 0.5:
        return []
    return sorted(set(rng.randrange(1, length) for _ in range(rng.randrange(1, most + 1))))


# MARK: Scripts


def plan_connection(seed, index, topics):
    """The script of chaos connection `index`: a pure function of (seed, index)."""
    rng = random.Random(f"{seed}:{index}")
    plan = {
        "index": index,
        "path": "/echo" if rng.random() < 0.55 else f"/topic/{rng.choice(topics)}",
        "rcvbuf": rng.choice([2048, 4096, 8192]) if rng.random() < 0.15 else None,
        "payload_seed": rng.getrandbits(64),
    }
    opening = weighted(rng, {
        "upgrade": 50, "upgrade_split": 12, "upgrade_with_first_frame": 8, "http_then_upgrade": 8,
        "partial_request_rst": 4, "partial_request_fin": 4, "garbage": 5, "rst_after_connect": 3,
        "http_only": 4, "upgrade_then_rst": 2,
    })
    plan["opening"] = opening
    if opening == "garbage":
        plan["garbage"] = rng.randrange(len(garbage_requests(random.Random(0))))
        plan["garbage_end"] = rng.choice(["read", "rst", "fin"])
    if opening in ("partial_request_rst", "partial_request_fin"):
        plan["cut"] = rng.random()
    if opening == "http_only":
        plan["requests"] = [rng.choice(["health", "publish", "head", "missing", "options"]) for _ in range(rng.randrange(1, 5))]
        plan["pipelined"] = rng.random() < 0.4
        plan["http_end"] = rng.choice(["read", "rst", "fin", "rst_unread"])
    if opening == "upgrade_split":
        plan["handshake_cuts"] = rng.randrange(1, 6)
    steps = []
    if opening in ("upgrade", "upgrade_split", "upgrade_with_first_frame", "http_then_upgrade"):
        for _ in range(rng.randrange(0, 7)):
            step = weighted(rng, {"message": 50, "fragmented": 15, "ping": 10, "flood": 6, "slow_read": 6, "pause": 5, "pong": 3})
            entry = {"kind": step}
            if step in ("message", "fragmented"):
                entry["opcode"] = rng.choice([TEXT, BINARY])
                entry["size"] = message_size(rng)
                entry["fragments"] = rng.randrange(2, 6) if step == "fragmented" else 1
                entry["pings"] = step == "fragmented" and rng.random() < 0.6
                entry["cuts"] = rng.randrange(0, 6)
                entry["read_back"] = rng.random() < 0.7
            elif step == "flood":
                entry["count"] = rng.randrange(10, 120)
                entry["size"] = rng.choice([16, 512, 4096, 16384, 65536])
            elif step == "slow_read":
                entry["chunk"] = rng.choice([1, 7, 64, 512])
                entry["reads"] = rng.randrange(5, 60)
            elif step == "pause":
                entry["ms"] = rng.randrange(0, 60)
            steps.append(entry)
        plan["ending"] = weighted(rng, {
            "close_wait": 20, "close_then_rst": 14, "close_then_fin": 6, "close_read_reply_then_rst": 5,
            "close_unread": 8, "close_then_more_frames": 3, "protocol_error": 18, "half_close": 6,
            "partial_frame_rst": 5, "partial_frame_fin": 4, "rst": 6, "fin": 3, "flood_then_rst": 4,
        })
        if plan["ending"] == "protocol_error":
            plan["error"] = rng.randrange(len(PROTOCOL_ERRORS))
            plan["after_error"] = rng.choice(["wait", "wait", "rst", "fin", "read_reply_then_rst", "unread_then_close"])
        if plan["ending"] in ("close_wait", "close_then_rst", "close_then_fin", "close_read_reply_then_rst",
                              "close_unread", "close_then_more_frames"):
            plan["close_code"] = rng.choice([None] + VALID_CLOSE_CODES)
            plan["close_reason"] = "".join(rng.choices(TEXT_ALPHABET, k=rng.randrange(0, 30)))
        if plan["ending"] in ("partial_frame_rst", "partial_frame_fin"):
            plan["partial_size"] = message_size(rng)
            plan["partial_cut"] = rng.random()
        if plan["ending"] == "half_close":
            plan["half_close_mid_frame"] = rng.random() < 0.5
        if plan["ending"] == "close_unread":
            plan["unread_messages"] = rng.randrange(1, 20)
        if plan["ending"] == "flood_then_rst":
            plan["flood_count"] = rng.randrange(10, 80)
    plan["steps"] = steps
    return plan


class Payloads:
    """Deterministic payload bytes for one connection."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def binary(self, size):
        return self.rng.randbytes(size)

    def text(self, size):
        """Valid UTF-8 of about `size` bytes (exactly, when it ends on ASCII)."""
        if size == 0:
            return b""
        chars = "".join(self.rng.choices(TEXT_ALPHABET, k=max(1, size // 2))).encode()
        while len(chars) < size:
            chars += "".join(self.rng.choices(TEXT_ALPHABET, k=size)).encode()
        chars = chars[:size]
        return chars.decode("utf-8", errors="ignore").encode()  # cut at a character boundary

    def payload(self, opcode, size):
        return self.text(size) if opcode == TEXT else self.binary(size)

    def key(self):
        return self.rng.randbytes(4)


# MARK: Frames


def mask_bytes(payload, key):
    if not payload:
        return b""
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode_frame(opcode, payload, key, fin=True, rsv=0, masked=True, declared_length=None):
    """A client frame (RFC 6455 §5.2); `declared_length` lies about the size."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload) if declared_length is None else declared_length
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if masked:
        return head + key + mask_bytes(payload, key)
    return head + payload


def close_payload(code, reason=b""):
    return b"" if code is None else struct.pack("!H", code) + reason


def upgrade_request(path, key):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


class Anomaly(Exception):
    """The server broke a rule it must keep."""


class ServerGone(Exception):
    """Connection refused: the server is not listening any more."""


class PeerClosed(Exception):
    """The server closed (EOF or RST) before what we waited for."""


# MARK: One chaos connection


class ChaosConnection:
    def __init__(self, args, plan, stats):
        self.args = args
        self.plan = plan
        self.stats = stats
        self.loop = asyncio.get_running_loop()
        self.sock = None
        # Received bytes; those before `start` are consumed (a bytearray
        # and an offset, so that many frames in a large buffer cost linear time).
        self.buffer = bytearray()
        self.start = 0
        self.eof = False
        self.payloads = Payloads(plan["payload_seed"])
        self.expected_echoes = []  # (opcode, payload) the server owes us, in order
        self.echo_valid = plan["path"] == "/echo"
        self.server_close_code = None
        self.reset_seen = False
        self.phase = "connecting"

    def count(self, what):
        self.stats[what] += 1

    # Socket primitives.

    async def open(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.plan["rcvbuf"]:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.plan["rcvbuf"])
        self.sock = sock
        try:
            await self.loop.sock_connect(sock, (self.args.host, self.args.port))
        except ConnectionRefusedError as error:
            raise ServerGone() from error

    async def send(self, data, cuts=()):
        """Sends `data`, as separate writes at the `cuts` offsets."""
        start = 0
        for cut in list(cuts) + [len(data)]:
            if cut <= start:
                continue
            await self.loop.sock_sendall(self.sock, data[start:cut])
            if cut < len(data):
                await asyncio.sleep(0)  # let each piece leave on its own
            start = cut

    def reset(self):
        """Closes with RST (SO_LINGER 0)."""
        if self.sock is None:
            return
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()
        self.sock = None

    def close(self):
        """Closes normally: FIN, or RST when the kernel holds unread data."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    async def fill(self, timeout):
        """Reads more into the buffer; False at EOF or RST."""
        if self.eof:
            return False
        try:
            chunk = await asyncio.wait_for(self.loop.sock_recv(self.sock, 65536), timeout)
        except (ConnectionResetError, BrokenPipeError):
            self.eof = True
            self.reset_seen = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    async def read_head(self, timeout):
        """An HTTP response head: (status, headers dict, rest of the buffer stays)."""
        deadline = time.monotonic() + timeout
        self.compact()
        while b"\r\n\r\n" not in self.buffer:
            try:
                more = await self.fill(max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise Anomaly(f"no response head within {timeout:.0f} s") from None
            if not more:
                raise PeerClosed("closed before a response head")
        end = self.buffer.index(b"\r\n\r\n")
        head = bytes(self.buffer[:end])
        del self.buffer[:end + 4]
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise Anomaly(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    async def read_response(self, timeout, head_only=False):
        status, headers = await self.read_head(timeout)
        length = int(headers.get("content-length", "0"))
        if head_only:
            return status, headers, b""
        deadline = time.monotonic() + timeout
        while len(self.buffer) < length:
            try:
                more = await self.fill(max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise Anomaly(f"response body not complete within {timeout:.0f} s") from None
            if not more:
                raise PeerClosed("closed inside a body")
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return status, headers, body

    async def read_frame(self, timeout):
        """The next server frame (fin, opcode, payload), or None at EOF."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.parse_frame()
            if frame is not None:
                return frame
            if not await self.fill(max(0.01, deadline - time.monotonic())):
                if len(self.buffer) > self.start:
                    raise Anomaly(f"connection ended inside a server frame ({len(self.buffer) - self.start} bytes)")
                return None

    def compact(self):
        del self.buffer[:self.start]
        self.start = 0

    def parse_frame(self):
        """The next complete server frame in the buffer, or None."""
        buffer, start = self.buffer, self.start
        if len(buffer) - start < 2:
            return None
        first, second = buffer[start], buffer[start + 1]
        if second & 0x80:
            raise Anomaly("server sent a masked frame")
        if first & 0x70:
            raise Anomaly("server frame with RSV bits (no extension agreed)")
        length, offset = second & 0x7F, start + 2
        if length == 126:
            if len(buffer) < start + 4:
                return None
            length, offset = struct.unpack_from("!H", buffer, start + 2)[0], start + 4
        elif length == 127:
            if len(buffer) < start + 10:
                return None
            length, offset = struct.unpack_from("!Q", buffer, start + 2)[0], start + 10
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset:offset + length])
        self.start = offset + length
        if self.start > 1 << 20 and self.start * 2 > len(buffer):
            self.compact()
        return bool(first & 0x80), first & 0x0F, payload

    async def read_until_eof(self, timeout, what, nothing_more=False):
        """Discards until the server closes; an anomaly if it does not in
        time, or, with `nothing_more`, if anything arrives before."""
        deadline = time.monotonic() + timeout
        while True:
            if nothing_more and len(self.buffer) > self.start:
                raise Anomaly(f"{len(self.buffer) - self.start} bytes after the server's close frame ({what})")
            self.buffer.clear()
            self.start = 0
            if self.eof:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Anomaly(f"server did not close the connection within {timeout:.0f} s ({what})")
            try:
                await self.fill(remaining)
            except asyncio.TimeoutError:
                continue

    async def expect_close(self, timeout, allowed, what):
        """Reads frames until the server's close frame; checks the echoes
        still owed and the close code, then waits for the server's EOF."""
        deadline = time.monotonic() + timeout
        message = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Anomaly(f"no close frame within {timeout:.0f} s ({what})")
            try:
                frame = await self.read_frame(remaining)
            except asyncio.TimeoutError:
                raise Anomaly(f"no close frame within {timeout:.0f} s ({what})") from None
            if frame is None:
                if self.reset_seen:
                    raise Anomaly(f"RST without a close frame ({what})")
                raise Anomaly(f"EOF without a close frame ({what})")
            fin, opcode, payload = frame
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.server_close_code = code
                if code == 1008:
                    self.count("outcome.server_closed_1008_slow_consumer")
                elif code not in allowed:
                    raise Anomaly(f"close code {code} ({what}); expected one of {sorted(allowed, key=str)}")
                break
            message = self.check_data_frame(fin, opcode, payload, message)
        await self.read_until_eof(max(0.5, deadline - time.monotonic()), what + ", after the close frame", nothing_more=True)

    def check_data_frame(self, fin, opcode, payload, message):
        """Checks one data frame against the echoes owed (on /echo); returns the
        message being assembled."""
        if opcode in (PING, PONG):
            return message
        if opcode in (TEXT, BINARY):
            message = (opcode, bytearray(payload))
        elif opcode == CONT:
            if message is None:
                raise Anomaly("server continuation frame without a message")
            message[1].extend(payload)
        else:
            raise Anomaly(f"server frame with opcode {opcode}")
        if not fin:
            return message
        if self.echo_valid:
            if not self.expected_echoes:
                raise Anomaly("an echo nobody asked for")
            expected = self.expected_echoes.pop(0)
            if (message[0], bytes(message[1])) != expected:
                raise Anomaly(f"echo differs: got opcode {message[0]} size {len(message[1])}, "
                              f"expected opcode {expected[0]} size {len(expected[1])}")
            self.count("check.echo_ok")
        return None

    async def read_echoes(self, timeout, wanted_pong=None):
        """On /echo, reads until every owed echo (and the pong, if any) is back."""
        deadline = time.monotonic() + timeout
        message = None
        pong_seen = wanted_pong is None
        while self.expected_echoes or not pong_seen or message is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Anomaly(f"{len(self.expected_echoes)} echo(es) not back within {timeout:.0f} s")
            try:
                frame = await self.read_frame(remaining)
            except asyncio.TimeoutError:
                continue
            if frame is None:
                raise PeerClosed("closed while echoes were owed")
            fin, opcode, payload = frame
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if code == 1008:  # slow consumer (after a flood): allowed
                    self.count("outcome.server_closed_1008_slow_consumer")
                    raise PeerClosed("closed as a slow consumer")
                raise Anomaly(f"unexpected close frame {code} while echoes were owed")
            if opcode == PONG and wanted_pong is not None and payload == wanted_pong:
                pong_seen = True
                self.count("check.pong_ok")
                continue
            message = self.check_data_frame(fin, opcode, payload, message)

    def drain_available(self):
        """Reads what has already arrived, without waiting, and checks the
        complete frames (echoes on /echo; topic traffic is only parsed)."""
        while not self.eof:
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except (ConnectionResetError, BrokenPipeError):
                self.eof = True
                self.reset_seen = True
                break
            if not chunk:
                self.eof = True
                break
            self.buffer += chunk
        self.check_buffered_frames()

    def check_buffered_frames(self):
        """Checks the complete frames buffered so far; a close frame (1008
        after a flood) ends the connection early."""
        while (frame := self.parse_frame()) is not None:
            fin, opcode, payload = frame
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if code == 1008:
                    self.count("outcome.server_closed_1008_slow_consumer")
                    raise PeerClosed("closed as a slow consumer")
                raise Anomaly(f"unexpected close frame {code}")
            if not fin:
                raise Anomaly("server fragmented a message")
            self.check_data_frame(fin, opcode, payload, None)

    async def wait_for_peeked_close(self, timeout):
        """Waits until the server's close frame is in the kernel's receive
        buffer without reading it (MSG_PEEK), so closing leaves data unread."""
        deadline = time.monotonic() + timeout
        seen, changed_at = -1, time.monotonic()
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(1 << 22, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                data = None
            except (ConnectionResetError, BrokenPipeError):
                return False
            if data is not None:
                # After what this object already read, in frame order.
                peeked = bytes(self.buffer[self.start:]) + data
                # Walk the frames peeked so far for a close frame.
                offset = 0
                while offset + 2 <= len(peeked):
                    length, head = peeked[offset + 1] & 0x7F, 2
                    if length == 126:
                        if offset + 4 > len(peeked):
                            break
                        length, head = struct.unpack("!H", peeked[offset + 2:offset + 4])[0], 4
                    elif length == 127:
                        if offset + 10 > len(peeked):
                            break
                        length, head = struct.unpack("!Q", peeked[offset + 2:offset + 10])[0], 10
                    if peeked[offset] & 0x0F == CLOSE and offset + head + length <= len(peeked):
                        return True
                    offset += head + length
                if data == b"":
                    return False
                if len(data) != seen:
                    seen, changed_at = len(data), time.monotonic()
                elif time.monotonic() - changed_at > 0.3:
                    # Our receive buffer is full (nothing read): the close
                    # frame cannot arrive. Closing now leaves data unread too.
                    return False
            await asyncio.sleep(0.005)
        return False

    # The script.

    async def run(self):
        plan = self.plan
        await self.open()
        opening = plan["opening"]
        self.phase = f"opening {opening}"
        self.count(f"opening.{opening}")
        if opening == "rst_after_connect":
            self.reset()
            return
        if opening in ("partial_request_rst", "partial_request_fin"):
            request = upgrade_request(plan["path"], base64.b64encode(self.payloads.binary(16)).decode())
            await self.send(request[:max(1, int(len(request) * plan["cut"]))])
            if opening.endswith("rst"):
                self.reset()
            else:
                self.shutdown_write()
                await self.read_until_eof(self.args.wait, "after a partial request and FIN")
                self.close()
            return
        if opening == "garbage":
            return await self.garbage()
        if opening == "http_only":
            return await self.http_only()
        if opening == "http_then_upgrade":
            await self.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            status, _, body = await self.read_response(self.args.wait)
            if status != 200 or body != b"ok":
                raise Anomaly(f"GET /health before the upgrade: {status} {body[:40]!r}")
            self.count("check.health_ok")
        key = base64.b64encode(self.payloads.binary(16)).decode()
        request = upgrade_request(plan["path"], key)
        if opening == "upgrade_with_first_frame":
            # The first frame in the same write as the request: the server
            # finds it buffered behind the request (its initialBytes path).
            payload = self.payloads.text(self.payloads.rng.randrange(0, 200))
            request += encode_frame(TEXT, payload, self.payloads.key())
            if self.echo_valid:
                self.expected_echoes.append((TEXT, payload))
        cuts = split_points(random.Random(plan["payload_seed"]), len(request), plan.get("handshake_cuts", 0)) \
            if opening == "upgrade_split" else []
        await self.send(request, cuts)
        if opening == "upgrade_then_rst":
            self.reset()
            return
        status, headers, _ = await self.read_response(self.args.wait, head_only=True)
        if status != 101:
            raise Anomaly(f"upgrade answered {status}")
        if headers.get("sec-websocket-accept") != accept_for(key):
            raise Anomaly("wrong Sec-WebSocket-Accept")
        self.count("check.upgrade_ok")
        for number, step in enumerate(plan["steps"]):
            self.phase = f"step {number} {step['kind']}"
            self.count(f"step.{step['kind']}")
            await self.step(step)
        ending = plan["ending"]
        self.phase = f"ending {ending}"
        self.count(f"ending.{ending}")
        await self.end(ending)

    async def garbage(self):
        plan = self.plan
        name, request, status = garbage_requests(random.Random(plan["payload_seed"]))[plan["garbage"]]
        self.count(f"garbage.{name}")
        await self.send(request)
        end = plan["garbage_end"]
        if end == "rst":
            self.reset()
            return
        if end == "fin":
            self.shutdown_write()
        got, _, _ = await self.read_response(self.args.wait)
        if status is not None and got != status:
            raise Anomaly(f"{name}: answered {got}, expected {status}")
        if status is None and not 400 <= got < 600:
            raise Anomaly(f"{name}: answered {got}, expected a refusal")
        self.count("check.refusal_ok")
        await self.read_until_eof(self.args.wait, f"after refusing {name}")
        self.close()

    async def http_only(self):
        plan = self.plan
        topic = plan["path"].rsplit("/", 1)[-1] if plan["path"].startswith("/topic/") else "chaos-http"
        requests = []
        for kind in plan["requests"]:
            self.count(f"http.{kind}")
            if kind == "health":
                requests.append((b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 200, False))
            elif kind == "publish":
                body = self.payloads.binary(self.payloads.rng.randrange(0, 2048))
                requests.append((f"POST /publish/{topic} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body, 200, False))
            elif kind == "head":
                requests.append((b"HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n", 200, True))
            elif kind == "missing":
                requests.append((b"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", 404, False))
            else:
                requests.append((b"OPTIONS /health HTTP/1.1\r\nHost: t\r\n\r\n", 204, False))
        end = plan["http_end"]
        if plan["pipelined"]:
            await self.send(b"".join(request for request, _, _ in requests))
        if end == "rst" and plan["pipelined"]:
            self.reset()  # responses in flight
            return
        for request, status, head_only in requests:
            if not plan["pipelined"]:
                await self.send(request)
            if end == "rst_unread":
                continue
            got, headers, body = await self.read_response(self.args.wait, head_only=head_only)
            if got != status:
                raise Anomaly(f"HTTP request answered {got}, expected {status}")
            self.count("check.http_ok")
        if end in ("rst", "rst_unread"):
            if end == "rst_unread":
                await asyncio.sleep(0.01)  # let the responses arrive unread
            self.reset()
        elif end == "fin":
            self.shutdown_write()
            await self.read_until_eof(self.args.wait, "after the client's FIN on keep-alive")
            self.close()
        else:
            self.close()

    def frame_bytes(self, opcode, payload, fin=True):
        return encode_frame(opcode, payload, self.payloads.key(), fin=fin)

    async def step(self, step):
        kind = step["kind"]
        if kind in ("message", "fragmented"):
            opcode, size = step["opcode"], step["size"]
            payload = self.payloads.payload(opcode, size)
            pieces = []
            if step["fragments"] > 1:
                cuts = sorted(self.payloads.rng.randrange(0, size + 1) for _ in range(step["fragments"] - 1))
                bounds = [0] + cuts + [size]
                for number in range(step["fragments"]):
                    pieces.append(self.frame_bytes(opcode if number == 0 else CONT, payload[bounds[number]:bounds[number + 1]],
                                                   fin=number == step["fragments"] - 1))
                    if step["pings"] and number < step["fragments"] - 1:
                        pieces.append(self.frame_bytes(PING, self.payloads.binary(self.payloads.rng.randrange(0, 126))))
                        self.count("sent.interleaved_ping")
            else:
                pieces.append(self.frame_bytes(opcode, payload))
            data = b"".join(pieces)
            await self.send(data, split_points(self.payloads.rng, len(data), step["cuts"]))
            if self.echo_valid:
                self.expected_echoes.append((opcode, payload))
            if step["read_back"] and self.echo_valid:
                await self.read_echoes(self.args.wait)
            else:
                self.drain_available()
        elif kind == "ping":
            payload = self.payloads.binary(self.payloads.rng.randrange(0, 126))
            await self.send(self.frame_bytes(PING, payload))
            if self.echo_valid:
                await self.read_echoes(self.args.wait, wanted_pong=payload)
        elif kind == "pong":
            await self.send(self.frame_bytes(PONG, self.payloads.binary(self.payloads.rng.randrange(0, 126))))  # unsolicited: allowed
        elif kind == "flood":
            # Many messages, nothing read: the server queues the echoes (or
            # the topic's traffic) until its limit, then closes with 1008.
            chunk = b""
            # On a topic everyone subscribed gets the flood, well-behaved
            # subscribers included: kept small there.
            count, size = (step["count"], step["size"]) if self.echo_valid else (min(step["count"], 20), min(step["size"], 1024))
            for _ in range(count):
                payload = self.payloads.binary(size)
                chunk += self.frame_bytes(BINARY, payload)
                if self.echo_valid:
                    self.expected_echoes.append((BINARY, payload))
                if len(chunk) > 256 * 1024:
                    await self.send(chunk)
                    chunk = b""
            await self.send(chunk)
        elif kind == "slow_read":
            for _ in range(step["reads"]):
                try:
                    chunk = self.sock.recv(step["chunk"])
                except (BlockingIOError, InterruptedError):
                    chunk = None
                except (ConnectionResetError, BrokenPipeError):
                    raise PeerClosed("reset during a slow read") from None
                if chunk == b"":
                    raise PeerClosed("closed during a slow read")
                if chunk:
                    self.buffer += chunk
                await asyncio.sleep(0.002)
            self.check_buffered_frames()
        elif kind == "pause":
            await asyncio.sleep(step["ms"] / 1000)

    async def end(self, ending):
        plan = self.plan
        wait = self.args.wait
        if ending in ("close_wait", "close_then_rst", "close_then_fin", "close_read_reply_then_rst",
                      "close_unread", "close_then_more_frames"):
            code = plan["close_code"]
            if ending == "close_unread":
                # Echoes nobody reads, then the close: when the reply is in
                # the receive buffer, close() sends RST (data unread).
                for _ in range(plan["unread_messages"]):
                    await self.send(self.frame_bytes(BINARY, self.payloads.binary(self.payloads.rng.randrange(0, 4096))))
            await self.send(self.frame_bytes(CLOSE, close_payload(code, plan["close_reason"].encode())[:125]))
            if ending == "close_then_rst":
                self.reset()
            elif ending == "close_then_fin":
                self.close()
            elif ending == "close_unread":
                if await self.wait_for_peeked_close(wait):
                    self.count("outcome.closed_with_unread_close_reply")
                self.close()
            elif ending == "close_read_reply_then_rst":
                await self.expect_close_frame_only(wait, {code} if code else {None})
                self.reset()
            else:
                if ending == "close_then_more_frames":
                    # After a close frame the server must process nothing
                    # more (RFC 6455 §5.5.1): no echo, no pong may come back.
                    try:
                        await self.send(self.frame_bytes(TEXT, b"after close") + self.frame_bytes(PING, b"x"))
                    except (ConnectionResetError, BrokenPipeError):
                        self.count("outcome.reset_by_server")
                        self.close()
                        return
                await self.expect_close(wait, {code} if code else {None}, "close handshake")
                self.close()
        elif ending == "protocol_error":
            name, expected = PROTOCOL_ERRORS[plan["error"]]
            self.count(f"error.{name}")
            await self.send(self.invalid_frame(name))
            after = plan["after_error"]
            self.count(f"after_error.{after}")
            if after == "rst":
                self.reset()
            elif after == "fin":
                self.shutdown_write()
                await self.read_until_eof(wait, f"after {name} and FIN")
                self.close()
            elif after == "read_reply_then_rst":
                await self.expect_close_frame_only(wait, {expected})
                self.reset()
            elif after == "unread_then_close":
                if await self.wait_for_peeked_close(wait):
                    self.count("outcome.closed_with_unread_close_reply")
                self.close()
            else:
                await self.expect_close(wait, {expected}, name)
                self.close()
        elif ending == "half_close":
            if plan["half_close_mid_frame"]:
                frame = self.frame_bytes(BINARY, self.payloads.binary(300))
                await self.send(frame[:self.payloads.rng.randrange(1, len(frame))])
            self.shutdown_write()
            await self.read_until_eof(wait, "after the client's FIN")
            self.close()
        elif ending in ("partial_frame_rst", "partial_frame_fin"):
            frame = self.frame_bytes(BINARY, self.payloads.binary(plan["partial_size"]))
            await self.send(frame[:max(1, int(len(frame) * plan["partial_cut"]))])
            if ending.endswith("rst"):
                self.reset()
            else:
                self.shutdown_write()
                await self.read_until_eof(wait, "after a partial frame and FIN")
                self.close()
        elif ending == "flood_then_rst":
            await self.step({"kind": "flood", "count": plan["flood_count"], "size": 4096})
            self.reset()
        elif ending == "rst":
            self.reset()
        elif ending == "fin":
            self.close()

    async def expect_close_frame_only(self, timeout, allowed):
        """Reads up to the server's close frame (not its EOF)."""
        deadline = time.monotonic() + timeout
        message = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Anomaly(f"no close frame within {timeout:.0f} s")
            try:
                frame = await self.read_frame(remaining)
            except asyncio.TimeoutError:
                continue
            if frame is None:
                raise PeerClosed("EOF before the close frame")
            fin, opcode, payload = frame
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if code != 1008 and code not in allowed:
                    raise Anomaly(f"close code {code}, expected one of {sorted(allowed, key=str)}")
                return
            message = self.check_data_frame(fin, opcode, payload, message)

    def invalid_frame(self, name):
        key = self.payloads.key()
        rng = self.payloads.rng
        if name == "unmasked":
            return encode_frame(TEXT, b"unmasked", key, masked=False)
        if name == "bad_utf8":
            bad = rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80"])
            return encode_frame(TEXT, b"ok " + bad + b" tail", key)
        if name == "bad_utf8_fragmented":
            return encode_frame(TEXT, "caf".encode(), key, fin=False) + encode_frame(CONT, b"\xc3\x28", self.payloads.key())
        if name == "bad_utf8_truncated":
            return encode_frame(TEXT, b"euro \xe2\x82", key)
        if name == "reserved_opcode":
            return encode_frame(rng.choice([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]), b"?", key)
        if name == "rsv_bits":
            return encode_frame(TEXT, b"rsv", key, rsv=rng.randrange(1, 8))
        if name == "control_too_long":
            return encode_frame(rng.choice([PING, PONG, CLOSE]), b"\x03\xe8" + b"x" * 124, key)
        if name == "fragmented_control":
            return encode_frame(PING, b"frag", key, fin=False)
        if name == "unexpected_continuation":
            return encode_frame(CONT, b"orphan", key)
        if name == "interrupted_message":
            return encode_frame(TEXT, b"first", key, fin=False) + encode_frame(BINARY, b"second", self.payloads.key())
        if name == "bad_close_code":
            return encode_frame(CLOSE, struct.pack("!H", rng.choice(INVALID_CLOSE_CODES)), key)
        if name == "close_payload_1_byte":
            return encode_frame(CLOSE, b"\x03", key)
        if name == "bad_close_reason":
            return encode_frame(CLOSE, struct.pack("!H", 1000) + b"\xff\xfe", key)
        if name == "length_top_bit":
            return struct.pack("!BBQ", 0x82, 0xFF, 1 << 63) + key
        if name == "too_big":
            # Only the header: the size is checked before any payload.
            return struct.pack("!BBQ", 0x82, 0xFF, 1 << 33) + key
        raise ValueError(name)


# MARK: Well-behaved clients


class WellBehaved:
    """Subscribers, publishers and echo clients that must see everything.

    Per topic (the first --subscribers of --topics, round robin): one
    publisher sending on /topic/NAME (subscribed too, so it must get its
    own messages back) and one publishing with POST /publish/NAME on a
    keep-alive connection. Each message names its publisher and a sequence
    number; every subscriber must get every message of both, in order.
    Chaos connections share the topics; their messages are skipped.
    """

    def __init__(self, args, run_id):
        self.args = args
        self.run_id = run_id
        self.errors = []
        self.published = Counter()
        self.last_sequence = {}  # publisher -> last sequence number sent
        self.publishing_done = asyncio.Event()
        self.publishing_done_at = None
        self.subscribers_ok = {}
        self.echoes_sent = 0
        self.echoes_ok = 0
        self.base = f"ws://{args.host}:{args.port}"
        self.slow_handshakes = []

    def error(self, who, what):
        if len(self.errors) < 50:
            self.errors.append(f"{who}: {what}")

    async def connect(self, name, path):
        """Opens a WebSocket as a real client would: an opening handshake
        that times out (10 s) is tried again, at most twice, and reported
        in the summary (`slow_handshakes`), so a machine starved by a
        sanitizer and a parallel suite does not pass for a server that
        stopped answering, which fails all three tries."""
        for attempt in range(3):
            started = time.monotonic()
            try:
                return await ws_connect(self.base + path, max_size=None, ping_interval=None, open_timeout=10, close_timeout=5)
            except TimeoutError:
                self.slow_handshakes.append(f"{name}: try {attempt + 1} timed out after {time.monotonic() - started:.1f} s")
                if attempt == 2:
                    raise

    def check_closed(self, name, ws):
        if ws.close_code != 1000:
            self.error(name, f"closing handshake ended with {ws.close_code}, expected 1000")

    async def run(self, chaos_done):
        """Runs beside the chaos until `chaos_done` is set and each client
        has sent at least --messages."""
        count = self.args.subscribers
        topics = [self.args.topics[index % len(self.args.topics)] for index in range(count)]
        readies = [asyncio.Event() for _ in range(count)]
        subscribers = [asyncio.create_task(self.subscriber(f"sub{index}", topic, ready))
                       for index, (topic, ready) in enumerate(zip(topics, readies))]
        # A subscription is in place before the 101 leaves the server, so
        # once every subscriber is open, every later publish reaches it.
        await asyncio.gather(*(ready.wait() for ready in readies))
        senders = []
        for topic in sorted(set(topics)):
            senders.append(self.ws_publisher(f"ws-{topic}", topic, chaos_done))
            senders.append(self.http_publisher(f"http-{topic}", topic, chaos_done))
        senders += [self.echo_client(f"echo{index}", chaos_done) for index in range(self.args.echo_clients)]
        await asyncio.gather(*senders)
        self.publishing_done_at = time.monotonic()
        self.publishing_done.set()
        await asyncio.gather(*subscribers)

    def message(self, publisher, sequence):
        return f"wb|{self.run_id}|{publisher}|{sequence}|".encode() + b"." * (sequence % 97)

    def parse(self, data):
        """(publisher, sequence) of this run's well-behaved message, or None
        for chaos traffic; a corrupted one raises."""
        if isinstance(data, str):
            data = data.encode()
        parts = data.split(b"|", 4)
        if len(parts) < 5 or parts[0] != b"wb" or parts[1] != self.run_id.encode():
            return None
        sequence = int(parts[3])
        if parts[4] != b"." * (sequence % 97):
            raise ValueError(f"corrupted message {data[:60]!r}")
        return parts[2].decode(), sequence

    async def subscriber(self, name, topic, ready):
        publishers = [f"ws-{topic}", f"http-{topic}"]
        expected = {publisher: 0 for publisher in publishers}
        ok = True
        try:
            async with await self.connect(name, f"/topic/{topic}") as ws:
                ready.set()
                while True:
                    if self.publishing_done.is_set():
                        missing = {p: (expected[p], self.last_sequence.get(p, -1)) for p in publishers
                                   if expected[p] <= self.last_sequence.get(p, -1)}
                        if not missing:
                            break
                        if time.monotonic() - self.publishing_done_at > self.args.wait:
                            self.error(name, f"missing messages, (next expected, last sent) by publisher: {missing}")
                            ok = False
                            break
                    try:
                        data = await asyncio.wait_for(ws.recv(), 0.25)
                    except asyncio.TimeoutError:
                        continue
                    parsed = self.parse(data)
                    if parsed is None:
                        continue  # chaos traffic on the same topic
                    publisher, sequence = parsed
                    if publisher not in expected:
                        self.error(name, f"a message from {publisher}, which publishes to another topic")
                        ok = False
                    elif sequence != expected[publisher]:
                        self.error(name, f"from {publisher}: got {sequence}, expected {expected[publisher]}")
                        ok = False
                        expected[publisher] = max(expected[publisher], sequence + 1)
                    else:
                        expected[publisher] += 1
            self.check_closed(name, ws)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            self.error(name, f"{type(error).__name__}: {error}")
            ok = False
        finally:
            ready.set()
        self.subscribers_ok[name] = ok

    async def ws_publisher(self, name, topic, chaos_done):
        """Publishes by sending on /topic/NAME; subscribed too, it must get
        its own messages back, in order."""
        sent = 0
        received = 0

        async def read_own(ws):
            nonlocal received
            try:
                async for data in ws:
                    parsed = self.parse(data)
                    if parsed is not None and parsed[0] == name:
                        if parsed[1] != received:
                            self.error(name, f"own message {parsed[1]} back, expected {received}")
                        received = parsed[1] + 1
            except websockets.ConnectionClosed:
                pass  # reported by the sending side

        try:
            async with await self.connect(name, f"/topic/{topic}") as ws:
                reader = asyncio.create_task(read_own(ws))
                while sent < self.args.messages or not chaos_done.is_set():
                    await ws.send(self.message(name, sent).decode())
                    self.last_sequence[name] = sent
                    sent += 1
                    self.published[name] += 1
                    await asyncio.sleep(self.args.publish_interval)
                deadline = time.monotonic() + self.args.wait
                while received < sent and time.monotonic() < deadline and not reader.done():
                    await asyncio.sleep(0.02)
                if received < sent:
                    self.error(name, f"got {received} of its own {sent} messages back")
                reader.cancel()
            self.check_closed(name, ws)
        except Exception as error:  # noqa: BLE001
            self.error(name, f"{type(error).__name__}: {error}")

    async def http_publisher(self, name, topic, chaos_done):
        """Publishes with POST /publish/NAME on one keep-alive connection,
        each after the previous one's 200."""
        sent = 0
        writer = None
        try:
            reader, writer = await asyncio.open_connection(self.args.host, self.args.port)
            while sent < self.args.messages or not chaos_done.is_set():
                body = self.message(name, sent)
                writer.write(f"POST /publish/{topic} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.args.wait)
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                answer = await asyncio.wait_for(reader.readexactly(length), self.args.wait)
                if not head.startswith(b"HTTP/1.1 200") or answer != b"ok":
                    self.error(name, f"publish answered {head[:40]!r} {answer[:40]!r}")
                    break
                self.last_sequence[name] = sent
                sent += 1
                self.published[name] += 1
                await asyncio.sleep(self.args.publish_interval)
        except Exception as error:  # noqa: BLE001
            self.error(name, f"{type(error).__name__}: {error}")
        finally:
            if writer is not None:
                writer.close()

    async def echo_client(self, name, chaos_done):
        """Sends text and binary messages up to 256 KiB; each must come back."""
        rng = random.Random(f"{self.run_id}:{name}")
        try:
            async with await self.connect(name, "/echo") as ws:
                count = 0
                while count < self.args.messages or not chaos_done.is_set():
                    size = message_size(rng, 256 * 1024)
                    message = "".join(rng.choices(TEXT_ALPHABET, k=size // 2)) if rng.random() < 0.5 else rng.randbytes(size)
                    await ws.send(message)
                    self.echoes_sent += 1
                    back = await asyncio.wait_for(ws.recv(), self.args.wait)
                    if back != message:
                        self.error(name, f"echo {count} differs ({type(back).__name__} of {len(back)})")
                    else:
                        self.echoes_ok += 1
                    count += 1
                    await asyncio.sleep(self.args.publish_interval)
            self.check_closed(name, ws)
        except Exception as error:  # noqa: BLE001
            self.error(name, f"{type(error).__name__}: {error}")

    def summary(self):
        complete = sum(1 for ok in self.subscribers_ok.values() if ok)
        return {
            "subscribers": self.args.subscribers,
            "subscribers_complete": complete,
            "published": dict(self.published),
            "echo_clients": self.args.echo_clients,
            "echoes_sent": self.echoes_sent,
            "echoes_ok": self.echoes_ok,
            "errors": self.errors,
            "slow_handshakes": self.slow_handshakes,
            "got_everything": not self.errors and complete == self.args.subscribers and self.echoes_ok == self.echoes_sent,
        }


# MARK: Driver


def describe(plan):
    """A connection's script in a few words, for reports."""
    words = [plan["opening"], plan["path"]]
    words += [step["kind"] for step in plan["steps"]]
    if "ending" in plan:
        words.append(plan["ending"])
    if "error" in plan:
        words.append(f"{PROTOCOL_ERRORS[plan['error']][0]} then {plan['after_error']}")
    return " ".join(words)


async def run_chaos(args, stats, anomalies, client_bugs, state, chaos_done):
    """Runs the chaos connections, --concurrency at a time, until all ran,
    the run is stopping, or the server stops accepting connections."""
    # Indexes are taken in order by whichever worker is free (a range, not
    # a list: soaks ask for more connections than they will ever run).
    indexes = range(args.only, args.only + 1) if args.only is not None else range(args.connections)
    position = 0
    in_flight = {}

    def note(index, plan, outcome):
        state["recent"].append({"index": index, "script": describe(plan), "outcome": outcome,
                                "ended": round(time.monotonic() - state["start"], 3)})
        del state["recent"][:-60]

    async def one(index):
        plan = plan_connection(args.seed, index, args.topics)
        if args.verbose:
            print(f"chaos_client: #{index} plan {json.dumps(plan)}", file=sys.stderr)
        connection = ChaosConnection(args, plan, stats)
        in_flight[index] = (plan, connection)
        outcome = "finished"
        started = time.monotonic()
        try:
            await asyncio.wait_for(connection.run(), args.connection_budget)
            stats["outcome.finished"] += 1
        except ServerGone:
            outcome = "connect refused"
            if state["server_gone_at"] is None:
                # The server died (or stopped listening) just before: the
                # connection that killed it is among the last few that ended
                # or among those still running.
                state["server_gone_at"] = time.monotonic() - state["start"]
                state["at_loss"] = {
                    "recently_ended": list(state["recent"]),
                    "still_running": [{"index": other, "script": describe(other_plan), "phase": other_connection.phase}
                                      for other, (other_plan, other_connection) in sorted(in_flight.items())
                                      if other_connection.phase != "connecting"],
                }
            stats["outcome.connect_refused"] += 1
        except Anomaly as anomaly:
            outcome = f"anomaly: {anomaly}"
            stats["outcome.anomaly"] += 1
            if len(anomalies) < 100:
                anomalies.append({"index": index, "what": str(anomaly), "script": describe(plan), "phase": connection.phase,
                                  "after_server_gone": state["server_gone_at"] is not None})
        except PeerClosed as closed:
            # Allowed (a 1008 after a flood, a write timeout for a client
            # that stopped reading), but counted by cause.
            outcome = f"closed early: {closed}"
            stats[f"outcome.closed_early_by_server: {closed}"] += 1
        except asyncio.TimeoutError:
            outcome = "budget exceeded"
            stats["outcome.budget_exceeded"] += 1
            if len(anomalies) < 100:
                anomalies.append({"index": index, "what": f"connection budget of {args.connection_budget:.0f} s exceeded",
                                  "script": describe(plan), "phase": connection.phase,
                                  "after_server_gone": state["server_gone_at"] is not None})
        except (ConnectionResetError, BrokenPipeError) as error:
            outcome = type(error).__name__
            stats["outcome.reset_by_server"] += 1
        except OSError as error:
            outcome = f"OSError {error.errno}"
            stats[f"outcome.oserror.{error.errno}"] += 1
        except Exception as error:  # noqa: BLE001 - a bug of this client: reported, the run goes on
            outcome = "client bug"
            stats["outcome.client_bug"] += 1
            if len(client_bugs) < 20:
                client_bugs.append({"index": index, "error": "".join(traceback.format_exception(error))[-1500:]})
        finally:
            connection.reset()
            in_flight.pop(index, None)
            if outcome != "connect refused":
                note(index, plan, outcome)
                slowest = state["slowest"]
                slowest.append((round(time.monotonic() - started, 2), index, describe(plan), connection.phase, outcome))
                slowest.sort(reverse=True)
                del slowest[5:]
            state["done"] += 1

    async def worker():
        nonlocal position
        while position < len(indexes) and not state["stopping"]:
            if args.duration is not None and time.monotonic() - state["start"] >= args.duration:
                break
            index = indexes[position]
            position += 1
            await one(index)
            if state["server_gone_at"] is not None:
                state["stopping"] = True

    await asyncio.gather(*(worker() for _ in range(min(args.concurrency, len(indexes)))))
    chaos_done.set()


async def watch(args, state):
    """Progress on stderr; stops the run when the parent process is gone.
    Also measures how late this client's own event loop runs (a starved
    client makes its timeouts, not the server, the cause of anomalies)."""
    parent = os.getppid()
    last = time.monotonic()
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.25)
        state["max_lag"] = max(state["max_lag"], time.monotonic() - before - 0.25)
        if args.exit_with_parent and os.getppid() != parent:
            print("chaos_client: parent process gone, stopping", file=sys.stderr)
            state["stopping"] = True
            return
        if time.monotonic() - last >= args.progress:
            last = time.monotonic()
            elapsed = last - state["start"]
            print(f"chaos_client: {elapsed:.0f} s, {state['done']} connections done, "
                  f"event loop late by up to {state['max_lag']:.2f} s", file=sys.stderr)


async def main(args):
    run_id = f"{args.seed:x}"
    stats = Counter()
    anomalies = []
    client_bugs = []
    state = {"start": time.monotonic(), "done": 0, "stopping": False, "server_gone_at": None,
             "at_loss": None, "recent": [], "slowest": [], "max_lag": 0.0}
    chaos_done = asyncio.Event()
    well_behaved = WellBehaved(args, run_id) if args.subscribers or args.echo_clients else None
    watcher = asyncio.create_task(watch(args, state))
    timed_out = False

    async def everything():
        if well_behaved is not None:
            # The well-behaved clients connect first, then run beside the chaos.
            good = asyncio.create_task(well_behaved.run(chaos_done))
            await asyncio.sleep(0.2)
            await run_chaos(args, stats, anomalies, client_bugs, state, chaos_done)
            await good
        else:
            await run_chaos(args, stats, anomalies, client_bugs, state, chaos_done)

    try:
        await asyncio.wait_for(everything(), args.time_limit)
    except asyncio.TimeoutError:
        timed_out = True
    except (ConnectionRefusedError, OSError) as error:
        if well_behaved is not None:
            well_behaved.error("setup", f"{type(error).__name__}: {error}")
        state["server_gone_at"] = state["server_gone_at"] or time.monotonic() - state["start"]
    watcher.cancel()
    elapsed = time.monotonic() - state["start"]
    actions = {key: value for key, value in sorted(stats.items()) if not key.startswith(("outcome.", "check."))}
    summary = {
        "seed": args.seed,
        "port": args.port,
        "connections_planned": 1 if args.only is not None else args.connections,
        "connections_done": state["done"],
        "elapsed_seconds": round(elapsed, 2),
        "client_max_lag_seconds": round(state["max_lag"], 3),
        "timed_out": timed_out,
        "server_gone_at_seconds": None if state["server_gone_at"] is None else round(state["server_gone_at"], 2),
        "when_server_gone": state["at_loss"],
        "slowest_connections": [{"seconds": seconds, "index": index, "script": script, "phase": phase, "outcome": outcome}
                                for seconds, index, script, phase, outcome in state["slowest"]],
        "actions": actions,
        "checks": {key[6:]: value for key, value in sorted(stats.items()) if key.startswith("check.")},
        "outcomes": {key[8:]: value for key, value in sorted(stats.items()) if key.startswith("outcome.")},
        "anomaly_count": stats["outcome.anomaly"] + stats["outcome.budget_exceeded"],
        "anomalies": anomalies,
        "well_behaved": well_behaved.summary() if well_behaved is not None else None,
        "client_bugs": client_bugs,
    }
    if state["server_gone_at"] is not None:
        print(f"chaos_client: seed {args.seed}: the server stopped accepting connections after "
              f"{state['server_gone_at']:.2f} s ({state['done']} connections done).", file=sys.stderr)
        if state["at_loss"] is not None:
            # The connection that brought the server down most likely ended
            # normally (it did what it meant to) just before the first ones
            # that the server's death cut short.
            ended = state["at_loss"]["recently_ended"]
            first_cut = next((position for position, entry in enumerate(ended) if entry["outcome"] != "finished"), len(ended))
            print("chaos_client: suspects, the connections that finished last before the first one cut short "
                  "(most recent last):", file=sys.stderr)
            # A crashing process stays up while its backtrace is written
            # (Swift's backtracer: about a second), so look a little back.
            for entry in ended[max(0, first_cut - 12):first_cut]:
                print(f"  #{entry['index']} at {entry['ended']} s: {entry['script']}", file=sys.stderr)
            for entry in ended[first_cut:first_cut + 3]:
                print(f"  then #{entry['index']} at {entry['ended']} s: {entry['outcome']}", file=sys.stderr)
        print(f"chaos_client: replay one with --seed {args.seed} --only INDEX --verbose", file=sys.stderr)
    try:
        print(json.dumps(summary, indent=1))
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # the reader (a test process that crashed) is gone
    if state["server_gone_at"] is not None:
        return 2
    good = well_behaved is None or summary["well_behaved"]["got_everything"]
    return 0 if good and summary["anomaly_count"] == 0 and not client_bugs else 1


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--connections", type=int, default=2000, help="chaos connections in total")
    parser.add_argument("--concurrency", type=int, default=32, help="chaos connections at once")
    parser.add_argument("--time-limit", type=float, default=60, help="hard stop for the whole run, seconds")
    parser.add_argument("--duration", type=float, default=None,
                        help="start no new chaos connection after this many seconds (soaks); the run then ends normally")
    parser.add_argument("--connection-budget", type=float, default=30, help="time allowed to one chaos connection, seconds")
    parser.add_argument("--wait", type=float, default=10, help="longest wait for a reply the server owes, seconds")
    parser.add_argument("--topics", default="a,b,c", help="comma-separated topic names")
    parser.add_argument("--subscribers", type=int, default=4, help="well-behaved subscribers (0: none)")
    parser.add_argument("--echo-clients", type=int, default=2, help="well-behaved echo clients (0: none)")
    parser.add_argument("--messages", type=int, default=200, help="least messages each well-behaved publisher/echo client sends")
    parser.add_argument("--publish-interval", type=float, default=0.01, help="pause between well-behaved messages, seconds")
    parser.add_argument("--only", type=int, default=None, help="run chaos connection INDEX alone (replay)")
    parser.add_argument("--verbose", action="store_true", help="print each connection's script")
    parser.add_argument("--progress", type=float, default=10, help="seconds between progress lines")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process ends")
    args = parser.parse_args()
    args.topics = [topic for topic in args.topics.split(",") if topic]
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    if args.only is not None and "--subscribers" not in sys.argv:
        args.subscribers = 0
        args.echo_clients = 0
    return args


if __name__ == "__main__":
    arguments = parse_arguments()
    print(f"chaos_client: seed {arguments.seed} ({arguments.connections} connections, concurrency {arguments.concurrency}, "
          f"time limit {arguments.time_limit:.0f} s, websockets {websockets.__version__})", file=sys.stderr)
    sys.exit(asyncio.run(main(arguments)))
