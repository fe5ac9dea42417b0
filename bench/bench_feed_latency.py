"""Ingest to feed: from a webhook accepted (202) to the event readable in the merchant's feed.

The gateway and an inbound worker run as real processes; webhooks are sent open-loop at a
fixed rate, and a reader follows the feed stream that `GET /v1/events` reads. Goal: p99 under
50 ms at 1,000 events per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import time
import uuid
from typing import Any

from bench import loadgen, processes
from bench.bench_ingest import redis_server
from bench.seed import MERCHANT, SCANS, scan_push, seed_returns
from gateway.store.keys import Keys
from gateway.store.server import client_for

RATE_PER_S = 1000
RETURNS = 500  # × 8 scans = 4,000 events, four seconds at the target rate
WARM_RETURNS = 100  # × 8 scans sent first, not measured


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), 0.0 where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _follow(url: str, stream: str, expected: int, out: Any) -> None:
    """Read the feed stream as it grows, noting when each event first appears.

    The reader runs in its own process, so the sender's busy event loop cannot delay it, and
    with a plain blocking client, so it takes little CPU from what it measures. CLOCK_MONOTONIC
    is one clock for every process on the machine, so the times compare.
    """
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    after, seen = "0", {}
    deadline = time.monotonic() + 60
    while len(seen) < expected and time.monotonic() < deadline:
        reply: Any = client.xread({stream: after}, count=500, block=200)
        now = time.monotonic()
        for entry_id, fields in reply[0][1] if reply else []:
            event = json.loads(fields["event"])
            seen[f"{event['awb']}|{event['raw_code']}"] = now
            after = entry_id
    client.close()
    out.put(seen)


async def _send(port: int, bodies: list[tuple[str, bytes]], accepted: dict[str, float]) -> None:
    headers = {"Authorization": f"Token {processes.WEBHOOK_SECRET}", "Content-Type": "application/json"}
    requests = [(key, loadgen.post_request("127.0.0.1", port, "/webhooks/carriers/delhivery", headers, body))
                for key, body in bodies]
    answered = await loadgen.send_at_rate("127.0.0.1", port, requests, RATE_PER_S)
    accepted.update({key: at for key, (status, at) in answered.items() if status == 202})


async def _measure(url: str, prefix: str, port: int, pids: dict[str, int]) -> dict[str, float]:
    redis = client_for(url)
    seeded = await seed_returns(redis, prefix, RETURNS + WARM_RETURNS)
    pids["redis"] = int((await redis.info("server"))["process_id"])
    await redis.aclose()
    awbs, warm = seeded[:RETURNS], seeded[RETURNS:]
    bodies = [(f"{awb}|{'/'.join(SCANS[i])}", scan_push(awb, i)) for i in range(len(SCANS)) for awb in awbs]
    # Warm up (first imports, caches, connections) at the same rate; these are not measured.
    await _send(port, [(f"{a}|{i}", scan_push(a, i)) for i in range(len(SCANS)) for a in warm], {})
    await asyncio.sleep(2.0)
    accepted: dict[str, float] = {}
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    expected = len(bodies) + WARM_RETURNS * len(SCANS)
    reader = ctx.Process(target=_follow, args=(url, Keys(prefix).feed(MERCHANT), expected, results))
    reader.start()
    await asyncio.sleep(1.0)
    cpu_before, started = {name: _cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
    await _send(port, bodies, accepted)
    elapsed = time.monotonic() - started
    cpu = {name: (_cpu_seconds(pid) - cpu_before[name]) / elapsed for name, pid in pids.items()}
    print("CPU while sending (share of one core): "
          + ", ".join(f"{name} {share:.0%}" for name, share in cpu.items()))
    seen: dict[str, float] = await asyncio.get_running_loop().run_in_executor(None, results.get, True, 90)
    reader.join(10)
    lat = [(seen[k] - accepted[k]) * 1000 for k in accepted if k in seen]
    by_time = [(accepted[k], (seen[k] - accepted[k]) * 1000) for k in accepted if k in seen]
    by_time.sort()
    tenth = max(1, len(by_time) // 10)
    deciles = [round(max(v for _, v in by_time[i:i + tenth])) for i in range(0, len(by_time), tenth)]
    print(f"worst latency (ms) per tenth of the run: {deciles}")
    by_scan: dict[str, list[float]] = {}
    for key in accepted:
        if key in seen:
            by_scan.setdefault(key.split("|", 1)[1], []).append((seen[key] - accepted[key]) * 1000)
    print("p99 (ms) per scan of a return: " + ", ".join(f"{scan} {_percentile(v, 0.99):.0f}"
                                                     for scan, v in by_scan.items()))
    return {"events": float(len(bodies)), "fed": float(len(lat)), "p50_ms": statistics.median(lat),
            "p99_ms": _percentile(lat, 0.99), "max_ms": max(lat)}


def run(workers: int = 1) -> dict[str, float]:
    with redis_server() as url, contextlib.ExitStack() as stack:
        prefix = f"bhbench:{uuid.uuid4().hex[:8]}:"
        port = processes.free_port()
        pids = {"gateway": stack.enter_context(processes.gateway(url, prefix, port)).pid}
        if workers == 1:
            pids["worker"] = stack.enter_context(processes.worker(url, prefix)).pid
        else:
            # Scaled out as in production: the feed's path in one process, the bookkeeping in others.
            pids["worker"] = stack.enter_context(processes.worker(url, prefix, roles="inbound")).pid
            for n in range(workers - 1):
                pids[f"observers {n + 1}"] = stack.enter_context(
                    processes.worker(url, prefix, roles="observers,poller,webhooks,ops")).pid
        result = asyncio.run(_measure(url, prefix, port, pids))
    result["workers"] = float(workers)
    print(f"ingest to feed at {RATE_PER_S} events/s, {workers} worker process(es): "
          f"{result['fed']:.0f}/{result['events']:.0f} fed, "
          f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (goal < 50 ms), max {result['max_ms']:.1f} ms")
    return result


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 2:
        RATE_PER_S = int(sys.argv[2])
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
