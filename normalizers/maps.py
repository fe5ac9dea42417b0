"""Status maps: one YAML file per carrier giving each of its codes a unified meaning.

A map lives in ``normalizers/maps/<slug>.yaml``; each entry matches on any non-empty
subset of a `CarrierEvent`'s ``code_type`` (``type``), ``code`` and ``detail_code``
(``detail``). The most specific entry wins: detail weighs 4, code 2, type 1, so no two
shapes of match ever tie. Every problem in a map is reported as `MappingError` with
the file, the line and what is wrong, so a bad map stops the process at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from carriers.base import CarrierEvent
from carriers.errors import MappingError
from normalizers.taxonomy import Reason, Status

MAPS_DIR = Path(__file__).parent / "maps"

# Which fields a match uses, as (type, code, detail); a key holds "" for a field not used.
_Shape = tuple[bool, bool, bool]
_Key = tuple[str, str, str]


class Match(BaseModel):
    """Which carrier codes an entry applies to; an absent field matches anything."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)

    type: str = ""
    code: str = ""
    detail: str = ""

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (self.type or self.code or self.detail):
            raise ValueError("match needs at least one of type, code, detail")
        return self

    @property
    def key(self) -> _Key:
        return (self.type, self.code, self.detail)

    @property
    def weight(self) -> int:
        return (1 if self.type else 0) + (2 if self.code else 0) + (4 if self.detail else 0)


class MapEntry(BaseModel):
    """One line of a status map: the unified status, reason and customer text for a match."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    match: Match
    status: Status
    reason: Reason | None = None
    text: str = ""
    correction: bool = False


class _MapFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    carrier: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str = Field(min_length=1)
    codes: tuple[MapEntry, ...] = Field(min_length=1)


class StatusMap:
    """A carrier's validated status map, indexed for fast lookup."""

    __slots__ = ("_index", "_shapes", "carrier", "entries", "path", "source")

    def __init__(self, carrier: str, source: str, entries: Sequence[MapEntry], path: Path | None = None):
        self.carrier = carrier
        self.source = source
        self.entries = tuple(entries)
        self.path = path
        self._index: dict[_Key, MapEntry] = {e.match.key: e for e in self.entries}
        shapes = {(bool(e.match.type), bool(e.match.code), bool(e.match.detail)) for e in self.entries}
        # Most specific shape first: the weights are powers of two, so the order is total.
        self._shapes: tuple[_Shape, ...] = tuple(
            sorted(shapes, key=lambda s: s[0] + 2 * s[1] + 4 * s[2], reverse=True)
        )

    def __repr__(self) -> str:
        return f"StatusMap(carrier={self.carrier!r}, entries={len(self.entries)})"

    def lookup(self, event: CarrierEvent) -> MapEntry | None:
        """The most specific entry matching the event, or None when the code is unmapped."""
        # CarrierEvent strips its strings on construction, so exact dict lookups suffice.
        # An empty event field yields the same key as the shape without that field, so
        # the first hit is always the most specific entry that really matches.
        kind, code, detail = event.code_type, event.code, event.detail_code
        index = self._index
        for has_kind, has_code, has_detail in self._shapes:
            key = (kind if has_kind else "", code if has_code else "", detail if has_detail else "")
            entry = index.get(key)
            if entry is not None:
                return entry
        return None


def load_map(path: str | Path) -> StatusMap:
    """Load and validate one carrier's status map.

    Raises: MappingError naming the file, the line and what is wrong.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read status map: {exc.strerror or exc}") from exc
    root, data = _parse_yaml(text, path)
    try:
        parsed = _MapFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}:{_line_of(root, err['loc'])}: {_describe(err)}" for err in exc.errors()]
        raise MappingError("\n".join(problems)) from None
    if parsed.carrier != path.stem:
        line = _line_of(root, ("carrier",))
        raise MappingError(
            f"{path}:{line}: carrier {parsed.carrier!r} does not match the file name {path.name!r}"
        )
    _check_unique_matches(parsed.codes, root, path)
    return StatusMap(parsed.carrier, parsed.source, parsed.codes, path)


def load_maps(directory: str | Path | None = None, required: Iterable[str] = ()) -> dict[str, StatusMap]:
    """Load every ``<slug>.yaml`` in the directory (default: the shipped maps), keyed by slug.

    Raises: MappingError when a map is invalid or a required carrier has no map.
    """
    folder = Path(directory) if directory is not None else MAPS_DIR
    missing = [slug for slug in required if not (folder / f"{slug}.yaml").is_file()]
    if missing:
        files = ", ".join(str(folder / f"{slug}.yaml") for slug in missing)
        raise MappingError(f"{files}: no status map for required carrier(s) {', '.join(missing)}")
    maps = (load_map(p) for p in sorted(folder.glob("*.yaml")))
    return {m.carrier: m for m in maps}


def _parse_yaml(text: str, path: Path) -> tuple[yaml.Node, Any]:
    """The node tree (for line numbers) and the plain data, from one parse."""
    loader = yaml.CSafeLoader(text) if yaml.__with_libyaml__ else yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise MappingError(f"{path}:1: the file is empty")
        _check_duplicate_keys(root, path)
        return root, loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise MappingError(f"{path}:{line}: not valid YAML: {exc.problem}") from exc
    finally:
        loader.dispose()


def _check_duplicate_keys(node: yaml.Node, path: Path) -> None:
    # PyYAML keeps the last of two equal keys silently; a map must not lose a line that way.
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise MappingError(
                        f"{path}:{line}: duplicate key {key.value!r} (first at line {seen[key.value]})"
                    )
                seen[key.value] = line
            _check_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, path)


def _check_unique_matches(entries: Sequence[MapEntry], root: yaml.Node, path: Path) -> None:
    first_line: dict[_Key, int] = {}
    for i, entry in enumerate(entries):
        line = _line_of(root, ("codes", i))
        key = entry.match.key
        if key in first_line:
            shown = entry.match.model_dump(exclude_defaults=True)
            raise MappingError(f"{path}:{line}: duplicate match {shown} (first at line {first_line[key]})")
        first_line[key] = line


def _line_of(root: yaml.Node, loc: Sequence[int | str]) -> int:
    """The 1-based line of the deepest node the error location reaches."""
    node = root
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _child(node: yaml.Node, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return value  # type: ignore[no-any-return]
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _describe(err: ErrorDetails) -> str:
    """What is wrong, in the words of the map's author rather than pydantic's."""
    loc = err["loc"]
    where = ".".join(str(p) for p in loc)
    name = loc[-1] if loc else "map"
    kind = err["type"]
    if kind == "enum":
        allowed = ", ".join(s.value for s in (Status if name == "status" else Reason))
        return f"unknown {name} {err['input']!r} (known: {allowed})"
    if kind == "extra_forbidden":
        return f"unknown key {name!r} at {where}"
    if kind == "missing":
        return f"missing key {name!r} at {where}"
    if kind == "string_type":
        return f"{where}: expected text, got {err['input']!r}; quote codes in YAML (\"001\")"
    message = err["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
