"""`backhaul` — the command line: serve, worker, sandbox, demo, config, merchants."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from carriers.errors import BackhaulError
from carriers.registry import adapter_class
from gateway.rules import commands as serviceability_commands
from gateway.settings import Settings, effective_config, load_settings


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.app import create_app
    from gateway.runtime import redis_url, serve_until_stopped

    with redis_url(settings) as url:
        app = create_app(settings, url, run_poller=args.with_worker)
        print(f"Backhaul listening on http://{settings.host}:{settings.port}", flush=True)
        asyncio.run(serve_until_stopped([(app, settings.host, settings.port)]))


def _worker(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.app import create_app
    from gateway.runtime import redis_url, serve_until_stopped

    if args.roles:
        settings = settings.model_copy(update={"worker_roles": [r.strip() for r in args.roles.split(",") if r]})
    with redis_url(settings) as url:
        app = create_app(settings, url, run_poller=True, serve_api=False)
        print(f"Backhaul worker running; metrics on http://{settings.host}:{args.metrics_port}/metrics", flush=True)
        asyncio.run(serve_until_stopped([(app, settings.host, args.metrics_port)]))


def _sandbox(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.runtime import serve_until_stopped

    module = importlib.import_module(adapter_class(args.carrier).__module__.rsplit(".", 1)[0] + ".sandbox")
    app = module.make_app()
    print(f"{args.carrier} sandbox on http://{args.host}:{args.port}", flush=True)
    asyncio.run(serve_until_stopped([(app, args.host, args.port)]))


def _demo(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.demo import run_demo

    asyncio.run(run_demo(settings, port=args.port, sandbox_port=args.sandbox_port, exit_after_s=args.exit_after))


def _config_show(args: argparse.Namespace, settings: Settings) -> None:
    print(json.dumps(effective_config(settings), indent=2, default=str))


def _merchants_create(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.runtime import redis_url
    from gateway.seed import create_merchant

    fields: dict[str, object] = {"warehouse": args.warehouse}
    if args.return_pin:
        from carriers.base import Address, Contact

        fields["return_address"] = Address(line1=args.return_line1, city=args.return_city, state=args.return_state,
                                           postcode=args.return_pin, country=args.return_country)
        fields["return_contact"] = Contact(name=args.return_name or args.name, phone=args.return_phone,
                                           phone_region=args.return_country)
    with redis_url(settings) as url:
        merchant, key = asyncio.run(create_merchant(settings, url, args.name, **fields))
    print(f"merchant {merchant.id} ({merchant.name})")
    print(f"API key (shown once, store it now): {key}")


def _normalize(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.normalize_cli import run_normalize

    raise SystemExit(run_normalize(settings, args.carrier, args.file))


def _renormalize(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.normalize_cli import renormalize_all
    from gateway.runtime import redis_url

    with redis_url(settings) as url:
        result = asyncio.run(renormalize_all(settings, url, args.carrier))
    print(f"re-normalized {result['returns']} returns; {result['changed']} events changed meaning")


def _ops_users(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.ops.users import main as users_main

    users_main([args.action, *([args.name] if args.action == "add" else [])])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="backhaul", description="Carrier gateway for e-commerce returns")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--with-worker", action="store_true", help="also run the poller in this process")
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="run the poller")
    worker.add_argument("--metrics-port", type=int, default=9108)
    worker.add_argument("--roles", default="", help="comma list of poller,inbound,observers,webhooks,ops "
                        "(default: all); run several workers with different roles to scale out")
    worker.set_defaults(func=_worker)
    sandbox = sub.add_parser("sandbox", help="run a carrier's local sandbox")
    sandbox.add_argument("--carrier", default="delhivery")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.set_defaults(func=_sandbox)
    demo = sub.add_parser("demo", help="everything in one process on embedded Redis, with demo data")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--sandbox-port", type=int, default=8081)
    demo.add_argument("--exit-after", type=float, default=None, help="stop after this many seconds")
    demo.set_defaults(func=_demo)
    norm = sub.add_parser("normalize", help="one raw carrier payload in, unified events out (JSON lines)")
    norm.add_argument("--carrier", required=True)
    norm.add_argument("file", help="a tracking response or webhook body, or - for stdin")
    norm.set_defaults(func=_normalize)
    renorm = sub.add_parser("renormalize", help="re-read stored events with the current status maps")
    renorm.add_argument("--carrier", default=None)
    renorm.set_defaults(func=_renormalize)
    ops_users = sub.add_parser("ops-users", help="ops console users").add_subparsers(dest="action", required=True)
    ops_add = ops_users.add_parser("add", help="store an ops user in Redis (asks for the password)")
    ops_add.add_argument("name")
    ops_add.set_defaults(func=_ops_users)
    ops_users.add_parser("hash", help="print a password hash for ops.users in backhaul.yaml").set_defaults(
        func=_ops_users)
    config = sub.add_parser("config", help="configuration").add_subparsers(dest="action", required=True)
    config.add_parser("show", help="print the effective configuration, secrets masked").set_defaults(
        func=_config_show)
    merchants = sub.add_parser("merchants", help="merchant accounts").add_subparsers(dest="action", required=True)
    create = merchants.add_parser("create", help="create a merchant and print its API key once")
    create.add_argument("name")
    create.add_argument("--warehouse", default="", help="the merchant's pickup location name at the carriers")
    create.add_argument("--return-line1", default="", help="default return address, first line")
    create.add_argument("--return-city", default="")
    create.add_argument("--return-state", default="")
    create.add_argument("--return-pin", default="", help="postcode of the default return address")
    create.add_argument("--return-country", default="IN")
    create.add_argument("--return-name", default="", help="who receives returns (default: the merchant)")
    create.add_argument("--return-phone", default="")
    create.set_defaults(func=_merchants_create)
    serviceability_commands.register(sub)
    importlib.import_module("gateway.detect_cli").register(sub)
    importlib.import_module("gateway.portal.orders_cli").register(sub)
    importlib.import_module("gateway.analytics.digest_cli").register(sub)
    importlib.import_module("gateway.portal.lookup_cli").register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace, Settings], None] = args.func
    try:
        settings = load_settings()
        func(args, settings)
    except BackhaulError as exc:
        print(f"backhaul: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            print(f"backhaul: {field}: {err['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from exc
    except KeyboardInterrupt:
        raise SystemExit(130) from None
