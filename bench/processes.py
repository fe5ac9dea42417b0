"""Start the gateway, a worker and the bare server as real processes for the HTTP benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "bench-hook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(redis_url: str, prefix: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKHAUL_")}
    env.update({"BACKHAUL_REDIS_URL": redis_url, "BACKHAUL_KEY_PREFIX": prefix, "BACKHAUL_PORT": str(port),
                "BACKHAUL_LOG_LEVEL": "WARNING", "BACKHAUL_POLL_INTERVAL_S": "86400",
                "BACKHAUL_CARRIERS__DELHIVERY__WEBHOOK_SECRET": WEBHOOK_SECRET})
    return env


def wait_http(url: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1)
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str] | None = None, ready_url: str | None = None,
            cpu: int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A child process pinned to one CPU when asked, stopped at the end of the block."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        args = ["taskset", "-c", str(cpu), *args]
    log = open(os.environ.get("BENCH_LOG", os.devnull), "ab")  # closed with the process below
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        if ready_url:
            wait_http(ready_url)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def gateway(redis_url: str, prefix: str, port: int, cpu: int | None = None) -> contextlib.AbstractContextManager[
        subprocess.Popen[bytes]]:
    return process([sys.executable, "-m", "gateway", "serve"], env_for(redis_url, prefix, port),
                   f"http://127.0.0.1:{port}/healthz", cpu)


def worker(redis_url: str, prefix: str, cpu: int | None = None, roles: str = "") -> contextlib.AbstractContextManager[
        subprocess.Popen[bytes]]:
    port = free_port()
    return process([sys.executable, "-m", "gateway", "worker", "--metrics-port", str(port),
                    *(["--roles", roles] if roles else [])],
                   env_for(redis_url, prefix, 0), f"http://127.0.0.1:{port}/healthz", cpu)


def bare(port: int, cpu: int | None = None) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return process([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port)], None, None, cpu)
