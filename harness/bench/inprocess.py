"""In-process baselines, on this machine, from the same model files the function serves.

- the bare forward pass of a model on one input (what our serving overhead is measured against),
  and the whole in-process answer (tokenise + forward + decode) beside it, per engine;
- accuracy on SQuAD questions in-process, per engine (the endpoint must give the same answers,
  and the ONNX engines are compared with torch on the same questions);
- the old sample's EFS strategy, reproduced: every invocation loads the tokenizer and the model
  from the model folder, then answers the way the sample did (one un-windowed encoding, argmax of
  the start and of the end logits, tokens joined back into a string), with no inference mode,
  as there. Only the loading matters for the comparison; the decoding is kept for faithfulness.

Model files come from the catalog's bundle (``harness.models.build_bundle``, what ``make deploy``
publishes and bakes), so an ONNX engine is timed on the very graph the function runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.bench import qa_adapter
from harness.bench.records import CatalogInfo, Parity
from harness.bench.squad import Question, Score, normalize_answer, score
from harness.paths import CATALOGS_DIR, hf_cache_dir


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def hub_snapshot(repo_id: str, revision: str) -> Path:
    """The folder of a pinned hub revision in the offline cache (HF_HUB_CACHE)."""
    plain = hf_cache_dir() / f"models--{repo_id.replace('/', '--')}" / "snapshots" / revision
    if plain.is_dir():
        return plain
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(repo_id, revision=revision, cache_dir=hf_cache_dir(), local_files_only=True)
    )


def model_folders(catalog: str = "offline") -> dict[str, Path]:
    """model_type -> the folder of its *source* files (the HuggingFace weights, whatever the engine).

    What the old sample's strategy loads (transformers on the source weights) when no EFS copy of
    a torch catalog is at hand.
    """
    from inference.contract import Catalog

    path = Path(catalog)
    if not path.suffix:
        path = CATALOGS_DIR / f"{catalog}.json"
    parsed = Catalog.load(path)
    folders: dict[str, Path] = {}
    for model_type, entry in parsed.models.items():
        source = entry.source
        if source.path:
            folders[model_type] = Path(source.path)
        else:
            folders[model_type] = hub_snapshot(str(source.repo_id), str(source.revision))
    return folders


def engine_label(engines: Mapping[str, str]) -> str:
    """One name for a catalog's engines: the engine when all models share it, else ``a+b``."""
    distinct = sorted(set(engines.values()))
    return distinct[0] if len(distinct) == 1 else "+".join(distinct)


@dataclass(frozen=True)
class CatalogModels:
    """A catalog as the benchmark uses it: per model_type its engine and the folder of its files.

    ``name`` is the catalog as the run was given it (``offline``, or a path), which is what
    ``harness.deploy.deploy`` takes; the bundle is named by the catalog file's stem, as deploy does.
    """

    name: str
    engines: dict[str, str]
    folders: dict[str, Path]
    runtimes: tuple[str, ...] = ()
    bundle: Path | None = None

    @property
    def engine(self) -> str:
        return engine_label(self.engines)

    @property
    def model_types(self) -> list[str]:
        return sorted(self.folders)

    def info(self) -> CatalogInfo:
        """What the results record of the catalog."""
        return CatalogInfo(
            engine=self.engine,
            engines=dict(self.engines),
            runtimes=list(self.runtimes),
            bundle=None if self.bundle is None else str(self.bundle),
            folders={mt: str(f) for mt, f in sorted(self.folders.items())},
        )


def catalog_models(catalog: str) -> CatalogModels:
    """Build (or re-use) the catalog's bundle, exporting ONNX graphs if needed; its models' folders."""
    from inference.contract import ENGINE_RUNTIMES

    from harness.models import build_bundle, default_bundle_dir, load_catalog

    parsed = load_catalog(catalog)
    bundle = default_bundle_dir(parsed.name)
    manifest = build_bundle(parsed, bundle)
    engines = {mt: m.engine for mt, m in manifest.models.items()}
    return CatalogModels(
        name=catalog,  # as given (a name under catalogs/ or a path): what deploy takes too
        engines=engines,
        folders={mt: bundle / m.folder for mt, m in manifest.models.items()},
        runtimes=tuple(sorted({ENGINE_RUNTIMES[e] for e in engines.values()})),
        bundle=bundle,
    )


class ModelPool:
    """Loaded models by (catalog, model_type), each loaded once per benchmark run (load time recorded).

    A model whose runtime fixes threads at load (ONNX Runtime) is loaded once per thread count
    asked for; a torch model once (its threads are set per call).
    """

    def __init__(self, catalogs: Mapping[str, CatalogModels]) -> None:
        self.catalogs = dict(catalogs)
        self._loaded: dict[tuple[str, str, int | None], qa_adapter.QAModel] = {}
        self.load_ms: dict[str, dict[str, float]] = {}

    def engine(self, catalog: str, model_type: str) -> str:
        return self.catalogs[catalog].engines[model_type]

    def get(self, catalog: str, model_type: str, threads: int | None = None) -> qa_adapter.QAModel:
        engine = self.engine(catalog, model_type)
        threads = threads or qa_adapter.default_threads()
        key = (catalog, model_type, threads if qa_adapter.threads_fixed_at_load(engine) else None)
        if key not in self._loaded:
            started = time.perf_counter()
            folder = self.catalogs[catalog].folders[model_type]
            self._loaded[key] = qa_adapter.load(folder, engine, threads)
            self.load_ms.setdefault(catalog, {}).setdefault(model_type, _ms_since(started))
        return self._loaded[key]


