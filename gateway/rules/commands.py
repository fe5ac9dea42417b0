"""`backhaul serviceability ...`: load a carrier's PIN table into Redis, show what is loaded, generate demo tables.

CSV format (config/serviceability/<slug>.csv): a header line `postcode,pickup,delivery`, then
one row per PIN: a six-digit PIN, or `country:CC` for a whole country, and 1/0 (or y/n,
true/false) for pickup and delivery. Lines starting with `#` are comments.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import indian_pincode

from carriers.errors import ConfigError
from gateway.rules.serviceability import DELIVERY, PICKUP, TABLE_BYTES, pin_index, set_flags, store_table
from gateway.rules.zones import place_of
from gateway.settings import Settings
from gateway.store.keys import Keys

_TRUE = {"1", "y", "yes", "true"}
_FALSE = {"0", "n", "no", "false", ""}
_BAR_WIDTH = 30
_FORMAT_NOTE = ("# Format: postcode,pickup,delivery. postcode is a six-digit PIN or country:CC (a whole country);\n"
                "# pickup/delivery are 1 or 0. Load with: backhaul serviceability load <carrier> <this file>\n")


@dataclass
class ParsedTable:
    bits: bytearray = field(default_factory=lambda: bytearray(TABLE_BYTES))
    countries: dict[str, int] = field(default_factory=dict)
    loaded: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def _flag(value: str) -> int | None:
    v = value.strip().lower()
    return 1 if v in _TRUE else 0 if v in _FALSE else None


def parse_row(row: list[str]) -> tuple[str, int]:
    """(postcode or country:CC, flags). Raises: ValueError saying what is wrong."""
    if len(row) != 3:
        raise ValueError(f"expected 3 columns (postcode,pickup,delivery), got {len(row)}")
    code, pickup, delivery = row[0].strip().upper(), _flag(row[1]), _flag(row[2])
    if pickup is None or delivery is None:
        raise ValueError(f"pickup and delivery are 1 or 0, got {row[1]!r}, {row[2]!r}")
    if code.startswith("COUNTRY:"):
        country = code.removeprefix("COUNTRY:")
        if len(country) != 2 or not country.isalpha():
            raise ValueError(f"{row[0]!r} is not country:CC with a two-letter country code")
        return "country:" + country, pickup * PICKUP | delivery * DELIVERY
    if pin_index(code) is None:
        raise ValueError(f"{row[0]!r} is not a six-digit PIN")
    return code, pickup * PICKUP | delivery * DELIVERY


def parse_table(lines: Iterable[str], progress: Any = None) -> ParsedTable:
    """Every good row into a bitmap; bad rows are kept with their line numbers."""
    table = ParsedTable()
    for number, row in enumerate(csv.reader(lines), start=1):
        if progress is not None:
            progress(number)
        if not row or row[0].startswith("#") or row[0].strip().lower() == "postcode":
            continue
        try:
            code, flags = parse_row(row)
        except ValueError as exc:
            table.bad.append((number, str(exc)))
            continue
        if code.startswith("country:"):
            table.countries[code.removeprefix("country:")] = flags
        else:
            set_flags(table.bits, code, flags)
        table.loaded += 1
    return table


class ProgressBar:
    """A text progress bar on stderr, redrawn at most every 1% of the total."""

    def __init__(self, total: int, out: TextIO = sys.stderr) -> None:
        self.total = max(1, total)
        self.out = out
        self._shown = -1

    def __call__(self, done: int) -> None:
        pct = min(100, done * 100 // self.total)
        if pct != self._shown:
            self._shown = pct
            filled = pct * _BAR_WIDTH // 100
            self.out.write(f"\r[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {pct:3d}% {done}/{self.total} rows")
            self.out.flush()

    def close(self) -> None:
        self.out.write("\n")


async def load_file(settings: Settings, url: str, carrier: str, path: Path, out: TextIO = sys.stderr) -> ParsedTable:
    """Load `path` as `carrier`'s table. Raises: ConfigError when the file has no good row."""
    from gateway.store.server import client_for

    text = path.read_text(encoding="utf-8").splitlines()
    bar = ProgressBar(len(text), out)
    table = parse_table(text, bar)
    bar.close()
    if table.loaded == 0:
        raise ConfigError(f"{path}: no serviceable row loaded ({len(table.bad)} bad)")
    client = client_for(url)
    try:
        await store_table(client, Keys(settings.key_prefix), carrier, bytes(table.bits), table.countries,
                          table.loaded, datetime.now(UTC).isoformat())
    finally:
        await client.aclose()
    return table


