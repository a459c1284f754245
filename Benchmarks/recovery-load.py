#!/usr/bin/env python3
"""Recovery under load: CLIENTS client-protocol connections subscribe to a
history topic and note their position, all drop, MISSED messages are
published, and all reconnect at once asking `since` their position.
Reports the time until every client has all the missed messages (exactly
once, in order), the server's CPU time over the recovery, and its RSS
before, at the peak (sampled every 20 ms) and after.

  swift build -c release --product BenchHost
  python3 Benchmarks/recovery-load.py .build/release/BenchHost [CLIENTS] [MISSED]
"""
import asyncio, json, os, subprocess, sys, time
import websockets

binary = sys.argv[1]
clients = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
missed = int(sys.argv[3]) if len(sys.argv) > 3 else 100
port = 9300
ticks = os.sysconf("SC_CLK_TCK")

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks

async def subscribe(url, since=None):
    socket = await websockets.connect(url, max_size=None, open_timeout=60, ping_interval=None)
    request = {"type": "subscribe", "topic": "recovery", "id": 1}
    if since:
        request["since"] = since
    await socket.send(json.dumps(request))
    ack = json.loads(await socket.recv())
    return socket, ack

async def main():
    server = subprocess.Popen([binary], env={**os.environ, "PORT": str(port), "HISTORY": "1"})
    try:
        url = f"ws://127.0.0.1:{port}/pubsub"
        for _ in range(100):
            try:
                socket, _ = await subscribe(url)
                await socket.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        first = await asyncio.gather(*(subscribe(url) for _ in range(clients)))
        positions = [{"epoch": ack["epoch"], "offset": ack["offset"]} for _, ack in first]
        await asyncio.gather(*(socket.close() for socket, _ in first))
        publisher = await websockets.connect(url)
        for n in range(missed - 1):
            await publisher.send(json.dumps({"type": "publish", "topic": "recovery", "data": {"n": n, "pad": "x" * 64}}))
        await publisher.send(json.dumps({"type": "publish", "topic": "recovery", "data": "last", "id": "last"}))
        while json.loads(await publisher.recv()).get("id") != "last":
            pass
        await publisher.close()

        rss_before, peak = rss_kib(server.pid), 0
        sampling = True
        async def sample():
            nonlocal peak
            while sampling:
                peak = max(peak, rss_kib(server.pid))
                await asyncio.sleep(0.02)
        sampler = asyncio.create_task(sample())
        cpu_before, start = cpu_seconds(server.pid), time.monotonic()

        async def recover(position):
            socket, ack = await subscribe(url, position)
            assert ack.get("recovered") is True, ack
            offsets = []
            while len(offsets) < missed:
                offsets.append(json.loads(await socket.recv())["offset"])
            assert offsets == list(range(position["offset"] + 1, position["offset"] + missed + 1)), offsets[:5]
            return socket

        sockets = await asyncio.gather(*(recover(position) for position in positions))
        elapsed, cpu = time.monotonic() - start, cpu_seconds(server.pid) - cpu_before
        sampling = False
        await sampler
        rss_after = rss_kib(server.pid)
        await asyncio.gather(*(socket.close() for socket in sockets))
        print(f"recovery: {clients} clients x {missed} missed messages: all caught up in {elapsed:.2f} s "
              f"(the Python client's own pace dominates); server CPU {cpu * 1000:.0f} ms "
              f"({cpu * 1e6 / clients:.0f} us per recovered client); server RSS {rss_before / 1024:.1f} MiB before, "
              f"{peak / 1024:.1f} MiB peak, {rss_after / 1024:.1f} MiB after")
    finally:
        server.terminate()
        server.wait(timeout=10)

asyncio.run(main())
