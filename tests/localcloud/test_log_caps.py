"""The caps on the local cloud's log files, no Docker: an environment's stream rotates at its size,
a service's own log (stderr of a real child process, opened for appending as ``processes.start``
does) is copied and truncated in place, and the readers see both parts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.bench import adapters
from harness.localcloud.config import LOG_MAX_BYTES, Settings
from harness.localcloud.logstreams import logs
from harness.localcloud.runtime.envlog import EnvLog, rotated, stream_files
from harness.paths import REPO_ROOT

LINE = b"x" * 99 + b"\n"  # 100 bytes


def test_an_environment_stream_rotates_at_its_cap_and_keeps_one_backup(tmp_path: Path) -> None:
    path = tmp_path / "fn" / "env.log"
    log = EnvLog(path, max_bytes=1000)
    for index in range(35):
        log.write(f"{index:03d}".encode() + LINE[3:])
    log.close()
    # 35 lines of 100 bytes with a cap of 1,000: rotated after lines 10, 20 and 30
    assert path.stat().st_size == 500
    assert rotated(path).stat().st_size == 1000
    assert rotated(path).read_bytes().startswith(b"020")
    assert path.read_bytes().startswith(b"030")
    assert stream_files(path) == [rotated(path), path]


def test_a_chunk_larger_than_the_cap_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "env.log"
    log = EnvLog(path, max_bytes=150)
    log.write(LINE)
    log.write(LINE * 3)
    log.close()
    assert (rotated(path).stat().st_size, path.stat().st_size) == (100, 300)


def test_an_uncapped_stream_never_rotates(tmp_path: Path) -> None:
    path = tmp_path / "env.log"
    log = EnvLog(path)
    for _ in range(50):
        log.write(LINE)
    log.close()
    assert path.stat().st_size == 5000 and not rotated(path).exists()


def test_the_readers_see_a_rotated_stream(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    path = settings.logs_dir / "fn" / "e1.log"
    log = EnvLog(path, max_bytes=250)
    for index in range(5):  # 100 bytes each, a cap of 250: rotated before lines 2 and 4
        log.write(f"line {index}\n".encode() + LINE[7:])
    log.close()
    text = logs("fn", settings)
    assert [f"line {i}" in text for i in range(5)] == [False, False, True, True, True]
    assert text.index("line 3") < text.index("line 4")  # the backup first
    # the benchmark's offset reader: an offset past the rotated live file reads it from its start
    live = adapters.LogFile("e1", path, path.stat().st_size, 0.0)
    assert adapters.read_log(live, offset=10_000).startswith("line 4")


def test_the_default_cap_is_passed_to_the_local_cloud_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALCLOUD_LOG_MAX_BYTES", raising=False)
    assert Settings.from_env().log_max_bytes == LOG_MAX_BYTES
    monkeypatch.setenv("LOCALCLOUD_LOG_MAX_BYTES", "4096")
    settings = Settings.from_env()
    assert settings.log_max_bytes == 4096
    assert settings.child_env()["LOCALCLOUD_LOG_MAX_BYTES"] == "4096"


def test_a_service_log_is_copied_and_truncated_in_place(tmp_path: Path) -> None:
    log_path = tmp_path / "gateway.log"
    script = textwrap.dedent(
        """
        import logging, sys
        from harness.localcloud import logcap
        logcap.configure("INFO", 2000)
        for index in range(100):
            logging.getLogger("test").info("request %03d %s", index, "y" * 40)
        print("the last line, unformatted", file=sys.stderr)
        """
    )
    with log_path.open("ab") as stream:  # as processes.start opens it: appending
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        subprocess.run([sys.executable, "-c", script], stderr=stream, env=env, check=True, timeout=60)
    live, backup = log_path.read_bytes(), rotated(log_path).read_bytes()
    assert len(live) <= 2000 + 200 and 2000 < len(backup) <= 2000 + 200
    assert b"\0" not in live  # the writes after a truncation start at 0: no hole
    assert live.endswith(b"the last line, unformatted\n")
    assert b"request 099" in live and b"request 000" not in live + backup
