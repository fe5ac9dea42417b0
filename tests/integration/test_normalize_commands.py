"""`backhaul normalize` on raw payloads, and `backhaul renormalize` after a status map is fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway import keys
from gateway.normalize_cli import renormalize_all
from normalizers.machine import fold
from normalizers.maps import MAPS_DIR, load_map
from tests.integration.conftest import System

FIXTURES = Path(__file__).parents[2] / "carriers" / "delhivery" / "fixtures"


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKHAUL_")}
    return subprocess.run([sys.executable, "-m", "gateway", "normalize", *args], input=stdin, env=env,
                          capture_output=True, check=False)


def test_normalize_prints_one_json_object_per_event() -> None:
    run = _run("--carrier", "delhivery", str(FIXTURES / "track_rvp_lifecycle.json"))
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert lines and set(lines[0]) == {"awb", "carrier", "status", "reason", "raw_code", "raw_description",
                                       "occurred_at", "location"}
    assert all(line["occurred_at"].endswith("Z") for line in lines)
    failed = [line for line in lines if line["status"] == "pickup_failed"]
    assert failed and failed[0]["reason"] == "customer_unavailable"
    assert any(line["reason"] is None for line in lines)


def test_normalize_reads_a_webhook_body_from_stdin() -> None:
    run = _run("--carrier", "delhivery", "-", stdin=(FIXTURES / "scan_push_webhook.json").read_bytes())
    assert run.returncode == 0
    assert len(run.stdout.decode().splitlines()) == 1


def test_unparseable_payload_exits_2_with_one_line() -> None:
    run = _run("--carrier", "delhivery", "-", stdin=b'{"ShipmentData": [')
    assert run.returncode == 2
    assert run.stdout == b"" and len(run.stderr.decode().strip().splitlines()) == 1


async def test_renormalize_reaches_the_state_of_the_fixed_map(system: System, tmp_path: Path,
                                                              redis_url: str) -> None:
    fixed = load_map(MAPS_DIR / "delhivery.yaml")
    # A "broken" map that does not know out-for-pickup scans: they arrive as unknown.
    broken_path = tmp_path / "delhivery.yaml"
    broken_path.write_text((MAPS_DIR / "delhivery.yaml").read_text().replace("status: out_for_pickup",
                                                                            "status: unknown"))
    system.app[keys.INGESTOR].maps["delhivery"] = load_map(broken_path)
    ret = await system.create()
    await system.advance(hours=25)
    assert (await system.get(ret["id"]))["status"] != "out_for_pickup"

    result = await renormalize_all(system.app[keys.SETTINGS], redis_url, None, {"delhivery": fixed})
    assert result["changed"] >= 1
    fresh = await system.get(ret["id"])
    assert fresh["status"] == "out_for_pickup"
    events = await system.app[keys.RETURNS].events(system.merchant.id, ret["id"])
    assert fresh["state"] == json.loads(fold(events).model_dump_json())
    corrections = await system.redis.xrange(f"{system.prefix}{{{system.merchant.id}}}:feed")
    assert any(f.get("correction") == "1" and f["type"] == "tracking.out_for_pickup" for _, f in corrections)
