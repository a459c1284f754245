"""Drives a compressing Switchboard echo route with the Python `websockets`
client and its permessage-deflate (compression="deflate").

Usage: deflate_client.py PORT PATH. Exits 0 when every check passed; prints
the first failure otherwise. Run by CompressionTests.
"""
import asyncio
import json
import sys

import websockets


async def main(port: int, path: str) -> None:
    url = f"ws://127.0.0.1:{port}{path}"
    async with websockets.connect(url, compression="deflate", max_size=None) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert extensions.startswith("permessage-deflate"), extensions
        # Many similar messages: with context takeover each refers to the last.
        for seq in range(200):
            event = json.dumps({"seq": seq, "symbol": "ACME", "price": 100 + seq % 7, "note": "x" * (seq % 50)})
            await ws.send(event)
            assert await ws.recv() == event, seq
        big = json.dumps([{"id": i, "name": f"item-{i}"} for i in range(20_000)])
        await ws.send(big)
        assert await ws.recv() == big
        await ws.send(bytes(range(256)) * 40)
        assert await ws.recv() == bytes(range(256)) * 40
        await ws.send(["frag", "men", "ted " * 100])  # one compressed message in three frames
        assert await ws.recv() == "fragmented " + "ted " * 99
        await ws.send("ünïcødé ✓ " * 50)
        assert await ws.recv() == "ünïcødé ✓ " * 50
    assert ws.close_code == 1000, ws.close_code


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
    print("python websockets deflate: all checks passed")