@dataclass
class ForwardTimings:
    """Per-call timings (ms) of the bare forward and of the whole in-process answer."""

    forward_ms: list[float]
    answer_ms: list[float]
    windows: int
    threads: int | None


def time_forward(
    model: qa_adapter.QAModel,
    question: str,
    context: str,
    repeats: int,
    warmup: int = 5,
    threads: int | None = None,
) -> ForwardTimings:
    """Time ``repeats`` bare forward passes on one tokenised input, then ``repeats`` answers.

    ``threads``: the function's own count, so that the two sides compute alike. torch's count is
    set for the measurement and restored afterwards; an ONNX model must have been loaded with it
    (``ModelPool.get(..., threads=)``): the count it really used is returned either way.
    """
    with qa_adapter.thread_scope(model, threads) as used:
        windows = qa_adapter.encode(model, question, context)
        for _ in range(warmup):
            qa_adapter.forward(model, windows)
            qa_adapter.answer(model, question, context)
        forward_ms: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            qa_adapter.forward(model, windows)
            forward_ms.append(_ms_since(started))
        answer_ms: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            qa_adapter.answer(model, question, context)
            answer_ms.append(_ms_since(started))
    return ForwardTimings(forward_ms, answer_ms, windows.count, used)


@dataclass
class AccuracyRun:
    score: Score
    predictions: dict[str, str]
    seconds: float


def accuracy(
    model: qa_adapter.QAModel,
    questions: Sequence[Question],
    progress: Callable[[int, int], None] | None = None,
) -> AccuracyRun:
    """Answer every question in-process and score the answers (official SQuAD v1.1 metrics)."""
    started = time.perf_counter()
    predictions: dict[str, str] = {}
    for index, question in enumerate(questions, 1):
        predictions[question.id] = qa_adapter.answer(model, question.question, question.context).text
        if progress:
            progress(index, len(questions))
    return AccuracyRun(score(questions, predictions), predictions, time.perf_counter() - started)


def parity(
    questions: Sequence[Question], run: AccuracyRun, baseline: AccuracyRun, engine: str, against: str
) -> Parity:
    """How many answers of ``run`` are the baseline's, and its EM/F1 difference, on ``questions``."""
    ids = [q.id for q in questions if q.id in run.predictions and q.id in baseline.predictions]
    differing = [i for i in ids if run.predictions[i] != baseline.predictions[i]]
    normalised = [
        i for i in ids if normalize_answer(run.predictions[i]) == normalize_answer(baseline.predictions[i])
    ]
    answered = [q for q in questions if q.id in ids]
    ours, theirs = score(answered, run.predictions), score(answered, baseline.predictions)
    return Parity(
        engine=engine,
        against=against,
        count=len(ids),
        identical=len(ids) - len(differing),
        identical_after_normalisation=len(normalised),
        identical_share=(len(ids) - len(differing)) / len(ids) if ids else 0.0,
        exact_match_delta=ours.exact_match - theirs.exact_match,
        f1_delta=ours.f1 - theirs.f1,
        differing_ids=tuple(differing[:20]),
    )


# --- the old sample's EFS strategy -------------------------------------------------------------


@dataclass(frozen=True)
class OldStrategyCall:
    answer: str
    load_ms: float
    inference_ms: float

    @property
    def total_ms(self) -> float:
        return self.load_ms + self.inference_ms


def old_sample_invocation(folder: str | Path, question: str, context: str) -> OldStrategyCall:
    """One invocation of the old EFS handler: load tokenizer + model from the folder, then answer."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForQuestionAnswering.from_pretrained(str(folder))
    load_ms = _ms_since(started)

    started = time.perf_counter()
    inputs = tokenizer(question, context, add_special_tokens=True, return_tensors="pt")
    token_ids = inputs["input_ids"][0].tolist()
    output = model(**inputs)
    first = int(torch.argmax(output.start_logits))
    last = int(torch.argmax(output.end_logits)) + 1
    text = tokenizer.convert_tokens_to_string(tokenizer.convert_ids_to_tokens(token_ids[first:last]))
    return OldStrategyCall(text, load_ms, _ms_since(started))


def time_old_strategy(folder: str | Path, question: str, context: str, repeats: int) -> list[OldStrategyCall]:
    """``repeats`` invocations of the old strategy (after one untimed call that warms the OS cache)."""
    old_sample_invocation(folder, question, context)
    return [old_sample_invocation(folder, question, context) for _ in range(repeats)]
