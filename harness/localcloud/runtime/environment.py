"""One Lambda execution environment: a container of the function's image, with the RIE on :8080.

The container is confined like Lambda's sandbox: memory limit = memory_size, read-only root,
``/tmp`` a tmpfs sized by ephemeral_storage, a non-root user (Lambda's uid 993, or the EFS access
point's POSIX user), no capabilities, 1024 processes and open files, and only the project's
internal network, where the one reachable address is the gateway. Requests go through the RIE
that the image's entrypoint starts when ``AWS_LAMBDA_RUNTIME_API`` is unset.

An environment serves one request at a time; the pool in ``runtime.py`` guarantees that.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import time
import uuid
from datetime import UTC, datetime

import docker

from harness.localcloud.docker.containers import Bind, Container, ContainerSpec
from harness.localcloud.docker.exceptions import (
    ContainerFailedError,
    EngineUnavailableError,
    ImageMissingError,
)
from harness.localcloud.docker.images import ImagePuller
from harness.localcloud.errors import EnvironmentStartError, ImageNotAvailableError
from harness.localcloud.runtime.envlog import EnvLog
from harness.localcloud.runtime.options import RuntimeOptions
from harness.localcloud.runtime.platformlog import PlatformLog
from harness.localcloud.runtime.result import InvokeResult, error_payload
from harness.localcloud.runtime.spec import FunctionSpec
from harness.localcloud.telemetry import lambda_log_group

log = logging.getLogger(__name__)

RIE_PORT = 8080
RIE_PATH = "/2015-03-31/functions/function/invocations"
# The RIE listens ~0.3 s after the container starts; polling its port every 50 ms cost every cold
# start 25 ms on average. A refused connect costs microseconds; a Docker inspect does not.
PORT_POLL_SECONDS = 0.01
STATE_CHECK_SECONDS = 0.25
MAX_RESPONSE_BYTES = 6_291_556  # Lambda's synchronous response limit
_RIE_TIMEOUT = re.compile(rb"^Task timed out after [0-9.]+ seconds$")
_ERROR_KEYS = {"errorType", "errorMessage", "stackTrace", "requestId", "cause"}
LABEL_FUNCTION = "lambda-inference.function"
LABEL_ENV = "lambda-inference.environment"
LABEL_CONFIG = "lambda-inference.config"

STARTING, BUSY, IDLE, DEAD = "starting", "busy", "idle", "dead"


class ExecutionEnvironment:
    """A container plus its bookkeeping (state, last use, invocation count, log stream).

    Its id is 32 hex digits, as in the log stream names Lambda gives its environments.
    """

    def __init__(
        self, spec: FunctionSpec, options: RuntimeOptions, client: docker.DockerClient, puller: ImagePuller
    ) -> None:
        self.id = uuid.uuid4().hex
        self.spec = spec
        self.config_hash = spec.config_hash
        self.state = STARTING
        self.invocations = 0
        self.last_used = time.monotonic()
        self.created = time.time()
        self.address: str | None = None
        self._options = options
        self._client = client
        self._puller = puller
        self._container: Container | None = None
        self._rie: http.client.HTTPConnection | None = None
        self._log_thread = None
        self.log = EnvLog(options.logs_dir / spec.name / f"{self.id}.log", options.log_max_bytes)
        self.platform = PlatformLog(
            spec.name, self.log_stream_name, spec.memory_mb, self.log, options.telemetry, self._memory_peak
        )

    @property
    def container_name(self) -> str:
        return f"lambda-inference-{self._options.instance}-{self.spec.name}-{self.id}"[:128]

    @property
    def log_stream_name(self) -> str:
        return f"{datetime.fromtimestamp(self.created, UTC):%Y/%m/%d}/[$LATEST]{self.id}"

    def environment_variables(self) -> dict[str, str]:
        """The function's own variables, then Lambda's reserved ones (which a function cannot override)."""
        spec, options = self.spec, self._options
        env: dict[str, str] = {}
        if options.endpoint_url:
            env["AWS_ENDPOINT_URL"] = options.endpoint_url
        env.update(dict(spec.environment))
        env.update(options.credentials)
        env.update(
            AWS_REGION=options.region,
            AWS_DEFAULT_REGION=options.region,
            AWS_EXECUTION_ENV="AWS_Lambda_Image",
            AWS_LAMBDA_FUNCTION_NAME=spec.name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory_mb),
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_FUNCTION_TIMEOUT=str(spec.timeout_s),
            AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
            AWS_LAMBDA_LOG_GROUP_NAME=lambda_log_group(spec.name),
            AWS_LAMBDA_LOG_STREAM_NAME=self.log_stream_name,
            LAMBDA_TASK_ROOT="/var/task",
            LAMBDA_RUNTIME_DIR="/var/runtime",
            TZ=":UTC",
        )
        if spec.command:
            env["_HANDLER"] = spec.command[0]
        env.pop("AWS_LAMBDA_RUNTIME_API", None)  # its absence makes the entrypoint start the RIE
        return env

    def container_spec(self) -> ContainerSpec:
        spec, options = self.spec, self._options
        return ContainerSpec(
            name=self.container_name,
            image=spec.image,
            network=options.network,
            command=spec.command or None,
            entrypoint=spec.entry_point or None,
            working_dir=spec.working_directory or None,
            environment=self.environment_variables(),
            user=spec.user,
            memory_mb=spec.memory_mb,
            read_only=True,
            tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={spec.ephemeral_mb}m,mode=1777"},
            binds=[Bind(m.source, m.target, m.read_only) for m in spec.mounts],
            labels={
                **options.labels,
                LABEL_FUNCTION: spec.name,
                LABEL_ENV: self.id,
                LABEL_CONFIG: self.config_hash,
            },
            # DNS only to the gateway address (nothing answers there): no query leaves the network.
            dns=[options.gateway_ip] if options.gateway_ip else (),
            pids_limit=1024,
            nofile=1024,
        )

    def start(self) -> float:
        """Pull if needed, run the container, wait for the RIE port; return seconds taken."""
        started = time.monotonic()
        try:
            self._puller.ensure(self.spec.image)
        except ImageMissingError as exc:
            self.log.note(f"cannot start: {exc}")
            raise ImageNotAvailableError(f"function {self.spec.name}: {exc}") from exc
        except EngineUnavailableError as exc:
            raise EnvironmentStartError(str(exc)) from exc
        try:
            self._container = Container.run(self._client, self.container_spec())
        except ContainerFailedError as exc:
            self._puller.forget(self.spec.image)
            self.log.note(f"cannot start: {exc}")
            raise EnvironmentStartError(f"function {self.spec.name}: {exc}") from exc
        except EngineUnavailableError as exc:
            raise EnvironmentStartError(str(exc)) from exc
        self._log_thread = self._container.follow_logs(self.platform.write)
        self._wait_ready(started)
        return time.monotonic() - started

    def _wait_ready(self, started: float) -> None:
        """Poll the RIE's port often (every cold start waits for it) and ask Docker whether the
        container died only now and then (each ask is an API round trip to the engine)."""
        assert self._container is not None
        deadline = started + self._options.start_timeout
        next_state_check = started
        while time.monotonic() < deadline:
            if self.address is None:
                self.address = self._container.ip_address(self._options.network)
            if self.address and _port_open(self.address, RIE_PORT):
                return
            if time.monotonic() >= next_state_check:
                next_state_check = time.monotonic() + STATE_CHECK_SECONDS
                state = self._container.state()
                if state and not state.get("Running"):
                    raise EnvironmentStartError(
                        f"function {self.spec.name}: container exited at start (exit code "
                        f"{state.get('ExitCode')}); its output:\n{self.log.tail()}"
                    )
            time.sleep(PORT_POLL_SECONDS)
        raise EnvironmentStartError(
            f"function {self.spec.name}: the runtime in {self.container_name} did not listen on :{RIE_PORT} "
            f"within {self._options.start_timeout:.0f} s; raise LOCALCLOUD_START_TIMEOUT if the machine "
            "is slow"
        )

    def invoke(
        self, payload: bytes, request_id: str, cold: bool, keep_tail: bool = False
    ) -> tuple[InvokeResult, bool]:
        """Send one event to the RIE; return the result and whether the environment is now unusable.

        ``keep_tail``: collect the invocation's log lines for ``platform.tail`` (LogType=Tail)."""
        assert self.address is not None
        started = time.monotonic()
        self.log.note(f"invoke {request_id} ({'cold' if cold else 'warm'}, environment {self.id})")
        self.platform.expect(request_id, keep_tail)
        # The RIE enforces the function timeout itself; this is the backstop if it hangs. A cold
        # invoke also runs the runtime's init, which Lambda does not count against the timeout.
        backstop = self.spec.timeout_s + 3 + (max(10, self.spec.timeout_s) if cold else 0)
        connection = self._rie_connection(backstop)
        try:
            connection.request("POST", RIE_PATH, body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            status, body = response.status, response.read()
            if response.will_close:
                self._close_rie_connection()
        except TimeoutError:
            status, body = None, None
            self._close_rie_connection()
        except (OSError, http.client.HTTPException) as exc:
            log.info("environment %s of %s: connection failed: %s", self.id, self.spec.name, exc)
            status, body = -1, None
            self._close_rie_connection()
        payload_out, function_error, broken = self._interpret(status, body, request_id)
        duration_ms = (time.monotonic() - started) * 1000
        result = InvokeResult(
            payload_out, function_error, request_id, self.spec.name, self.id, cold, duration_ms
        )
        if function_error:
            self.log.note(f"invoke {request_id} failed: {payload_out.decode(errors='replace')[:500]}")
        return result, broken

    def _rie_connection(self, timeout: float) -> http.client.HTTPConnection:
        """The keep-alive connection to this environment's RIE (one request at a time, so one is enough).

        A new TCP connection per request cost a connect and a close on every warm invoke; the
        benchmark's warm overhead counts that. A timed-out or failed request drops the connection.
        """
        assert self.address is not None
        if self._rie is None:
            self._rie = http.client.HTTPConnection(self.address, RIE_PORT, timeout=timeout)
        self._rie.timeout = timeout
        if self._rie.sock is not None:
            self._rie.sock.settimeout(timeout)
        return self._rie

    def _close_rie_connection(self) -> None:
        if self._rie is not None:
            self._rie.close()
            self._rie = None

    def _interpret(
        self, status: int | None, body: bytes | None, request_id: str
    ) -> tuple[bytes, str | None, bool]:
        timeout_message = (
            f"RequestId: {request_id} Error: Task timed out after {self.spec.timeout_s:.2f} seconds"
        )
        if status is None or (status == 200 and body is not None and _RIE_TIMEOUT.match(body.strip())):
            return error_payload("Sandbox.Timedout", timeout_message), "Unhandled", True
        if status == -1 or body is None:
            return self._died(request_id), "Unhandled", True
        if status != 200:
            if _is_error_object(body):
                return body, "Unhandled", True
            return (
                error_payload(
                    "Runtime.Unknown",
                    f"RequestId: {request_id} Error: runtime answered "
                    f"HTTP {status}: {body[:200].decode(errors='replace')}",
                ),
                "Unhandled",
                True,
            )
        if len(body) > MAX_RESPONSE_BYTES:
            return (
                error_payload(
                    "Function.ResponseSizeTooLarge",
                    "Response payload size exceeded maximum allowed payload size "
                    f"({MAX_RESPONSE_BYTES} bytes).",
                ),
                "Unhandled",
                False,
            )
        if _is_error_object(body):
            return body, "Unhandled", False
        return body, None, False

    def _died(self, request_id: str) -> bytes:
        """The container went away mid-request: say how, as Lambda would."""
        state = self._container.state() if self._container else {}
        if state.get("OOMKilled"):
            return error_payload(
                "Runtime.OutOfMemory",
                f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
            )
        code = state.get("ExitCode")
        detail = f"exit status {code}" if code is not None else "the execution environment disappeared"
        return error_payload(
            "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {detail}"
        )

    def destroy(self, reason: str) -> None:
        """Kill the container, let the log pump drain, remove it, close the log stream."""
        self.state = DEAD
        self._close_rie_connection()
        if self._container is not None:
            self._container.kill()
            if self._log_thread is not None:
                self._log_thread.join(timeout=3)
            self.platform.flush()
            self._container.remove()
        self.log.note(f"environment {self.id} ended: {reason} ({self.invocations} invocation(s))")
        self.log.close()

    def _memory_peak(self) -> int | None:
        return self._container.memory_peak_bytes() if self._container is not None else None

    def describe(self) -> dict[str, object]:
        return {
            "function": self.spec.name,
            "environment": self.id,
            "state": self.state,
            "config": self.config_hash,
            "container": self.container_name,
            "address": self.address,
            "invocations": self.invocations,
            "idle_seconds": round(time.monotonic() - self.last_used, 1) if self.state == IDLE else 0,
            "log": str(self.log.path),
        }


def _is_error_object(body: bytes) -> bool:
    """The RIE returns a function error as 200 + ``{"errorType", "errorMessage", ...}`` and no header.

    Every reply passes here and the API gateway parses it again, so a reply without both keys in
    its bytes is not parsed at all (the runtime client writes them plainly, never \\u-escaped).
    """
    if b'"errorType"' not in body or b'"errorMessage"' not in body:
        return False
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(value, dict)
        and "errorMessage" in value
        and "errorType" in value
        and set(value) <= _ERROR_KEYS
    )


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False
