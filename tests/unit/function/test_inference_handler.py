"""The handler end to end, in process: API Gateway v2 events and direct invokes over an EFS-style
store of the real offline models; plus the service's memory budget and revision switch."""

from __future__ import annotations

import base64
import gc
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from inference.config import Settings
from inference.contract import ManifestModel, model_folder
from inference.service import InferenceService
from inference.stores.local import efs_store

MB = 1024 * 1024

# Requests without a model metric (GET /models, rejections) flush none; observability silences
# that warning at import, but pytest resets warning filters for every test.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def http_event(
    method: str, path: str, body: str | None = None, b64: bool = False, stage: str = "develop"
) -> dict:
    """An API Gateway HTTP API (payload format 2.0) event, as the service sends it."""
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234",
            "domainName": "api1234.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": "apigw-request-id",
            "routeKey": f"{method} {path}",
            "stage": stage,
            "time": "25/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1795597200000,
        },
        "body": body,
        "isBase64Encoded": b64,
    }


def post(request: Any, b64: bool = False, stage: str = "develop") -> dict:
    text = request if isinstance(request, str) else json.dumps(request)
    body = base64.b64encode(text.encode()).decode() if b64 else text
    return http_event("POST", "/", body, b64, stage)


def call(handler: ModuleType, event: Any, context: Any) -> tuple[int, dict]:
    response = handler.handler(event, context)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_init_loaded_the_eager_model_and_timed_every_phase(handler: ModuleType) -> None:
    env = handler.environment
    assert env.error is None and env.service is not None
    assert set(env.report.eager) == {"nlp1"}  # init loaded the eager model only (others may load since:
    assert "nlp1" in env.service.cache.loaded_model_types()  # the handler is shared by the session)
    assert set(env.report.seconds) == {
        "module_imports",
        "manifest",
        "eager_fetch",
        "imports",
        "eager_loads",
        "total",
    }
    assert set(env.report.eager["nlp1"]) == {"fetch", "load"}


def test_init_freezes_its_heap_so_full_collections_skip_torch(handler: ModuleType) -> None:
    # torch + transformers alone leave hundreds of thousands of objects; a full collection that
    # walks them stalls a request for ~200 ms (the fleet's p99 before the freeze).
    assert gc.get_freeze_count() > 100_000


@pytest.mark.parametrize("b64", [False, True], ids=["body", "base64-body"])
def test_post_answers_with_the_documented_shape(
    handler: ModuleType, lambda_context: Any, car: tuple[str, str], b64: bool
) -> None:
    context, question = car
    status, body = call(
        handler, post({"model_type": "nlp1", "question": question, "context": context}, b64), lambda_context
    )
    assert status == 200
    assert set(body) == {
        "answer",
        "score",
        "start",
        "end",
        "model_type",
        "model",
        "timings_ms",
        "cache_hit",
        "request_id",
    }
    assert (body["answer"], body["start"], body["end"]) == ("The year 1886", 91, 104)
    assert body["model"] == {
        "source": "local/minilm-l6-h384-squad",
        "revision": "cecc2a7e5b8ee2583e400934cd4cc6ae3ff96411",
        "engine": "torch",
    }
    assert body["model_type"] == "nlp1" and 0 < body["score"] <= 1
    assert body["timings_ms"]["fetch"] == 0 and body["timings_ms"]["load"] == 0  # eager: loaded at init
    assert body["timings_ms"]["inference"] > 0
    assert body["request_id"] == lambda_context.aws_request_id


def test_the_default_stage_routes_too(handler: ModuleType, lambda_context: Any, car: tuple[str, str]) -> None:
    context, question = car
    request = {"model_type": "nlp2", "question": question, "context": context}
    status, body = call(handler, post(request, stage="$default"), lambda_context)
    assert (status, body["answer"]) == (200, "1886")


