"""An environment's output as Lambda logs it: START, the function's lines, END, REPORT.

The RIE prints its own START/END/REPORT lines, but with a request id of its own, a made-up
"Init Duration" and a cold "Duration" that includes the init. Its debug lines (``(rapid) ...``,
which Lambda never shows) carry the real figures: ``INIT REPORT(durationMs: ...)`` and, per
invocation, ``INVOKE RTDONE(... duration: ...ms)``. This module rewrites the platform lines with
the invocation's request id (the one the Invoke API and API Gateway return), those durations, the
function's memory size and the container's peak memory, and sends every line but the RIE's debug
lines to the telemetry sink (CloudWatch Logs). The local stream file gets everything.

It runs on the container's log pump thread, never on the request path. The RIE writes its debug
lines on stderr and the rest on stdout, which Docker may interleave; within stdout the order holds,
so the n-th START is the n-th invocation the runtime announced with ``expect``. Docker's log API
does not say which stream a chunk came from, so a line is whatever ends with a newline: a
function that writes half a line while the RIE logs would see the two merged (print never does).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.localcloud.runtime.envlog import EnvLog
from harness.localcloud.telemetry import LogLine, Telemetry, lambda_log_group

TAIL_BYTES = 4096  # what Invoke's LogType=Tail returns, as in Lambda
_KEPT_INVOCATIONS = 4  # tails kept for callers that have not collected theirs yet
_START = re.compile(r"^START RequestId: (?P<id>[0-9a-f-]+) Version: (?P<version>\S+)")
_END = re.compile(r"^END RequestId: (?P<id>[0-9a-f-]+)")
# "Duration" right after a tab: not the RIE's "Init Duration" (before it) or "Billed Duration".
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>[0-9a-f-]+)\t(?:.*\t)?Duration: (?P<duration>[0-9.]+) ms")
_RIE_DEBUG = re.compile(r"^\d{2} \w{3} \d{4} [0-9:,]+ \[\w+\] \(rapid\) (?P<text>.*)$")
_INIT_REPORT = re.compile(r"^INIT REPORT\(durationMs: (?P<ms>[0-9.]+)\)")
_INVOKE_START = re.compile(r"^INVOKE START\(requestId: (?P<id>[0-9a-f-]+)\)")
_INVOKE_DONE = re.compile(r"^INVOKE RTDONE\(.*duration: (?P<ms>[0-9.]+)ms\)")


def report_line(
    request_id: str, duration_ms: float, memory_mb: int, max_memory_mb: int, init_ms: float | None
) -> str:
    """Lambda's REPORT line. Container-image functions are billed for their init too."""
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms"
        f"\tMemory Size: {memory_mb} MB\tMax Memory Used: {max_memory_mb} MB"
    )
    return line + (f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else "")


@dataclass
class _InvocationLog:
    tail: bytearray = field(default_factory=bytearray)
    done: threading.Event = field(default_factory=threading.Event)


