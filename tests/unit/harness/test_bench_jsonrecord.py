"""Records that read and write themselves as JSON: nesting, optional fields, key order, emptiness."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from harness.bench.jsonrecord import Record, optional


@dataclass
class _Inner(Record):
    p50: float | None = optional()
    n: int = 0


@dataclass
class _Outer(Record):
    name: str = ""
    by_model: dict[str, _Inner] = field(default_factory=dict)
    series: list[_Inner] = field(default_factory=list)
    ids: tuple[str, ...] = ()
    maybe: _Inner | None = None
    extra: _Inner = optional(factory=_Inner)
    raw: dict[str, object] = field(default_factory=dict)


def test_a_record_round_trips_its_json_in_key_order_and_without_coercion() -> None:
    data = {
        "name": "x",
        "by_model": {"nlp1": {"p50": 1.5, "n": 2}},
        "series": [{"n": 0}],
        "ids": ["a", "b"],
        "maybe": None,
        "raw": {"kept": [1, {"as": "is"}]},
    }
    record = _Outer.from_json(data)
    assert record.by_model["nlp1"] == _Inner(1.5, 2) and record.series == [_Inner(None, 0)]
    assert record.ids == ("a", "b") and record.extra == _Inner()
    assert json.dumps(record.to_json()) == json.dumps(data)  # optional fields at their default: left out
    assert isinstance(_Inner.from_json({"n": 3, "p50": 7}).p50, int)  # no coercion


def test_unknown_keys_are_ignored_and_missing_ones_take_defaults() -> None:
    record = _Outer.from_json({"name": "y", "from_a_newer_version": 1})
    assert record == _Outer(name="y")
    written = {"name": "y", "by_model": {}, "series": [], "ids": [], "maybe": None, "raw": {}}
    assert record.to_json() == written


def test_an_empty_record_is_false() -> None:
    assert not _Inner() and not _Outer()
    assert _Inner(n=1) and _Outer(extra=_Inner(p50=0.0))