def test_a_lazy_model_loads_on_first_use_and_is_then_served_from_memory(
    handler: ModuleType, lambda_context: Any, car: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    context, question = car
    request = post({"model_type": "nlp2", "question": question, "context": context})
    call(handler, request, lambda_context)
    status, body = call(handler, request, lambda_context)
    assert (status, body["answer"]) == (200, "1886")
    assert body["timings_ms"]["fetch"] == 0 and body["timings_ms"]["load"] == 0
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    served = [m for m in emf if "InferenceLatency" in m]
    assert served and served[-1]["model_type"] == "nlp2" and served[-1]["ModelCacheHit"] == [1.0]
    assert ["model_type", "service"] in served[-1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] or [
        "service",
        "model_type",
    ] in served[-1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    _, models = call(handler, http_event("GET", "/models"), lambda_context)
    assert models["models"]["nlp2"]["loaded"] is True


def test_get_models_lists_the_catalog_and_what_is_in_memory(handler: ModuleType, lambda_context: Any) -> None:
    status, body = call(handler, http_event("GET", "/models"), lambda_context)
    assert status == 200 and body["store"] == "efs"
    assert body["runtimes"] == ["torch", "onnxruntime"]  # what the environment can run (the dev venv: both)
    assert set(body["models"]) == {"nlp1", "nlp2", "broken", "garbage"}
    nlp1 = body["models"]["nlp1"]
    assert {k: nlp1[k] for k in ("source", "revision", "eager", "engine", "loaded")} == {
        "source": "local/minilm-l6-h384-squad",
        "revision": "cecc2a7e5b8ee2583e400934cd4cc6ae3ff96411",
        "eager": True,
        "engine": "torch",
        "loaded": True,
    }
    assert set(nlp1) == {
        *("source", "revision", "eager", "engine", "loaded", "bytes_in_memory"),
        *("hits", "misses", "last_load_ms", "failure"),
    }
    assert nlp1["bytes_in_memory"] > 80 * MB and nlp1["last_load_ms"] > 0  # eager: loaded at init
    assert isinstance(nlp1["hits"], int) and isinstance(nlp1["misses"], int) and nlp1["failure"] is None
    assert body["models"]["broken"]["loaded"] is False and body["models"]["broken"]["bytes_in_memory"] == 0
    memory = body["memory"]
    assert memory["budget_bytes"] == 1024 * MB and 0 < memory["used_bytes"] <= memory["budget_bytes"]
    assert "disk" not in body  # the EFS store copies nothing to /tmp


def test_a_direct_invoke_returns_the_same_body(
    handler: ModuleType, lambda_context: Any, car: tuple[str, str]
) -> None:
    context, question = car
    body = handler.handler({"model_type": "nlp1", "question": question, "context": context}, lambda_context)
    assert body["answer"] == "The year 1886" and "statusCode" not in body
    error = handler.handler({"model_type": "nlp9", "question": question, "context": context}, lambda_context)
    assert error["statusCode"] == 404 and error["error"]["code"] == "ModelNotFound"
    assert error["request_id"] == lambda_context.aws_request_id
    assert handler.handler(["not", "an", "object"], lambda_context)["statusCode"] == 400


GOOD = {"model_type": "nlp1", "question": "When?", "context": "In 1886."}


@pytest.mark.parametrize(
    ("event", "status", "code", "fragment"),
    [
        (post("{oops"), 400, "BadRequest", "not valid JSON"),
        (post("[1, 2]"), 400, "BadRequest", "JSON object, not an array"),
        (post({"question": "q", "context": "c"}), 400, "BadRequest", "missing field(s): model_type"),
        (post({**GOOD, "question": 7}), 400, "BadRequest", "'question' must be a string"),
        (post({**GOOD, "context": "  "}), 400, "BadRequest", "'context' must not be empty"),
        (http_event("POST", "/", None), 400, "BadRequest", "body is empty"),
        (http_event("POST", "/", "%%%", b64=True), 400, "BadRequest", "not valid base64"),
        (post({**GOOD, "question": "why " * 200}), 413, "PayloadTooLarge", "tokens long; the limit is 128"),
        (
            post({**GOOD, "question": "why " * 300, "context": "! " * 500}),  # the tokenizer panicked
            413,
            "PayloadTooLarge",
            "300 tokens long; the limit is 128 (MAX_QUESTION_TOKENS)",
        ),
        (post({**GOOD, "question": "q" * 2001}), 413, "PayloadTooLarge", "2000 (MAX_QUESTION_CHARS)"),
        (post({**GOOD, "context": "! " * 2400}), 413, "PayloadTooLarge", "the limit is 4 (MAX_WINDOWS)"),
        (
            post('{"model_type": "nlp1", "question": "\\ud800", "context": "c"}'),
            400,
            "BadRequest",
            "surrogate",
        ),
        (post("[" * 50_000), 400, "BadRequest", "too deeply"),
        (
            post({**GOOD, "model_type": "nlp3"}),
            404,
            "ModelNotFound",
            "known model types: broken, garbage, nlp1, nlp2",
        ),
        (post({**GOOD, "context": "x" * 5001}), 413, "PayloadTooLarge", "limit is 5000"),
        (
            post({**GOOD, "model_type": "broken"}),
            503,
            "ModelUnavailable",
            "'broken' is unavailable: file model",
        ),
        (post({**GOOD, "model_type": "garbage"}), 503, "ModelUnavailable", "its files could not be loaded"),
        (http_event("GET", "/nothing"), 404, "RouteNotFound", "'GET' '/nothing'"),
        (http_event("DELETE", "/"), 404, "RouteNotFound", "'DELETE' '/'"),
    ],
)
def test_every_error_has_its_status_code_and_shape(
    handler: ModuleType, lambda_context: Any, event: dict, status: int, code: str, fragment: str
) -> None:
    got_status, body = call(handler, event, lambda_context)
    assert got_status == status
    assert set(body) == {"error", "request_id"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and fragment in body["error"]["message"]
    assert body["request_id"] == lambda_context.aws_request_id
    assert "Traceback" not in body["error"]["message"] and ".py" not in body["error"]["message"]


def test_a_rest_api_v1_event_is_refused_with_a_hint(handler: ModuleType, lambda_context: Any) -> None:
    event = {"httpMethod": "POST", "path": "/", "requestContext": {"httpMethod": "POST"}, "body": "{}"}
    status, body = call(handler, event, lambda_context)
    assert status == 400 and "payload_format_version 2.0" in body["error"]["message"]


def test_an_unexpected_exception_is_a_generic_500_logged_with_its_traceback(
    handler: ModuleType,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise KeyError("/var/task/inference/secret.py")

    monkeypatch.setattr(handler.environment.service, "answer", explode)
    status, body = call(handler, post(GOOD), lambda_context)
    assert status == 500 and body["error"]["code"] == "InternalError"
    assert "secret" not in json.dumps(body) and body["request_id"] == lambda_context.aws_request_id
    failed = [r for r in caplog.records if r.getMessage() == "request failed"]
    assert failed and failed[-1].exc_info is not None and failed[-1].exc_info[0] is KeyError


def test_a_failed_init_answers_503_instead_of_crashing(
    handler: ModuleType,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("MODEL_STORE", "floppy")
    failed = handler.initialise()
    assert failed.service is None and failed.error == handler.INIT_FAILED
    monkeypatch.setattr(handler, "environment", failed)
    for event in (post(GOOD), http_event("GET", "/models")):
        status, body = call(handler, event, lambda_context)
        assert status == 503 and body["error"]["code"] == "ServiceUnavailable"
        assert body["error"]["message"] == handler.INIT_FAILED  # generic: no setting's value
    assert handler.handler(GOOD, lambda_context)["statusCode"] == 503
    logged = [r for r in caplog.records if r.getMessage().startswith("init failed")]
    assert logged and "MODEL_STORE must be one of" in str(logged[-1].exc_info[1])  # in full, in the log


def test_without_a_manifest_both_routes_answer_503_in_the_error_shape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing published (or the manifest deleted): ``POST /`` says the model is unavailable and
    ``GET /models`` that nothing can be listed, both 503 (GET once answered a 500); the store's
    own error, with its path, reaches the log only."""
    from inference.api import handle_http

    service = service_for(tmp_path / "empty-efs")
    for event, code, fragment in (
        (post(GOOD), "ModelUnavailable", "model 'nlp1' is unavailable: the model store's manifest"),
        (http_event("GET", "/models"), "ServiceUnavailable", "the model store's manifest cannot be read"),
    ):
        response = handle_http(event, lambda: service, "rid")
        body = json.loads(response["body"])
        assert response["statusCode"] == 503, body
        assert body == {"error": {"code": code, "message": body["error"]["message"]}, "request_id": "rid"}
        assert body["error"]["message"].startswith(fragment) and "empty-efs" not in response["body"]
    logged = [r for r in caplog.records if r.getMessage() == "manifest unavailable"]
    assert len(logged) == 2 and all("empty-efs" in str(r.__dict__.get("error")) for r in logged)


# --- the service: memory budget and new revisions with real models ------------------------------


def service_for(root: Path, budget_mb: int = 1024) -> InferenceService:
    settings = Settings(store="efs", model_root=root, memory_budget_mb=budget_mb, manifest_ttl_seconds=0)
    return InferenceService(settings, efs_store(root))


def ask(service: InferenceService, model_type: str, car: tuple[str, str]) -> dict:
    from inference.api import QARequest
    from inference.observability import metrics

    context, question = car
    try:
        return service.answer(QARequest(model_type, question, context), "rid")
    finally:
        metrics.clear_metrics()  # the handler flushes after each request; here nobody does


def test_a_budget_for_one_model_evicts_the_other_and_counts_the_reload(
    store_root: Path, offline_models: dict[str, ManifestModel], car: tuple[str, str]
) -> None:
    service = service_for(store_root, budget_mb=120)  # nlp1 ~102 MB, nlp2 ~82 MB: one at a time
    answers = [ask(service, mt, car)["answer"] for mt in ("nlp1", "nlp2", "nlp1")]
    assert answers == ["The year 1886", "1886", "The year 1886"]
    assert service.cache.loads[offline_models["nlp1"].key] == 2
    assert [reason for _, reason in service.cache.evictions] == ["memory budget", "memory budget"]
    assert service.cache.used_bytes <= 120 * MB


def test_a_new_revision_is_served_without_a_redeploy(
    tmp_path: Path,
    offline_models: dict[str, ManifestModel],
    snapshots: dict[str, Path],
    car: tuple[str, str],
    store_tools: Any,
) -> None:
    rev1 = offline_models["nlp1"]
    store_tools.link_model(tmp_path, rev1, snapshots["nlp1"])
    store_tools.write_manifest(tmp_path, {"nlp1": rev1})
    service = service_for(tmp_path)
    first = ask(service, "nlp1", car)
    assert (first["answer"], first["model"]["revision"]) == ("The year 1886", rev1.revision)

    # Publish revision "r2" of nlp1 (the other model's weights) beside the first: manifest last.
    rev2 = ManifestModel(
        "nlp1", rev1.source, "r2", model_folder(rev1.source, "r2"), offline_models["nlp2"].files
    )
    store_tools.link_model(tmp_path, rev2, snapshots["nlp2"])
    store_tools.write_manifest(tmp_path, {"nlp1": rev2})
    second = ask(service, "nlp1", car)
    assert (second["answer"], second["model"]["revision"]) == ("1886", "r2")
    assert second["timings_ms"]["load"] > 0
    assert service.cache.keys() == [rev2.key]
    assert service.cache.evictions == [(rev1.key, "superseded by a new revision")]
