"""Drives a Switchboard echo route with the Python `websockets` client.

Usage: echo_client.py PORT. Exits 0 when every check passed; prints the
first failure otherwise. Run by WebSocketClientTests.
"""
import asyncio
import sys

import websockets


async def main(port: int) -> None:
    url = f"ws://127.0.0.1:{port}/ws?user=python"
    async with websockets.connect(url, subprotocols=["v1.chat"], max_size=None) as ws:
        assert ws.subprotocol == "v1.chat", ws.subprotocol
        await ws.send("héllo ✓")
        assert await ws.recv() == "héllo ✓"
        await ws.send(bytes(range(256)))
        assert await ws.recv() == bytes(range(256))
        big = "x" * 500_000
        await ws.send(big)
        assert await ws.recv() == big
        await ws.send(["frag", "men", "ted"])  # one message in three frames
        assert await ws.recv() == "fragmented"
        latency = await ws.ping(b"are you there")
        await asyncio.wait_for(latency, 5)
    assert ws.close_code == 1000, ws.close_code

    # The server closes with its own code; the client sees it.
    async with websockets.connect(url) as ws:
        await ws.send("close-me")
        try:
            await ws.recv()
            raise AssertionError("expected the server to close")
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd.code == 4000 and closed.rcvd.reason == "asked", closed

    # Refusals are HTTP statuses before the upgrade.
    for path, headers, status in [
        ("/ws?token=nope", {}, 401),
        ("/ws", {"Origin": "https://evil.example"}, 403),
    ]:
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}{path}", additional_headers=headers):
                raise AssertionError(f"{path} should have been refused")
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code == status, (path, refused.response.status_code)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
    print("python websockets: all checks passed")
