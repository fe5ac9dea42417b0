"""Ops console users: names with scrypt password hashes, from config (`ops.users`) or Redis.

`python -m gateway.ops.users hash` prints a hash for `ops.users` in backhaul.yaml;
`python -m gateway.ops.users add NAME` stores one in Redis. Both read the password from the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import getpass
import hashlib
import hmac
import secrets
from collections.abc import Mapping

import redis.asyncio as aioredis
from pydantic import SecretStr

from gateway.store.keys import Keys
from gateway.store.server import text

# scrypt at n=2**14, r=8: ~16 MiB and tens of milliseconds per guess (RFC 7914's interactive setting).
_N, _R, _P = 2**14, 8, 1
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(_unb64(digest)), maxmem=2**26)
    except ValueError:
        return False
    return hmac.compare_digest(got, _unb64(digest))


def is_valid_name(name: str) -> bool:
    return 0 < len(name) <= 40 and set(name.lower()) <= _NAME_CHARS


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(value: str) -> bytes:
    return base64.b64decode(value.encode(), validate=True)


class OpsUsers:
    def __init__(self, redis: aioredis.Redis, keys: Keys, configured: Mapping[str, SecretStr]) -> None:
        self.redis, self.keys, self.configured = redis, keys, configured

    async def add(self, name: str, password: str) -> None:
        """Raises: ValueError for a name that is not 1-40 of [a-z0-9._-]."""
        if not is_valid_name(name):
            raise ValueError("a user name is 1-40 of a-z, 0-9, '.', '_' and '-'")
        await self.redis.hset(self.keys.ops_users(), name.lower(), hash_password(password))

    async def check(self, name: str, password: str) -> bool:
        """Whether the password is right; a hash is checked even for an unknown name (same timing)."""
        name = name.lower()
        stored = self.configured[name].get_secret_value() if name in self.configured else text(
            await self.redis.hget(self.keys.ops_users(), name) or "")
        is_right = check_password(password, stored or _dummy())
        return is_right and bool(stored)


@functools.cache
def _dummy() -> str:
    return hash_password(secrets.token_urlsafe(16))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.ops.users", description="Ops console users")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hash", help="print a password hash for ops.users in backhaul.yaml")
    add = sub.add_parser("add", help="store a user in Redis")
    add.add_argument("name")
    args = parser.parse_args(argv)
    password = getpass.getpass("Password: ")
    if args.command == "hash":
        print(hash_password(password))
        return
    asyncio.run(_add(args.name, password))


async def _add(name: str, password: str) -> None:
    from gateway.runtime import redis_url
    from gateway.settings import load_settings
    from gateway.store.server import client_for

    settings = load_settings()
    with redis_url(settings) as url:
        client = client_for(url)
        try:
            await OpsUsers(client, Keys(settings.key_prefix), settings.ops.users).add(name, password)
            print(f"ops user {name!r} added")
        finally:
            await client.aclose()


if __name__ == "__main__":
    main()