class PlatformLog:
    """The sink of one environment's output (``write``), told each request id first (``expect``)."""

    def __init__(
        self,
        function: str,
        stream: str,
        memory_mb: int,
        file: EnvLog,
        telemetry: Telemetry,
        memory_peak_bytes: Callable[[], int | None],
    ) -> None:
        self.group = lambda_log_group(function)
        self.stream = stream
        self._memory_mb = memory_mb
        self._file = file
        self._telemetry = telemetry
        self._memory_peak_bytes = memory_peak_bytes
        self._lock = threading.Lock()
        self._pending: deque[str] = deque()
        self._logs: OrderedDict[str, _InvocationLog] = OrderedDict()
        self._partial = b""
        self._ids: dict[str, str] = {}  # RIE's request id -> ours, for the running invocation
        self._current: tuple[str, str] | None = None  # (RIE's id, ours) between START and REPORT
        self._init_ms: float | None = None
        self._reports = 0
        self._rie_invoke: str | None = None
        self._durations: dict[str, float] = {}

    # ---- the request side ----

    def expect(self, request_id: str, keep_tail: bool = False) -> None:
        """Announce the next invocation (before it is sent), so its START gets this id.

        ``keep_tail`` collects its lines for ``tail``; only then (an Event per invocation cost
        every warm invoke microseconds for a tail nobody asked for).
        """
        with self._lock:
            self._pending.append(request_id)
            if keep_tail:
                self._logs[request_id] = _InvocationLog()
                while len(self._logs) > _KEPT_INVOCATIONS:
                    self._logs.popitem(last=False)

    def tail(self, request_id: str, timeout: float) -> bytes:
        """The last 4 KB of the invocation's log (announced with ``keep_tail``), once its REPORT
        is out or ``timeout`` passed."""
        with self._lock:
            record = self._logs.get(request_id)
        if record is None:
            return b""
        record.done.wait(timeout)
        with self._lock:
            self._logs.pop(request_id, None)
            return bytes(record.tail[-TAIL_BYTES:])

    # ---- the log pump side ----

    def write(self, chunk: bytes) -> None:
        """Take a chunk of output: its whole lines go out now (to the file in one write)."""
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if lines:
            self._file.write(b"".join(self._line(raw.decode(errors="replace")) for raw in lines))

    def flush(self) -> None:
        """The container ended: a last line without a newline still counts."""
        if self._partial:
            partial, self._partial = self._partial, b""
            self._file.write(self._line(partial.decode(errors="replace")))

    def _line(self, text: str) -> bytes:
        """Handle one line; return what the stream file gets for it."""
        debug = _RIE_DEBUG.match(text)
        if debug:
            self._rie_debug(debug.group("text"))
        else:
            text = self._platform(text)
            self._telemetry.emit(LogLine(self.group, self.stream, int(time.time() * 1000), text))
        return f"{text}\n".encode()

    def _rie_debug(self, text: str) -> None:
        if match := _INIT_REPORT.match(text):
            self._init_ms = float(match.group("ms"))
        elif match := _INVOKE_START.match(text):
            self._rie_invoke = match.group("id")
        elif (match := _INVOKE_DONE.match(text)) and self._rie_invoke:
            if len(self._durations) > _KEPT_INVOCATIONS:  # figures whose REPORT went out without them
                self._durations.clear()
            self._durations[self._rie_invoke] = float(match.group("ms"))
            self._rie_invoke = None

    def _platform(self, text: str) -> str:
        """Rewrite a platform line (or the RIE's id inside a function's line); track the invocation."""
        if match := _START.match(text):
            rie_id = match.group("id")
            with self._lock:
                ours = self._pending.popleft() if self._pending else rie_id
            self._current = (rie_id, ours)
            text = f"START RequestId: {ours} Version: {match.group('version')}"
        elif self._current is None:
            return text
        rie_id, ours = self._current
        if (match := _END.match(text)) and match.group("id") == rie_id:
            text = f"END RequestId: {ours}"
        elif (match := _REPORT.match(text)) and match.group("id") == rie_id:
            text = self._report(rie_id, ours, float(match.group("duration")))
        elif rie_id in text:
            text = text.replace(rie_id, ours)
        self._append(ours, text)
        if text.startswith("REPORT RequestId: "):
            self._finish(ours)
        return text

    def _report(self, rie_id: str, ours: str, rie_duration_ms: float) -> str:
        cold = self._reports == 0
        self._reports += 1
        duration = self._durations.pop(rie_id, None)
        init_ms = None
        if cold:  # the RIE's total covers init + invocation; split it if the debug lines lag
            init_ms = self._init_ms if self._init_ms is not None else rie_duration_ms - (duration or 0.0)
            init_ms = max(init_ms, 0.0)
        if duration is None:  # its debug line has not arrived: the RIE's figure, init taken out
            duration = max(rie_duration_ms - (init_ms or 0.0), 0.0)
        peak = self._memory_peak_bytes()
        max_memory_mb = math.ceil(peak / 2**20) if peak else self._memory_mb
        return report_line(ours, duration, self._memory_mb, min(max_memory_mb, self._memory_mb), init_ms)

    def _append(self, request_id: str, text: str) -> None:
        if not self._logs:
            return
        with self._lock:
            record = self._logs.get(request_id)
            if record is None:
                return
            record.tail += f"{text}\n".encode()
            if len(record.tail) > 2 * TAIL_BYTES:
                del record.tail[:-TAIL_BYTES]

    def _finish(self, request_id: str) -> None:
        self._current = None
        with self._lock:
            record = self._logs.get(request_id)
        if record is not None:
            record.done.set()
