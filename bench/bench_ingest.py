"""Webhook ingest: `POST /webhooks/carriers/delhivery` against a bare aiohttp handler, in one run.

Each server is a real process pinned to CPU 0, `wrk` is pinned to CPU 1; the two servers are
measured alternately and the ratio of their medians is the figure that counts. The goal is at
least half of the bare handler's rate with the durable XADD (group commit) in the path.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench import processes
from bench.seed import awb_of, scan_push
from gateway.store.server import EmbeddedRedis

DURATION_S = 4
CONNECTIONS = 64
ROUNDS = 2


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    from gateway.settings import load_settings

    settings = load_settings()
    if settings.redis_url is not None:
        yield settings.redis_url.get_secret_value()
        return
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedRedis(Path(tmp))
        try:
            yield embedded.start()
        finally:
            embedded.stop()


def wrk_script(directory: Path) -> Path:
    body = scan_push(awb_of(1), 2).decode().replace("\\", "\\\\").replace('"', '\\"')
    script = directory / "post.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\n'
                      f'wrk.headers["Content-Type"] = "application/json"\n'
                      f'wrk.headers["Authorization"] = "Token {processes.WEBHOOK_SECRET}"\n')
    return script


def _latency_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url: str, script: Path) -> tuple[float, float]:
    """Requests per second and p99 latency (ms)."""
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} failed requests\n{out}")
    return float(rate.group(1)) if rate else 0.0, _latency_ms(out, "99%")


def run() -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise RuntimeError("bench_ingest needs the `wrk` load generator: apt-get install wrk")
    rates: dict[str, list[float]] = {"bare": [], "gateway": []}
    p99: dict[str, list[float]] = {"bare": [], "gateway": []}
    with redis_server() as url, tempfile.TemporaryDirectory() as tmp:
        script = wrk_script(Path(tmp))
        prefix = f"bhbench:{uuid.uuid4().hex[:8]}:"
        for _ in range(ROUNDS):
            port = processes.free_port()
            with processes.bare(port, cpu=0):
                _wait_post(port)
                rate, lat = wrk(f"http://127.0.0.1:{port}/webhooks/carriers/delhivery", script)
                rates["bare"].append(rate)
                p99["bare"].append(lat)
            port = processes.free_port()
            with processes.gateway(url, prefix, port, cpu=0):
                rate, lat = wrk(f"http://127.0.0.1:{port}/webhooks/carriers/delhivery", script)
                rates["gateway"].append(rate)
                p99["gateway"].append(lat)
    bare, gw = statistics.median(rates["bare"]), statistics.median(rates["gateway"])
    result = {"bare_rps": bare, "gateway_rps": gw, "ratio": gw / bare if bare else 0.0,
              "bare_p99_ms": statistics.median(p99["bare"]), "gateway_p99_ms": statistics.median(p99["gateway"])}
    print(f"ingest: bare {bare:,.0f} req/s (p99 {result['bare_p99_ms']:.1f} ms), gateway {gw:,.0f} req/s "
          f"(p99 {result['gateway_p99_ms']:.1f} ms), ratio {result['ratio']:.2f} (goal >= 0.50)")
    return result


def _wait_post(port: int) -> None:
    import time
    import urllib.error
    import urllib.request

    for _ in range(400):
        try:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/webhooks/carriers/x", data=b"{}", method="POST"), timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("bare server did not come up")


if __name__ == "__main__":
    run()
