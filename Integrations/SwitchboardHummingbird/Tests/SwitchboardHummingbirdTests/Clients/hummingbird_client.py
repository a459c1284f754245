"""Python `websockets` clients against a Hummingbird app whose WebSocket
routes are handed off to Switchboard on the app's own port.

Usage: hummingbird_client.py PORT. Exits 0 when every check passed; prints
the first failure otherwise. Run by HandOffTests.
"""
import asyncio
import sys
import urllib.request

import websockets


def get(port: int, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.status, response.read()


def post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


async def main(port: int) -> None:
    assert get(port, "/health") == (200, b"ok")
    url = f"ws://127.0.0.1:{port}/topic/news"
    subscribers = [await websockets.connect(url) for _ in range(3)]
    # The host writes the 101 and hands the socket over after it: a pong
    # comes from Switchboard, which subscribed the connection (onOpen)
    # before it read anything. Publishing earlier could beat that.
    for ws in subscribers:
        await asyncio.wait_for(await ws.ping(), 10)
    # What a Hummingbird route handler publishes reaches every subscriber.
    status, _ = await asyncio.to_thread(post, port, "/publish/news", b"from a route")
    assert status == 200, status
    for ws in subscribers:
        assert await asyncio.wait_for(ws.recv(), 10) == "from a route"
    # What a subscriber sends is published by Switchboard's handler.
    await subscribers[0].send("from a client")
    for ws in subscribers:
        assert await asyncio.wait_for(ws.recv(), 10) == "from a client"
    # Echo, with a message in several frames and a ping.
    async with websockets.connect(f"ws://127.0.0.1:{port}/echo", max_size=None) as ws:
        await ws.send(["frag", "men", "ted"])
        assert await ws.recv() == "fragmented"
        big = bytes(range(256)) * 4000
        await ws.send(big)
        assert await ws.recv() == big
        await asyncio.wait_for(await ws.ping(b"there?"), 10)
    assert ws.close_code == 1000, ws.close_code
    for ws in subscribers:
        await ws.close()
        assert ws.close_code == 1000, ws.close_code
    # The app still answers on the same port.
    assert get(port, "/health") == (200, b"ok")


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except Exception as error:  # noqa: BLE001 - the test prints whatever went wrong
        print(f"FAILED: {type(error).__name__}: {error}")
        sys.exit(1)
    print("ok")
