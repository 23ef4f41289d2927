"""Client, scenarios and the run, against a fake API on 127.0.0.1 and fake local-cloud adapters.

The fake API answers like the function (``timings_ms`` with fetch/load/inference, a memory cache
per environment); "resetting its environments" clears that cache and writes a new environment log
the way the local cloud and the function do. No Docker, no Terraform, no model.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.bench import adapters, inprocess, qa_adapter, run, scenarios
from harness.bench.client import ApiClient
from harness.bench.records import ColdSample
from harness.bench.squad import Question
from harness.errors import HarnessError

QUESTION, CONTEXT = (
    "When was the car invented?",
    "The year 1886 is regarded as the birth year of the modern car.",
)


class FakeFunction:
    """The function behind the fake API: an LRU-less cache of ``capacity`` models."""

    def __init__(self, state: Path, function_name: str, capacity: int = 2, fetch_ms: float = 0.0) -> None:
        self.state, self.function_name = state, function_name
        self.capacity, self.fetch_ms = capacity, fetch_ms
        self.engine, self.inference_ms = "torch", 5.0  # what the deployed catalog runs on
        self.loaded: list[str] = []
        self.lock = threading.Lock()
        self.requests = 0

    def answer(self, model_type: str) -> tuple[int, dict[str, Any]]:
        if model_type not in ("nlp1", "nlp2"):
            return 404, {
                "error": {"code": "ModelNotFound", "message": f"no model {model_type}"},
                "request_id": "r",
            }
        with self.lock:
            self.requests += 1
            hit = model_type in self.loaded
            if not hit:
                self.loaded = ([*self.loaded, model_type])[-self.capacity :]
        timings = {
            "fetch": 0.0 if hit else self.fetch_ms,
            "load": 0.0 if hit else 20.0,
            "inference": self.inference_ms,
        }
        return 200, {
            "answer": "1886",
            "score": 0.9,
            "start": 9,
            "end": 13,
            "model_type": model_type,
            "model": {"source": "local/x", "revision": "abc", "engine": self.engine},
            "timings_ms": timings,
            "request_id": str(uuid.uuid4()),
        }

    def models(self) -> dict[str, Any]:
        return {"models": {mt: {"loaded": mt in self.loaded} for mt in ("nlp1", "nlp2")}, "store": "efs"}

    def reset(self, function_name: str) -> int:
        """What ``harness.localcloud.reset_environments`` + the next cold start leave behind."""
        with self.lock:
            self.loaded = ["nlp1"]  # the eager model, loaded at init
        folder = self.state / "logs" / function_name
        folder.mkdir(parents=True, exist_ok=True)
        init = {
            "message": "init timings",
            "init_ms": {
                "module_imports": 100.0,
                "manifest": 5.0,
                "eager_fetch": 50.0,
                "imports": 600.0,
                "eager_loads": 80.0,
                "total": 800.0,
            },
            "eager": {"nlp1": {"fetch": 50.0, "load": 80.0}},
            "threads": 2,
        }
        text = (
            "[localcloud] 2026-11-25T10:00:00Z cold start in 0.40 s (container c)\n"
            + json.dumps(init)
            + "\n"
            + json.dumps({"message": "model loaded", "model_type": "nlp1"})
            + "\n"
        )
        (folder / f"{uuid.uuid4().hex[:12]}.log").write_text(text)
        time.sleep(0.01)
        return 1


@dataclass
class FakeApi:
    url: str
    function: FakeFunction
    server: ThreadingHTTPServer = field(repr=False)


def _serve(function: FakeFunction) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._reply(*function.answer(body.get("model_type", "")))

        def do_GET(self) -> None:
            self._reply(200, function.models())

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def bench_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("LAMBDA_INFERENCE_STATE", str(state))
    monkeypatch.setattr(scenarios, "LOG_WAIT_SECONDS", 0.5)
    return state


@pytest.fixture
def bench_api(bench_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    function = FakeFunction(bench_state, "fn-efs")
    server = _serve(function)
    monkeypatch.setattr(adapters, "reset_environments", function.reset)
    monkeypatch.setattr(adapters, "count_containers", lambda name: 1)
    try:
        yield FakeApi(
            f"http://127.0.0.1:{server.server_address[1]}/_aws/execute-api/abc/develop/", function, server
        )
    finally:
        server.shutdown()
        server.server_close()


def _target(api: FakeApi, variant: str = "efs") -> scenarios.Target:
    return scenarios.Target(variant, api.url, "fn-efs", {}, "img:tag", 1_000_000_000)


# --- client ------------------------------------------------------------------------------------


def test_client_returns_latency_body_and_timings(bench_api: FakeApi) -> None:
    with ApiClient(bench_api.url) as client:
        result = client.ask("nlp1", QUESTION, CONTEXT)
        assert result.ok and result.status == 200
        assert result.answer == "1886"
        assert result.timings_ms == {"fetch": 0.0, "load": 20.0, "inference": 5.0}
        assert result.server_ms == 25.0
        assert result.latency_ms > 0
        missing = client.ask("nlp9", QUESTION, CONTEXT)
        assert not missing.ok and missing.status == 404
        assert "ModelNotFound" in missing.error
        assert client.models().body["models"]["nlp1"]["loaded"] is True


def test_client_reports_a_refused_connection_as_status_zero() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ApiClient(f"http://127.0.0.1:{port}/", timeout=2) as client:
        result = client.ask("nlp1", QUESTION, CONTEXT)
    assert result.status == 0 and not result.ok and "ConnectionError" in result.error


# --- scenarios ---------------------------------------------------------------------------------


def test_cold_starts_break_each_fresh_environment_down(bench_api: FakeApi) -> None:
    result = scenarios.cold_starts(_target(bench_api), 3, "nlp1", QUESTION, CONTEXT, scenarios.Deadline(60))
    assert (result.count, result.ok, result.truncated) == (3, 3, False)
    assert result.function_threads == 2
    medians = result.median_ms
    assert medians["container_start"] == pytest.approx(400.0)
    assert medians["init_imports"] == pytest.approx(700.0)
    assert medians["model_load"] == pytest.approx(80.0)
    assert medians["first_inference"] == pytest.approx(5.0)
    sample = result.samples[0]
    assert sample.cold and sample.environments_stopped == 1
    parts = sample.breakdown_ms
    assert parts["total"] == pytest.approx(sample.breakdown_ms["total"])
    assert parts["other"] == 0.0  # the fake answers in ms while its logs claim 1.2 s: nothing left over


def test_a_request_served_warm_is_not_counted_as_cold(
    bench_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapters, "reset_environments", lambda name: 0)  # nothing restarted, no new log
    result = scenarios.cold_starts(_target(bench_api), 1, "nlp1", QUESTION, CONTEXT, scenarios.Deadline(60))
    assert result.ok == 0 and result.samples[0].cold is False
    assert result.median_ms["total"] is None


def test_an_expired_deadline_truncates(bench_api: FakeApi) -> None:
    result = scenarios.cold_starts(_target(bench_api), 5, "nlp1", QUESTION, CONTEXT, scenarios.Deadline(0))
    assert result.count == 0 and result.truncated


class _FakePool:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int | None]] = []

    def get(self, catalog: str, model_type: str, threads: int | None = None) -> None:
        self.asked.append((catalog, model_type, threads))

    def engine(self, catalog: str, model_type: str) -> str:
        return "torch"


def test_warm_latency_sets_the_endpoint_beside_the_inprocess_forward(
    bench_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def fake_forward(
        loaded: Any, question: str, context: str, repeats: int, threads: int | None = None, **kwargs: Any
    ) -> inprocess.ForwardTimings:
        calls.append((repeats, threads))
        return inprocess.ForwardTimings([0.5] * repeats, [0.8] * repeats, 1, threads or 1)

    monkeypatch.setattr(inprocess, "time_forward", fake_forward)
    pool = _FakePool()
    result = scenarios.warm_latency(
        _target(bench_api),
        pool,
        "offline",
        ["nlp1", "nlp2"],
        20,
        QUESTION,
        CONTEXT,
        scenarios.Deadline(60),
        threads=2,
    )
    assert calls == [(20, 2), (20, 2)]
    # the in-process model of the same catalog, loaded for the function's thread count
    assert pool.asked == [("offline", "nlp1", 2), ("offline", "nlp2", 2)]
    nlp1 = result.models["nlp1"]
    assert nlp1.engine == "torch" and nlp1.served_engines == {"torch": 20}
    assert nlp1.requests == 20 and nlp1.errors == 0
    assert nlp1.end_to_end_ms.n == 20
    assert nlp1.function_inference_ms.p50 == 5.0
    assert nlp1.overhead_p50_ms == pytest.approx(nlp1.end_to_end_ms.p50 - 0.5)
    assert nlp1.tokenize_decode_p50_ms == pytest.approx(0.3)
    assert len(nlp1.samples_ms["end_to_end"]) == 20


def test_switching_between_cached_models_counts_no_reload(bench_api: FakeApi) -> None:
    result = scenarios.model_switching(
        _target(bench_api), ["nlp1", "nlp2"], 5, QUESTION, CONTEXT, scenarios.Deadline(60)
    )
    assert result.requests == 10 and result.errors == 0
    assert result.reloads == 0 and result.cache_hits == 10
    assert result.loaded_on_first_request == {"nlp1": True, "nlp2": True}
    assert result.models_after["nlp2"]["loaded"] is True
    assert result.per_model["nlp2"].requests == 5


def test_switching_with_room_for_one_model_reloads_every_time(bench_api: FakeApi) -> None:
    bench_api.function.capacity = 1
    result = scenarios.model_switching(
        _target(bench_api), ["nlp1", "nlp2"], 4, QUESTION, CONTEXT, scenarios.Deadline(60)
    )
    assert result.reloads == 8 and result.cache_hits == 0
    assert result.per_model["nlp1"].reloads == 4


def test_concurrency_levels(bench_api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    # Running environments, as counted after each burst and after each level: at level 4 they
    # appear one burst late (a burst can be served by fewer environments than it has requests).
    counts = iter([1, 1, 2, 2, 3, 4, 4])
    monkeypatch.setattr(scenarios.adapters, "count_containers", lambda name: next(counts))
    result = scenarios.concurrency(
        _target(bench_api),
        [1, 2, 4],
        lambda level: 4 * level,
        "nlp1",
        QUESTION,
        CONTEXT,
        scenarios.Deadline(60),
    )
    levels = result.levels
    assert list(levels) == ["1", "2", "4"]
    assert levels["4"].requests == 16 and levels["4"].errors == 0
    assert levels["4"].statuses == {"200": 16}
    assert levels["2"].throughput_rps > 0
    assert levels["1"].environments_started == 0
    # Each level scales out first, in bursts of one request per client, until that many run.
    assert [levels[k].scale_out.requests for k in ("1", "2", "4")] == [1, 2, 8]
    assert levels["4"].scale_out.environments_running == 4
    assert levels["4"].scale_out.errors == 0 and levels["4"].scale_out.seconds > 0


def test_scale_out_gives_up_after_a_bounded_number_of_bursts(
    bench_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scenarios.adapters, "count_containers", lambda name: 1)
    burst, _, running = scenarios.scale_out(_target(bench_api), 2, "nlp1", QUESTION, CONTEXT)
    assert len(burst) == 2 * scenarios.SCALE_OUT_BURSTS and running == 1


def test_accuracy_compares_the_endpoint_with_inprocess(bench_api: FakeApi) -> None:
    questions = [
        Question("a", "When?", "In 1886.", ("1886",)),
        Question("b", "Who?", "Karl Benz.", ("Karl Benz",)),
    ]
    local = {
        "nlp1": inprocess.AccuracyRun(
            scenarios.score(questions, {"a": "1886", "b": "1886"}), {"a": "1886", "b": "1886"}, 1.0
        ),
        "nlp2": inprocess.AccuracyRun(
            scenarios.score(questions, {"a": "1886", "b": "Benz"}), {"a": "1886", "b": "Benz"}, 1.0
        ),
    }
    result = scenarios.accuracy(
        _target(bench_api), questions, ["nlp1", "nlp2"], local, scenarios.Deadline(60)
    )
    nlp1, nlp2 = result.models["nlp1"], result.models["nlp2"]
    assert nlp1.endpoint == scenarios.score(questions, {"a": "1886", "b": "1886"})
    assert nlp1.endpoint.to_json() == {"exact_match": 50.0, "f1": 50.0, "count": 2}
    assert nlp1.agree is True and nlp1.identical is True and nlp1.differing_answers == 0
    assert nlp1.reference is None and nlp1.matches_reference is None
    assert nlp2.agree is False and nlp2.differing_answers == 1 and nlp2.differing_ids == ["b"]
    assert nlp2.identical is False


def test_image_size_with_the_cuda_estimate() -> None:
    target = scenarios.Target("oci", "http://x/", "fn", image_tag="t", image_size_bytes=1_000_000_000)
    out = scenarios.image_size(target, {"installed_bytes": 4_000_000_000}, 700_000_000)
    assert out.to_json() == {
        "image_tag": "t",
        "image_bytes": 1_000_000_000,
        "runtimes": ["torch"],
        "cuda_torch_image_bytes": 4_300_000_000,
    }
    assert "cuda_torch_image_bytes" not in scenarios.image_size(target, None, None).to_json()
    # an image without torch has no CUDA torch to estimate
    lean = scenarios.image_size(target, {"installed_bytes": 4_000_000_000}, 700_000_000, ("onnxruntime",))
    assert lean.to_json() == {"image_tag": "t", "image_bytes": 1_000_000_000, "runtimes": ["onnxruntime"]}


def test_old_strategy_summarises_each_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = [inprocess.OldStrategyCall("1886", 300.0 + i, 20.0) for i in range(3)]
    monkeypatch.setattr(inprocess, "time_old_strategy", lambda folder, q, c, repeats: calls[:repeats])
    result = scenarios.old_strategy(
        {"nlp1": tmp_path}, 3, QUESTION, CONTEXT, "test files", scenarios.Deadline(60)
    )
    nlp1 = result.models["nlp1"]
    assert nlp1.total_ms.p50 == 321.0 and nlp1.load_ms.p50 == 301.0
    assert nlp1.answer == "1886" and result.files == "test files"


# --- S3 throughput, against a real moto server --------------------------------------------------


def test_s3_throughput_sets_the_function_beside_a_raw_get(
    models_s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference.contract import FileDigest, Manifest, ManifestModel

    s3 = models_s3  # the session's moto server (conftest)
    s3.create_bucket(Bucket="models-bucket")
    files = {"model.safetensors": b"w" * 2_000_000, "config.json": b"{}"}
    for name, data in files.items():
        s3.put_object(Bucket="models-bucket", Key=f"models/models/local--l3/abc/{name}", Body=data)
    model = ManifestModel(
        "nlp2",
        "local/l3",
        "abc",
        "models/local--l3/abc",
        tuple(FileDigest(n, len(d), "0" * 64) for n, d in files.items()),
        eager=False,
    )
    eager = ManifestModel(
        "nlp1", "local/l6", "def", "models/local--l6/def", (FileDigest("m", 4_000_000, "0" * 64),), eager=True
    )
    manifest = Manifest({"nlp1": eager, "nlp2": model}, catalog="offline")
    s3.put_object(Bucket="models-bucket", Key="models/manifest.json", Body=manifest.to_json().encode())

    monkeypatch.setattr(adapters, "s3_client", lambda: s3)
    samples = []

    def cold(target: Any, model_type: str, question: str, context: str) -> ColdSample:
        samples.append(model_type)
        return ColdSample(
            status=200,
            timings_ms={"fetch": 10.0, "load": 30.0, "inference": 5.0},
            eager={"nlp1": {"fetch": 20.0, "load": 50.0}},
        )

    monkeypatch.setattr(scenarios, "_cold_request", cold)
    target = scenarios.Target("s3", "http://x/", "fn", outputs={"model_bucket": "models-bucket"})
    result = scenarios.s3_throughput(target, 2, QUESTION, CONTEXT, scenarios.Deadline(60))
    assert samples == ["nlp2", "nlp2"]  # the lazy model: downloaded on request
    assert result.model_bytes == 2_000_002 and result.files == 2
    assert result.function_median_mb_s == pytest.approx(2.000002 / 0.010)
    assert result.eager_at_init_mb_s["nlp1"].median == pytest.approx(4.0 / 0.020)
    assert result.raw_median_mb_s > 0
    assert result.function_to_raw == pytest.approx(result.function_median_mb_s / result.raw_median_mb_s)


def test_s3_throughput_needs_a_bucket() -> None:
    with pytest.raises(adapters.UnavailableError):
        scenarios.s3_throughput(
            scenarios.Target("s3", "http://x/", "fn"), 1, QUESTION, CONTEXT, scenarios.Deadline(60)
        )


# --- the whole run, with fakes ------------------------------------------------------------------

ENGINES = {"offline": "torch", "offline-onnx": "onnx", "offline-int8": "onnx-int8"}
INFERENCE_MS = {"torch": 5.0, "onnx": 4.0, "onnx-int8": 2.0}  # what the fake function reports


class _FakeEngine:
    """Zero logits of the right shape: the function's qa code runs on them (no weights needed).

    An ONNX one has a session that reports the threads it was created with, as ORT's does.
    """

    input_names = ("input_ids", "attention_mask", "token_type_ids")

    def __init__(self, session_threads: int | None = None) -> None:
        if session_threads is not None:
            options = SimpleNamespace(intra_op_num_threads=session_threads)
            self.session = SimpleNamespace(get_session_options=lambda: options)

    def forward(self, inputs: dict[str, Any]) -> tuple[Any, Any]:
        import numpy as np

        shape = inputs["input_ids"].shape
        return np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=np.float32)


@dataclass
class _Deployment:
    variant: str
    api_url: str
    function_name: str
    outputs: dict[str, Any]
    image_tag: str = "lambda-inference/function:abc"
    image_size_bytes: int = 1_050_000_000


@pytest.fixture
def bench_fake_run(
    bench_api: FakeApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, list[Any]]:
    from inference import qa

    calls: dict[str, list[Any]] = {"deploy": [], "destroy": [], "load": []}
    snapshots = inprocess.model_folders("offline")

    def catalog_models(catalog: str) -> inprocess.CatalogModels:
        engine = ENGINES[catalog]
        runtime = "torch" if engine == "torch" else "onnxruntime"
        return inprocess.CatalogModels(catalog, dict.fromkeys(snapshots, engine), snapshots, (runtime,))

    def load(folder: Path, engine: str, threads: int | None = None) -> qa.QAModel:
        calls["load"].append((folder.name, engine, threads))
        fake = _FakeEngine(threads if engine != "torch" else None)
        return qa.QAModel(folder, engine, qa.load_tokenizer(folder), fake)

    def deploy(variant: str, catalog: str = "offline") -> _Deployment:
        calls["deploy"].append((variant, catalog))
        bench_api.function.engine = ENGINES[catalog]
        bench_api.function.inference_ms = INFERENCE_MS[ENGINES[catalog]]
        size = 1_050_000_000 if ENGINES[catalog] == "torch" else 330_000_000
        return _Deployment(variant, bench_api.url, "fn-efs", {}, image_size_bytes=size)

    monkeypatch.setattr(adapters, "deploy", deploy)
    monkeypatch.setattr(adapters, "destroy", lambda variant: calls["destroy"].append(variant))
    monkeypatch.setattr(adapters, "example_request", lambda: (QUESTION, CONTEXT))
    monkeypatch.setattr(inprocess, "catalog_models", catalog_models)
    monkeypatch.setattr(qa_adapter, "load", load)
    monkeypatch.setattr(qa_adapter, "default_threads", lambda: 3)  # the fake function uses 2
    # the fake API answers "1886" to everything; so does the in-process side
    monkeypatch.setattr(qa_adapter, "answer", lambda model, q, c: qa.Answer("1886", 0, 4, 1.0))
    monkeypatch.setattr(
        inprocess,
        "time_old_strategy",
        lambda folder, q, c, repeats: [inprocess.OldStrategyCall("1886", 400.0, 30.0)],
    )
    monkeypatch.setattr(run, "SWITCH_ROUNDS", 2)
    monkeypatch.setattr(run, "OLD_STRATEGY_REPEATS", 1)
    monkeypatch.setattr(run, "CONCURRENCY_LEVELS", (1, 2))
    monkeypatch.setattr(run, "requests_per_level", lambda level: 2 * level)
    return calls


def test_run_benchmark_end_to_end_with_fakes(bench_fake_run: dict[str, list[Any]], tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- BENCH:START -->\n<!-- BENCH:END -->\n")
    out = tmp_path / "results"
    path = run.run_benchmark(
        ["efs", "oci"],
        questions=3,
        warm_requests=4,
        cold_starts=2,
        catalogs=["offline", "offline-int8"],
        inprocess_questions=5,
        out_dir=out,
        time_budget_s=300,
        readmes=[readme],
    )
    assert path == out / "results.json"
    matrix = [("efs", "offline"), ("efs", "offline-int8"), ("oci", "offline"), ("oci", "offline-int8")]
    assert bench_fake_run["deploy"] == matrix
    assert bench_fake_run["destroy"] == ["efs", "efs", "oci", "oci"]
    results = json.loads(path.read_text())
    assert results["schema"] == 2
    assert results["settings"]["qa_backend"] == "inference.qa + inference.engines"
    assert results["settings"]["catalogs"] == ["offline", "offline-int8"]
    assert results["settings"]["inprocess_questions"] == 5
    assert list(results["runs"]) == [f"{v}/{c}" for v, c in matrix]
    for (variant, catalog), data in zip(matrix, results["runs"].values(), strict=True):
        engine = ENGINES[catalog]
        assert (data["variant"], data["catalog"], data["engine"]) == (variant, catalog, engine)
        assert data["errors"] == {} and data["skipped"] == {}
        assert data["cold_start"]["ok"] == 2
        warm = data["warm"]["models"]["nlp2"]
        assert warm["requests"] == 4 and warm["engine"] == engine and warm["served_engines"] == {engine: 4}
        assert warm["function_inference_ms"]["p50"] == INFERENCE_MS[engine]
        assert data["switching"]["reloads"] == 0
        assert data["accuracy"]["models"]["nlp1"]["questions"] == 3
        assert data["accuracy"]["models"]["nlp1"]["identical"] is True
        assert list(data["concurrency"]["levels"]) == ["1", "2"]
        assert ("cuda_torch_image_bytes" in data["image"]) == (engine == "torch")
    # in-process: each catalog's models on their engine; ONNX timing sessions with the function's
    # 2 threads beside the accuracy sessions (3 here); torch loaded once per model (threads per call);
    # the fp32 ONNX catalog, not in the matrix, still answers the accuracy questions
    loads = sorted((engine, threads) for _folder, engine, threads in bench_fake_run["load"])
    assert loads == [("onnx", 3)] * 2 + [("onnx-int8", 2)] * 2 + [("onnx-int8", 3)] * 2 + [("torch", 3)] * 2
    assert results["inprocess_accuracy"]["offline-onnx"]["nlp1"]["engine"] == "onnx"
    assert results["engine_parity"]["offline-onnx"]["against"] == "offline"
    assert not any(key.endswith("/offline-onnx") for key in results["runs"])
    assert results["runs"]["oci/offline-int8"]["warm"]["models"]["nlp1"]["inprocess_threads"] == 2
    assert results["runs"]["oci/offline"]["warm"]["models"]["nlp1"]["inprocess_threads"] == 2
    assert results["inprocess_accuracy"]["offline-int8"]["nlp1"]["count"] == 5
    assert results["inprocess_accuracy"]["offline"]["nlp1"]["engine"] == "torch"
    parity = results["engine_parity"]["offline-int8"]
    assert parity["against"] == "offline" and parity["models"]["nlp2"]["identical"] == 5
    # the old strategy ran once, during the EFS run of the torch catalog
    assert results["old_strategy"]["catalog"] == "offline"
    assert results["old_strategy"]["models"]["nlp1"]["total_ms"]["p50"] == 430.0
    assert results["cuda_torch"]["installed_bytes"] > 1e9
    checks = {(t["name"], t["variant"]): t for t in results["targets"]}
    assert checks[("warm latency vs the old sample's strategy", "efs · torch")]["met"] is not None
    assert ("warm latency vs the old sample's strategy", "efs · onnx-int8") not in checks
    speedup = checks[
        ("int8 inference speed-up (function's timings_ms.inference p50)", "efs · onnx-int8 vs torch")
    ]
    assert speedup["met"] is True and "nlp1 2.50x" in speedup["value"]  # 5.0 ms vs 2.0 ms
    assert ("int8 cold start vs the torch catalog's", "oci · onnx-int8 vs torch") in checks
    assert checks[("image size", "oci · onnx-int8")]["target"] == "<= 450 MB"
    assert checks[("image size", "oci · onnx-int8")]["met"] is True
    assert checks[("int8 F1 loss vs torch (nlp1)", "in-process")]["met"] is True
    assert ("fp32 ONNX EM / F1 = torch's (nlp1)", "in-process") in checks
    assert (out / "results.md").is_file() and (out / "cold_start.png").is_file()
    text = readme.read_text()
    assert (
        "**Engine torch** (catalog `offline`)" in text
        and "**Engine onnx-int8** (catalog `offline-int8`)" in text
    )
    assert "| cold start, median (s) |" in text and "| target | run |" in text


def _small_run(variants: list[str], catalog: str, tmp_path: Path, time_budget_s: float = 60) -> Path:
    """The smallest benchmark of ``variants`` with one catalog (2 questions, 2 requests, 1 cold start)."""
    return run.run_benchmark(
        variants,
        questions=2,
        warm_requests=2,
        cold_starts=1,
        catalogs=[catalog],
        inprocess_questions=2,
        out_dir=tmp_path / "r",
        time_budget_s=time_budget_s,
        readmes=[],
    )


def test_a_spent_budget_skips_the_runs_not_started(
    bench_fake_run: dict[str, list[Any]], tmp_path: Path
) -> None:
    path = _small_run(["s3", "oci"], "offline-int8", tmp_path, time_budget_s=0)
    results = json.loads(path.read_text())
    assert bench_fake_run["deploy"] == [] and bench_fake_run["destroy"] == []
    for key in ("s3/offline-int8", "oci/offline-int8"):
        assert "time budget" in results["runs"][key]["skipped"]["deploy"]
    assert results["inprocess_accuracy"]["offline-int8"]["nlp1"]["count"] == 2


def test_a_failed_deploy_is_recorded_and_the_stack_still_destroyed(
    bench_fake_run: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(variant: str, catalog: str = "offline") -> None:
        raise RuntimeError("terraform apply failed")

    monkeypatch.setattr(adapters, "deploy", broken)
    path = _small_run(["s3"], "offline", tmp_path)
    data = json.loads(path.read_text())["runs"]["s3/offline"]
    assert "terraform apply failed" in data["errors"]["deploy"]
    assert bench_fake_run["destroy"] == ["s3"]


def test_a_missing_part_skips_its_scenario_only(
    bench_fake_run: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_hook(function_name: str) -> int:
        raise adapters.UnavailableError("harness.localcloud.reset_environments is not available")

    monkeypatch.setattr(adapters, "reset_environments", no_hook)
    path = _small_run(["oci"], "offline-onnx", tmp_path)
    data = json.loads(path.read_text())["runs"]["oci/offline-onnx"]
    assert "reset_environments" in data["skipped"]["cold_start"]
    assert data["warm"]["models"]["nlp1"]["requests"] == 2
    assert data["errors"] == {}


def test_run_benchmark_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        run.run_benchmark(["gpu"])
    with pytest.raises(ValueError):
        run.run_benchmark(["s3"], questions=0)
    with pytest.raises(ValueError):
        run.run_benchmark(["s3"], inprocess_questions=0)
    with pytest.raises(HarnessError, match="no catalog 'offline-fp16'"):
        run.run_benchmark(["s3"], catalogs=["offline-fp16"])


def test_the_cli_options_select_the_matrix() -> None:
    from harness.bench import options
    from harness.cli import build_parser

    args = build_parser().parse_args(
        ["bench", "--variant", "oci", "--variant", "s3", "--catalog", "offline,offline-int8"]
    )
    assert args.variant == ["oci", "s3"]
    assert options.catalog_list(args.catalog) == ["offline", "offline-int8"]
    assert options.catalog_list(["offline-int8", " offline ,"]) == ["offline-int8", "offline"]
    defaults = build_parser().parse_args(["bench"])
    assert options.catalog_list(defaults.catalog) == ["offline", "offline-onnx", "offline-int8"]
    assert defaults.inprocess_questions == 2000 and defaults.questions == 500


def test_efs_model_folders_finds_the_manifest_of_the_catalog_and_engine(bench_state: Path) -> None:
    import os

    from inference.contract import FileDigest, Manifest, ManifestModel

    def seed(fs_id: str, catalog: str, engine: str, mtime: float) -> Path:
        root = bench_state / "efs" / fs_id
        folder = f"models/local--l3/abc-{engine}"
        (root / folder).mkdir(parents=True)
        model = ManifestModel(
            "nlp2", "local/l3", "abc", folder, (FileDigest("m", 1, "0" * 64),), engine=engine
        )
        path = root / "manifest.json"
        path.write_text(Manifest({"nlp2": model}, catalog=catalog).to_json())
        os.utime(path, (mtime, mtime))
        return root / folder

    torch_folder = seed("fs-1", "offline", "torch", 1_000)
    int8_folder = seed("fs-2", "offline-int8", "onnx-int8", 2_000)
    assert adapters.efs_model_folders(catalog="offline", engine="torch") == {"nlp2": torch_folder}
    assert adapters.efs_model_folders(catalog="offline-int8", engine="torch") == {}
    assert adapters.efs_model_folders(catalog=None, engine=None) == {"nlp2": int8_folder}  # the newest
    assert adapters.efs_model_folders() == {"nlp2": torch_folder}  # torch by default
