"""Many WebSocket clients that follow a stopping server's drain.

Usage: drain_client.py PORT CLIENTS. Opens CLIENTS connections to
/ws?topic=drain, then reads each until the server closes it, and prints one
JSON object: per client the messages received before the close, the close
code, and when the close frame arrived (seconds since the first one
arrived), and how late its own event loop ran at worst while the closes
came in (a starved client reads its sockets late and sees the closes
bunched, whatever the server did). Run by DrainTests, which publishes and
stops the server meanwhile.
"""
import asyncio
import json
import sys
import time

import websockets


async def follow(url: str, opened: list) -> dict:
    async with websockets.connect(url, ping_interval=None, open_timeout=60, close_timeout=10, max_queue=None) as ws:
        opened.append(1)
        messages = []
        try:
            async for message in ws:
                messages.append(message)
        except websockets.ConnectionClosed:
            pass
        return {"messages": messages, "code": ws.close_code, "closed_at": time.monotonic()}


async def main(port: int, clients: int) -> None:
    url = f"ws://127.0.0.1:{port}/ws?topic=drain"
    opened: list = []
    tasks = []
    # Opened in batches, so the listen backlog never overflows.
    for start in range(0, clients, 100):
        tasks += [asyncio.create_task(follow(url, opened)) for _ in range(start, min(clients, start + 100))]
        while len(opened) < min(clients, start + 100):
            await asyncio.sleep(0.01)
            if any(task.done() and task.exception() for task in tasks):
                break
    lag = {"max": 0.0}

    async def watch_lag() -> None:
        # A 10 ms tick: how much later than asked does it wake?
        while True:
            asked = time.monotonic()
            await asyncio.sleep(0.01)
            lag["max"] = max(lag["max"], time.monotonic() - asked - 0.01)

    watcher = asyncio.create_task(watch_lag())
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 120)
    watcher.cancel()
    ok = [r for r in results if isinstance(r, dict)]
    first = min((r["closed_at"] for r in ok), default=0)
    print(json.dumps({
        "errors": [repr(r) for r in results if not isinstance(r, dict)][:5],
        "codes": [r["code"] for r in ok],
        "message_counts": [len(r["messages"]) for r in ok],
        "close_times": [round(r["closed_at"] - first, 4) for r in ok],
        "max_lag": round(lag["max"], 4),
    }))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