async def load_missing(settings: Settings, redis: Any, carriers: Iterable[str]) -> list[str]:
    """Load `config/serviceability/<slug>.csv` for each carrier that has no table in Redis yet.

    Runs at start, so a fresh deployment (and the demo) allocate from tables at once; a table
    already loaded, perhaps a newer one from `serviceability load`, is left alone.
    """
    keys = Keys(settings.key_prefix)
    loaded = []
    for carrier in carriers:
        path = settings.config_dir / "serviceability" / f"{carrier}.csv"
        if not path.exists() or await redis.hexists(keys.serviceability_meta(), carrier):
            continue
        table = parse_table(path.read_text(encoding="utf-8").splitlines())
        if table.loaded:
            await store_table(redis, keys, carrier, bytes(table.bits), table.countries, table.loaded,
                              datetime.now(UTC).isoformat())
            loaded.append(carrier)
    return loaded


def _load(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.runtime import redis_url

    with redis_url(settings) as url:
        table = asyncio.run(load_file(settings, url, args.carrier, Path(args.file)))
    print(f"{args.carrier}: {table.loaded} rows loaded, {len(table.bad)} skipped")
    for number, why in table.bad[:50]:
        print(f"  line {number}: {why}", file=sys.stderr)
    if len(table.bad) > 50:
        print(f"  ... and {len(table.bad) - 50} more", file=sys.stderr)


def coverage_rows(carrier: str, pins: Iterable[str], coverage: float, metro_only: bool = False) -> Iterator[str]:
    """Demo rows: each PIN served with a probability fixed by a hash of carrier and PIN, so carriers differ."""
    for pin in pins:
        if metro_only and not place_of(pin)[2]:
            continue
        digest = hashlib.sha256(f"{carrier}:{pin}".encode()).digest()
        pickup = digest[0] / 256 < coverage
        delivery = digest[1] / 256 < coverage * 1.05
        if pickup or delivery:
            yield f"{pin},{int(pickup)},{int(delivery)}"


def _generate(args: argparse.Namespace, settings: Settings) -> None:
    pins = [p for p in indian_pincode.get_pincodes() if not p.startswith(tuple(args.exclude_prefix or ()))]
    rows = list(coverage_rows(args.carrier, pins, args.coverage, args.metro_only))
    countries = [f"country:{c},1,1" for c in args.country or ()]
    out = sys.stdout if args.out == "-" else Path(args.out).open("w", encoding="utf-8")
    with out:
        out.write(f"# {args.carrier}: demo serviceability generated from the India Post PIN list "
                  f"(indian-pincode), coverage {args.coverage}\n{_FORMAT_NOTE}postcode,pickup,delivery\n")
        out.write("\n".join([*countries, *rows]) + "\n")


def register(subparsers: Any) -> None:
    """Add `serviceability load` and `serviceability generate` to the CLI."""
    group = subparsers.add_parser("serviceability", help="carrier serviceability tables")
    actions = group.add_subparsers(dest="action", required=True)
    load = actions.add_parser("load", help="load a carrier's CSV of PINs into Redis (replaces its table)")
    load.add_argument("carrier")
    load.add_argument("file")
    load.set_defaults(func=_load)
    gen = actions.add_parser("generate", help="write a demo table from the India Post PIN list")
    gen.add_argument("carrier")
    gen.add_argument("--coverage", type=float, default=0.9)
    gen.add_argument("--metro-only", action="store_true")
    gen.add_argument("--exclude-prefix", action="append")
    gen.add_argument("--country", action="append", help="a whole country this carrier serves (repeatable)")
    gen.add_argument("--out", default="-")
    gen.set_defaults(func=_generate)
