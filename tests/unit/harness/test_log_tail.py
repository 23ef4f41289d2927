"""``make logs FOLLOW=1 SINCE=...``: the cursor that prints each event once, and the durations."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import HarnessError
from harness.localcloud.cloudwatch.reader import TailCursor, event_order, since_ms, tail_line, tail_logs

STREAM = "2026/12/02/[$LATEST]" + "a" * 32


def _event(timestamp: int, event_id: str, message: str = "line") -> dict[str, Any]:
    return {"timestamp": timestamp, "eventId": event_id, "logStreamName": STREAM, "message": message + "\n"}


class _Group:
    """A log group that gains events between polls; answers FilterLogEvents as CloudWatch does
    (``startTime`` inclusive, oldest first, in pages)."""

    class exceptions:  # noqa: N801  # botocore's attribute name
        class ResourceNotFoundException(Exception):  # noqa: N818  # botocore's name
            pass

    def __init__(self, batches: list[list[dict[str, Any]]]) -> None:
        self.batches, self.events, self.starts = batches, [], []

    def get_paginator(self, name: str) -> _Group:
        assert name == "filter_log_events"
        return self

    def paginate(self, logGroupName: str, startTime: int | None = None) -> list[dict[str, Any]]:  # noqa: N803
        assert logGroupName == "/aws/lambda/fn"
        if self.batches:
            self.events += self.batches.pop(0)
        self.starts.append(startTime)
        chosen = [e for e in self.events if startTime is None or e["timestamp"] >= startTime]
        return [{"events": chosen[:2]}, {"events": chosen[2:]}]


def test_follow_prints_each_event_once_across_polls_sharing_a_millisecond() -> None:
    group = _Group(
        [
            [_event(1000, "a"), _event(1005, "b")],
            [_event(1005, "c"), _event(1007, "d")],  # c shares b's millisecond
            [],
            [_event(1007, "e"), _event(2000, "f")],
        ]
    )
    printed: list[str] = []
    polls = iter(range(3))
    count = tail_logs(
        group,
        "fn",
        start_ms=1001,
        follow=True,
        emit=printed.append,
        keep_going=lambda: next(polls, None) is not None,
        poll_seconds=0,
    )
    assert [line.rsplit(" ", 1)[-1] for line in printed] == ["line"] * 5 and count == 5
    assert group.starts == [1001, 1005, 1007, 1007]  # each poll from the newest timestamp printed
    assert printed[0] == f"1970-01-01T00:00:01.005000+00:00 {STREAM} line"  # 'a' is before --since


def test_cursor_without_a_start_takes_everything_once() -> None:
    cursor = TailCursor(None)
    assert [e["eventId"] for e in cursor.new([_event(5, "x"), _event(5, "y")])] == ["x", "y"]
    assert cursor.new([_event(5, "x"), _event(5, "y")]) == []
    assert [e["eventId"] for e in cursor.new([_event(5, "y"), _event(6, "z")])] == ["z"]


def test_a_missing_group_prints_nothing_until_it_exists() -> None:
    class Missing(_Group):
        def paginate(self, logGroupName: str, startTime: int | None = None) -> list[dict[str, Any]]:  # noqa: N803
            raise self.exceptions.ResourceNotFoundException()

    assert tail_logs(Missing([]), "fn", follow=False, emit=pytest.fail) == 0


@pytest.mark.parametrize(
    ("since", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1w", 604800)]
)
def test_since_durations_as_aws_logs_tail_takes_them(since: str, seconds: int) -> None:
    assert since_ms(since, now=1_000_000.0) == (1_000_000 - seconds) * 1000


@pytest.mark.parametrize("bad", ["", "10", "m", "1.5h", "10 minutes", "-5m"])
def test_a_bad_since_is_refused_with_the_forms_it_takes(bad: str) -> None:
    with pytest.raises(HarnessError, match="30s, 10m, 2h, 1d or 1w"):
        since_ms(bad)


def test_tail_line_is_timestamp_stream_message() -> None:
    assert tail_line(_event(1_764_662_400_123, "a", "REPORT RequestId: x")) == (
        f"2025-12-02T08:00:00.123000+00:00 {STREAM} REPORT RequestId: x"
    )


def test_events_of_one_millisecond_keep_the_order_they_were_put_past_a_digit() -> None:
    # moto's ids count up as decimal text: compared as text, "100" sorted before "99"
    events = [
        _event(7, "100", "END"),
        _event(7, "99", "START"),
        _event(6, "101", "earlier"),
        _event(7, "101"),
    ]
    assert [e["eventId"] for e in sorted(events, key=event_order)] == ["101", "99", "100", "101"]
