"""The gateway process: the one AWS endpoint of the local cloud (``python -m harness.localcloud.gateway``).

It listens on 127.0.0.1 (for the host) and on the function network's gateway address (for the
containers, whose ``AWS_ENDPOINT_URL`` points there), and serves, by path:
- ``/_aws/execute-api/<api-id>/...``: every deployed HTTP API (``apigw``),
- ``POST /2015-03-31/functions/<name>/invocations``: Lambda's Invoke API (``lambda_api``),
- ``/_localcloud/health``: what runs now (``up`` waits for it, ``status`` shows it),
- anything else: passed through to moto (``proxy``).
On SIGTERM it stops every execution environment before it exits, so no container outlives it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.docker_engine import engine_client
from harness.local_settings import ACCOUNT_ID, CREDENTIALS_ENV, HOST, REGION
from harness.localcloud import logcap, proxy
from harness.localcloud.apigw.accesslog import log_group_name
from harness.localcloud.apigw.authorizers import RouteAuthorizers
from harness.localcloud.apigw.service import MAX_REQUEST_BYTES, PREFIX, ApiGatewayService
from harness.localcloud.cloudwatch.shipper import LAMBDA_GROUP_PREFIX, CloudWatchShipper
from harness.localcloud.config import Settings
from harness.localcloud.deployed import Deployment, StateReader
from harness.localcloud.docker.containers import remove_labelled
from harness.localcloud.docker.exceptions import EngineUnavailableError
from harness.localcloud.efs import EfsStore
from harness.localcloud.httpmsg import HttpRequest, HttpResponse
from harness.localcloud.lambda_api import LambdaInvokeApi, is_invoke
from harness.localcloud.moto_lookup import moto_client
from harness.localcloud.runtime.options import RuntimeOptions
from harness.localcloud.runtime.result import InvokeResult
from harness.localcloud.runtime.runtime import LambdaRuntime
from harness.localcloud.specs import FunctionResolver

log = logging.getLogger("harness.localcloud.gateway")

HEALTH_PATH = "/_localcloud/health"
# DELETE here retires a function's environments: the benchmark's way to force a cold start.
ENVIRONMENTS_PATH = re.compile(r"^/_localcloud/functions/(?P<name>[A-Za-z0-9_-]+)/environments$")
WATCH_SECONDS = 2.0


class Gateway:
    """The wiring: state reader -> resolver -> runtime, and the three fronts on top."""

    def __init__(self, settings: Settings, gateway_ip: str | None) -> None:
        self.settings = settings
        self.gateway_ip = gateway_ip
        self.reader = StateReader(settings.terraform_local_dir)
        self.efs = EfsStore(settings.efs_dir)
        self.resolver = FunctionResolver(settings, self.reader, self.efs)
        self.cloudwatch = CloudWatchShipper(
            moto_client("logs", settings.moto_url),
            moto_client("cloudwatch", settings.moto_url),
            may_create_group=self._function_owns_group,
        ).start()
        self.runtime = LambdaRuntime(
            RuntimeOptions(
                network=settings.network_name,
                gateway_ip=gateway_ip,
                gateway_port=settings.port,
                logs_dir=settings.logs_dir,
                instance=settings.instance,
                labels=settings.labels,
                region=REGION,
                credentials=CREDENTIALS_ENV,
                max_concurrency=settings.max_concurrency,
                idle_seconds=settings.idle_seconds,
                start_timeout=settings.start_timeout,
                log_max_bytes=settings.log_max_bytes,
                telemetry=self.cloudwatch,
            )
        )
        self.apigw = ApiGatewayService(
            self.deployment,
            self._invoke_by_name,
            ACCOUNT_ID,
            RouteAuthorizers(ACCOUNT_ID, REGION, CREDENTIALS_ENV),
            self.cloudwatch,
        )
        self.lambda_api = LambdaInvokeApi(self.resolver.spec, self.runtime.invoke, self.runtime.invoke_async)
        self._generation_seen = -1
        self._change_lock = threading.Lock()
        self._stopped = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []

    def _function_owns_group(self, group: str) -> bool:
        """Whether a missing log group may be created: ``/aws/lambda/<name>`` of a deployed function
        (Lambda creates it on the first write) or a deployed stage's access-log group; never a
        destroyed stack's (its last lines would re-create it and fail the next apply)."""
        deployment = self.reader.current()
        if group.startswith(LAMBDA_GROUP_PREFIX):
            return deployment.function(group[len(LAMBDA_GROUP_PREFIX) :]) is not None
        return any(log_group_name(stage.access_log_destination) == group for stage in deployment.stages)

    def deployment(self) -> Deployment:
        """The current deployment; on a change, drain changed functions and delete destroyed EFS data."""
        deployment = self.reader.current()
        generation = self.reader.generation
        if generation != self._generation_seen:
            with self._change_lock:
                if generation != self._generation_seen:
                    self._generation_seen = generation
                    self.efs.reconcile(deployment.file_systems)
                    self.runtime.retain(self.resolver.deployed_hashes(deployment))
        return deployment

    def _invoke_by_name(self, function: str, payload: bytes) -> InvokeResult:
        return self.runtime.invoke(self.resolver.spec(function), payload)

    def health(self) -> dict[str, object]:
        deployment = self.deployment()
        return {
            "status": "ok",
            "pid": os.getpid(),
            "instance": self.settings.instance,
            "listening": [f"{s.server_address[0]}:{s.server_address[1]}" for s in self._servers],
            "container_endpoint": self.runtime.options.endpoint_url,
            "apis": {api_id: self.settings.api_base_url(api_id) for api_id in sorted(deployment.apis)},
            "functions": sorted(deployment.functions),
            "environments": self.runtime.environments(),
        }

    def remove_leftovers(self) -> None:
        """Containers of this instance that a previous gateway left (it was killed): nobody owns them now."""
        try:
            client = engine_client()
        except EngineUnavailableError as exc:
            log.warning("cannot look for leftover containers: %s", exc)
            return
        try:
            for name in remove_labelled(client, self.settings.labels):
                log.info("removed leftover container %s", name)
        finally:
            client.close()

    def serve(self, hosts: list[str]) -> None:
        handler = _handler_class(self)
        for host in hosts:
            server = ThreadingHTTPServer((host, self.settings.port), handler)
            server.daemon_threads = True
            self._servers.append(server)
            threading.Thread(target=server.serve_forever, name=f"http-{host}", daemon=True).start()
            log.info("listening on http://%s:%d", host, self.settings.port)
        threading.Thread(target=self._watch, name="state-watch", daemon=True).start()

    def _watch(self) -> None:
        """Notice redeploys and destroys even when no request comes in."""
        while not self._stopped.wait(WATCH_SECONDS):
            try:
                self.deployment()
            except Exception:
                log.exception("reading the Terraform state failed")

    def shutdown(self) -> None:
        self._stopped.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self.runtime.close()
        self.apigw.close()
        self.cloudwatch.close()  # after the runtime: the environments' last lines are queued by then
        log.info("stopped; all execution environments removed")


