"""Dataclasses that read and write themselves as JSON-ready values (the benchmark's records).

A record's fields are its JSON keys, in order; nested records, ``dict[str, X]``, ``list[X]``,
``tuple[X, ...]`` and ``X | None`` are converted by the field's type, anything else is kept as
it is (no coercion: an int stays an int, so a results file is written back byte for byte). A
field made with ``optional()`` is left out of the JSON while it holds its default (a scenario
that did not run, a figure only some runs have); every other field is always written. Keys a
record does not know are ignored, and missing ones take the field's default, so older results
files still load.

An empty record (every field at its default) is false, like the empty dict it replaces: ``if
run.switching:`` asks whether the scenario ran.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any, TypeVar, Union

R = TypeVar("R", bound="Record")
_OMIT = "omit_when_default"


def optional(default: Any = None, *, factory: Any = None) -> Any:
    """A field left out of the JSON while it holds its default (``factory()`` when given)."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={_OMIT: True})
    return dataclasses.field(default=default, metadata={_OMIT: True})


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def _load(hint: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as the type ``hint`` describes."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _load(inner[0], value) if len(inner) == 1 else value
    if origin is dict:
        return {key: _load(args[1], item) for key, item in value.items()}
    if origin is list:
        return [_load(args[0], item) for item in value]
    if origin is tuple:
        return tuple(_load(args[0], item) for item in value)
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_json(value)
    return value


def _dump(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    return value


class Record:
    """The base of every benchmark record (each a ``@dataclass``): ``from_json``, ``to_json``, emptiness.

    Not a dataclass itself, so that frozen and mutable records can both derive from it.
    """

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any]) -> R:
        hints = _hints(cls)
        known = [f.name for f in dataclasses.fields(cls) if f.init]
        return cls(**{name: _load(hints[name], data[name]) for name in known if name in data})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get(_OMIT) and value == _default(f):
                continue
            out[f.name] = _dump(value)
        return out

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) != _default(f) for f in dataclasses.fields(self))
