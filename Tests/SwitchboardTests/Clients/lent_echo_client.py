"""Drives an echo route whose handler answers from lent bytes (onMessage).

Usage: lent_echo_client.py PORT [compress]. Sends text and binary messages
whole, fragmented, large (read over many turns), in bursts (many in one
read) and, with `compress`, compressed; every echo must come back exact and
in order. Exits 0 when all did; prints the first failure otherwise. Run by
LentMessageTests.
"""
import asyncio
import os
import sys

import websockets


async def main(port: int, compress: bool) -> None:
    url = f"ws://127.0.0.1:{port}/lent"
    options = {"compression": "deflate"} if compress else {"compression": None}
    async with websockets.connect(url, max_size=None, **options) as ws:
        messages = ["héllo ✓", bytes(range(256)), "", b"", "x" * 300_000, os.urandom(700_000)]
        for message in messages:
            await ws.send(message)
            echoed = await ws.recv()
            assert echoed == message, (type(message), len(message), len(echoed))
        await ws.send(["frag", "men", "ted ✓"])
        assert await ws.recv() == "fragmented ✓"
        await ws.send([b"\x00\x01", b"", b"\x02"])
        assert await ws.recv() == b"\x00\x01\x02"
        burst = [os.urandom(n % 200) if n % 2 else f"m{n}" for n in range(2_000)]
        for message in burst:
            await ws.send(message)
        for message in burst:
            echoed = await ws.recv()
            assert echoed == message, (message, echoed)
    assert ws.close_code == 1000, ws.close_code
    print("ok")


asyncio.run(main(int(sys.argv[1]), len(sys.argv) > 2 and sys.argv[2] == "compress"))