def _handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "lambda-inference-localcloud"
        # Headers and body go out in two writes; with Nagle on, a keep-alive client's delayed ACK
        # holds the body back ~40 ms per response (the benchmark's warm overhead showed it).
        disable_nagle_algorithm = True

        def _dispatch(self) -> None:
            path, _, query = self.path.partition("?")
            try:
                if path.startswith(PREFIX):
                    self._serve(gateway.apigw.handle, path, query)
                elif is_invoke(self.command, path):
                    self._serve(gateway.lambda_api.handle, path, query)
                elif path == HEALTH_PATH:
                    self._write(HttpResponse.json(200, gateway.health()))
                elif self.command == "DELETE" and (match := ENVIRONMENTS_PATH.match(path)):
                    retired = gateway.runtime.reset(match["name"])
                    self._write(HttpResponse.json(200, {"function": match["name"], "retired": retired}))
                else:
                    started = time.monotonic()
                    status = proxy.forward(self, HOST, gateway.settings.moto_port)
                    log.debug(
                        "moto %s %s -> %d in %.0f ms",
                        self.command,
                        path,
                        status,
                        (time.monotonic() - started) * 1000,
                    )
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            except Exception:
                log.exception("%s %s failed", self.command, path)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self._write(HttpResponse.json(500, {"message": "Internal Server Error"}))

        def _serve(self, front: Callable[[HttpRequest], HttpResponse], path: str, query: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                # Not read: answer and drop the connection, as API Gateway does with huge bodies.
                self.close_connection = True
                self._write(HttpResponse.json(413, {"message": "Request Entity Too Large"}))
                return
            body = b"".join(proxy.request_chunks(self))
            request = HttpRequest(
                method=self.command,
                path=path,
                query=query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            self._write(front(request))

        def _write(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.client_address[0], *args)

    for verb in ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"):
        setattr(Handler, f"do_{verb}", Handler._dispatch)
    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.localcloud.gateway", description=__doc__)
    parser.add_argument("--bind", action="append", default=[], help="an address to listen on (repeatable)")
    parser.add_argument(
        "--gateway-ip",
        default=None,
        help="the function network's gateway address (containers reach the gateway there)",
    )
    args = parser.parse_args(argv)
    level = os.environ.get("LOCALCLOUD_LOG_LEVEL", "INFO").upper()  # DEBUG also logs every proxied call
    settings = Settings.from_env()
    logcap.configure(level, settings.log_max_bytes)
    hosts = args.bind or [HOST]
    if args.gateway_ip and args.gateway_ip not in hosts:
        hosts.append(args.gateway_ip)
    gateway = Gateway(settings, args.gateway_ip)
    gateway.remove_leftovers()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    gateway.serve(hosts)
    while not stop.wait(1.0):
        pass
    gateway.shutdown()


if __name__ == "__main__":
    main()
