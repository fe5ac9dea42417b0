"""`backhaul detect AWB`: which carriers may have issued a tracking number."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from carriers.detect import detect


def run_detect(awb: str, *, as_json: bool) -> int:
    """Print the candidates, most likely first; 1 when no carrier matches."""
    candidates = detect(awb)
    if as_json:
        print(json.dumps([asdict(c) for c in candidates]))
    else:
        for c in candidates:
            print(f"{c.carrier}\t{c.confidence:.2f}\t{c.reason}")
        if not candidates:
            print(f"no carrier recognises {awb!r}")
    return 0 if candidates else 1


def _command(args: argparse.Namespace, _settings: Any) -> None:
    raise SystemExit(run_detect(args.awb, as_json=args.json))


def register(subparsers: Any) -> None:
    """Add `detect` to the `backhaul` command line."""
    parser = subparsers.add_parser("detect", help="guess the carrier of a tracking number (AWB)")
    parser.add_argument("awb")
    parser.add_argument("--json", action="store_true", help="print the candidates as a JSON list")
    parser.set_defaults(func=_command)
