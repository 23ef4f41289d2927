"""The Lambda runtime: environments per function, reused like Lambda reuses them.

- Warm reuse: an idle environment of the function's current configuration serves the next
  request; a busy one never gets a second concurrent request.
- Scale-out: with no idle environment a new one starts (cold), while the function's busy
  environments stay under its reserved concurrency, or, for unreserved functions, while all of
  them together stay under the instance's cap (``LOCALCLOUD_MAX_CONCURRENCY``); beyond that,
  ``TooManyRequestsException`` (429), as Lambda throttles.
- Redeploys: the pool is keyed by the configuration hash. When it changes, idle environments of
  the old configuration are stopped at once and busy ones when their request ends (drained).
- Faults: a timeout, a runtime that exited (OOM, crash) or a vanished container ends the
  environment after the request; the next request gets a fresh one.
- Idle environments are reaped after ``idle_seconds``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping

import docker

from harness.docker_engine import engine_client
from harness.localcloud.docker.exceptions import EngineUnavailableError
from harness.localcloud.docker.images import ImagePuller
from harness.localcloud.errors import EnvironmentStartError, LambdaServiceError, TooManyRequestsError
from harness.localcloud.runtime.environment import BUSY, DEAD, IDLE, STARTING, ExecutionEnvironment
from harness.localcloud.runtime.options import RuntimeOptions
from harness.localcloud.runtime.result import InvokeResult
from harness.localcloud.runtime.spec import FunctionSpec
from harness.localcloud.telemetry import FAILED, INVOKED, THROTTLED, Invocation

log = logging.getLogger(__name__)

ASYNC_RETRY_SECONDS = 300.0
# LogType=Tail waits for the invocation's REPORT line to come through the log pump (milliseconds
# after the reply); a runtime that died never writes one, so the wait is bounded.
TAIL_WAIT_SECONDS = 2.0


class LambdaRuntime:
    def __init__(self, options: RuntimeOptions, client: docker.DockerClient | None = None) -> None:
        self.options = options
        self._client = client
        self._puller: ImagePuller | None = None
        self._lock = threading.Lock()
        self._envs: dict[str, list[ExecutionEnvironment]] = {}
        self._current: dict[str, str] = {}  # function -> config hash new requests must get
        # The functions the last deployment's state named: an environment started from moto's
        # copy (the seeder, invoked by the apply before the state was written) is still drained
        # when the next state no longer names its function.
        self._state_functions: frozenset[str] = frozenset()
        self._reserved: dict[str, int | None] = {}
        self._closed = threading.Event()
        self._workers: set[threading.Thread] = set()
        self._reaper = threading.Thread(target=self._reap_loop, name="reaper", daemon=True)
        self._reaper.start()

    # ---- invoking ----

    def invoke(
        self, spec: FunctionSpec, payload: bytes, request_id: str | None = None, log_tail: bool = False
    ) -> InvokeResult:
        """Run one synchronous invocation; raises ``LambdaServiceError`` for service-side failures.

        With ``log_tail`` the result carries the last 4 KB of the invocation's log (Invoke's
        ``LogType=Tail``); that wait comes after the environment is released.
        """
        request_id = request_id or str(uuid.uuid4())
        try:
            env, cold, concurrent = self._acquire(spec)
        except TooManyRequestsError:
            self._report(spec.name, THROTTLED, 0)
            raise
        if cold:
            try:
                seconds = env.start()
            except Exception as exc:
                log.warning("%s: cold start of environment %s failed: %s", spec.name, env.id, exc)
                self._release(env, broken=True, reason=f"start failed: {exc}")
                if isinstance(exc, LambdaServiceError):
                    raise
                raise EnvironmentStartError(f"function {spec.name}: {exc}") from exc
            with self._lock:
                if env.state == STARTING:
                    env.state = BUSY
            log.info("%s: cold start of environment %s in %.2f s", spec.name, env.id, seconds)
            env.log.note(f"cold start in {seconds:.2f} s (container {env.container_name})")
        try:
            result, broken = env.invoke(payload, request_id, cold, log_tail)
        except Exception as exc:  # the engine failed us mid-request: never leave the environment busy
            self._release(env, broken=True, reason=f"invoke failed: {exc}")
            raise EnvironmentStartError(f"function {spec.name}: {exc}") from exc
        log.info(
            "%s: %s invoke %s on environment %s: %s in %.0f ms",
            spec.name,
            "cold" if cold else "warm",
            request_id,
            env.id,
            f"error {result.error_type}" if result.function_error else "ok",
            result.duration_ms,
        )
        reason = f"invocation failed ({result.error_type})" if broken else ""
        self._release(env, broken=broken, reason=reason)
        self._report(spec.name, FAILED if result.function_error else INVOKED, concurrent)
        if log_tail:
            result = dataclasses.replace(result, log_tail=env.platform.tail(request_id, TAIL_WAIT_SECONDS))
        return result

    def _report(self, function: str, outcome: str, concurrent: int) -> None:
        self.options.telemetry.emit(Invocation(function, int(time.time() * 1000), outcome, concurrent))

    def invoke_async(self, spec: FunctionSpec, payload: bytes, request_id: str) -> None:
        """An ``Event`` invocation: queued, retried while throttled (for up to 5 min), result logged."""

        def run() -> None:
            deadline = time.monotonic() + ASYNC_RETRY_SECONDS
            delay = 0.5
            while not self._closed.is_set():
                try:
                    result = self.invoke(spec, payload, request_id)
                except TooManyRequestsError:
                    if time.monotonic() > deadline:
                        log.error(
                            "%s: async invoke %s dropped: throttled for %.0f s",
                            spec.name,
                            request_id,
                            ASYNC_RETRY_SECONDS,
                        )
                        return
                    self._closed.wait(delay)
                    delay = min(delay * 2, 10.0)
                    continue
                except LambdaServiceError as exc:
                    log.error("%s: async invoke %s failed: %s", spec.name, request_id, exc)
                    return
                if result.function_error:
                    log.warning("%s: async invoke %s ended with %s", spec.name, request_id, result.error_type)
                return

        self._spawn(run, f"event-{request_id[:8]}")

    # ---- pool bookkeeping ----

    def _acquire(self, spec: FunctionSpec) -> tuple[ExecutionEnvironment, bool, int]:
        """An environment for one request, whether it is new, and how many of the function's are busy."""
        if self._closed.is_set():
            raise EnvironmentStartError("the local cloud is shutting down")
        wanted = spec.config_hash
        stale: list[ExecutionEnvironment] = []
        with self._lock:
            self._current[spec.name] = wanted
            self._reserved[spec.name] = spec.reserved_concurrency
            envs = self._envs.setdefault(spec.name, [])
            for env in [e for e in envs if e.state == IDLE and e.config_hash != wanted]:
                envs.remove(env)
                stale.append(env)
            self._check_capacity(spec, envs)
            idle = [e for e in envs if e.state == IDLE]
            if idle:
                env = max(idle, key=lambda e: e.last_used)  # the most recent: lets the others go idle
                env.state = BUSY
                cold = False
            else:
                env = ExecutionEnvironment(spec, self.options, self._docker(), self._image_puller())
                env.state = STARTING
                envs.append(env)
                cold = True
            concurrent = sum(1 for e in envs if e.state in (BUSY, STARTING))
        self._destroy_later(stale, "configuration changed (drained)")
        return env, cold, concurrent

    def _check_capacity(self, spec: FunctionSpec, envs: list[ExecutionEnvironment]) -> None:
        """Raise ``TooManyRequestsError`` when one more busy environment would exceed the limit."""
        busy = sum(1 for e in envs if e.state in (BUSY, STARTING))
        if spec.reserved_concurrency is not None:
            if busy >= spec.reserved_concurrency:
                raise TooManyRequestsError(
                    f"{spec.name}: reserved concurrency {spec.reserved_concurrency} in use",
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                )
            return
        total = sum(
            1
            for name, pool in self._envs.items()
            if self._reserved.get(name) is None
            for e in pool
            if e.state in (BUSY, STARTING)
        )
        if total >= self.options.max_concurrency:
            raise TooManyRequestsError(
                f"{spec.name}: {total} unreserved environments busy (LOCALCLOUD_MAX_CONCURRENCY="
                f"{self.options.max_concurrency})",
                "ConcurrentInvocationLimitExceeded",
            )

    def _release(self, env: ExecutionEnvironment, broken: bool, reason: str = "") -> None:
        with self._lock:
            if env.state == DEAD:
                return  # already being destroyed (shutdown)
            env.last_used = time.monotonic()
            if env.state == BUSY:
                env.invocations += 1
            outdated = self._current.get(env.spec.name) != env.config_hash
            if broken or outdated or self._closed.is_set():
                pool = self._envs.get(env.spec.name, [])
                if env in pool:
                    pool.remove(env)
                drop = True
                reason = reason or ("configuration changed (drained)" if outdated else "shutting down")
            else:
                env.state = IDLE
                drop = False
        if drop:
            self._destroy_later([env], reason)

    def retain(self, current: Mapping[str, str]) -> None:
        """React to a new deployment: ``current`` maps each deployed function to its config hash.

        Functions that left the Terraform state, or whose configuration changed, lose their idle
        environments now and their busy ones after the running request.
        """
        stale: list[ExecutionEnvironment] = []
        with self._lock:
            previous, self._state_functions = self._state_functions, frozenset(current)
            for name, envs in self._envs.items():
                from_state = any(e.spec.source == "terraform-state" for e in envs)
                if name in current:
                    self._current[name] = current[name]
                elif from_state or name in previous:
                    self._current[name] = ""
                else:
                    continue
                for env in [e for e in envs if e.state == IDLE and e.config_hash != self._current[name]]:
                    envs.remove(env)
                    stale.append(env)
        self._destroy_later(stale, "configuration changed or function removed (drained)")

    def reset(self, function_name: str) -> int:
        """Retire every environment of one function, so its next request starts cold.

        Idle environments go now; busy ones finish their request and are dropped on release
        (their configuration no longer matches). Returns how many environments were retired.
        """
        with self._lock:
            envs = self._envs.get(function_name, [])
            idle = [e for e in envs if e.state == IDLE]
            busy = [e for e in envs if e.state in (BUSY, STARTING)]
            for env in idle:
                envs.remove(env)
            for env in busy:
                env.config_hash = ""  # outdated: _release drops it
        self._destroy_later(idle, "reset (next request is cold)")
        return len(idle) + len(busy)

    # ---- reaping and shutdown ----

    def _reap_loop(self) -> None:
        period = max(0.2, min(5.0, self.options.idle_seconds / 4))
        while not self._closed.wait(period):
            now = time.monotonic()
            expired: list[ExecutionEnvironment] = []
            with self._lock:
                for envs in self._envs.values():
                    for env in [
                        e for e in envs if e.state == IDLE and now - e.last_used >= self.options.idle_seconds
                    ]:
                        envs.remove(env)
                        expired.append(env)
            for env in expired:
                log.info(
                    "%s: environment %s idle for %.0f s: reaped", env.spec.name, env.id, now - env.last_used
                )
            self._destroy_later(expired, f"idle for {self.options.idle_seconds:g} s (reaped)")

    def close(self, timeout: float = 30.0) -> None:
        """Stop every environment (busy ones too) and wait for their containers to be removed."""
        self._closed.set()
        with self._lock:
            everything = [env for envs in self._envs.values() for env in envs]
            self._envs.clear()
        self._destroy_later(everything, "local cloud stopped")
        deadline = time.monotonic() + timeout
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._client is not None:
            self._client.close()

    def environments(self) -> list[dict[str, object]]:
        with self._lock:
            return [env.describe() for envs in self._envs.values() for env in envs]

    # ---- helpers ----

    def _destroy_later(self, envs: Iterable[ExecutionEnvironment], reason: str) -> None:
        for env in envs:
            env.state = DEAD
            self._spawn(lambda env=env: env.destroy(reason), f"destroy-{env.id}")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        def run() -> None:
            try:
                target()
            except Exception:
                log.exception("background task %s failed", name)
            finally:
                with self._lock:
                    self._workers.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._workers.add(thread)
        thread.start()

    def _docker(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = engine_client()
            except EngineUnavailableError as exc:
                raise EnvironmentStartError(str(exc)) from exc
        return self._client

    def _image_puller(self) -> ImagePuller:
        if self._puller is None:
            self._puller = ImagePuller(self._docker())
        return self._puller
