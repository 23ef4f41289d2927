"""Results on disk: JSON, a markdown report, PNG plots, and the README's benchmark section.

The thin entry point of the report, split by job: ``machine`` (the probe and its line),
``cells`` (how a value is written), ``summary`` (the per-engine and engines tables the README
shows), ``sections`` (a renderer per scenario), ``markdown`` (results.md and the README
section), ``plots`` (PNGs). Everything reads a ``results.BenchResults`` and tolerates missing
parts: a scenario that was skipped shows as "-", never as an error. The README section is
spliced between the BENCH markers by ``harness.splice``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from harness.bench.report.machine import machine_info, machine_line
from harness.bench.report.markdown import markdown_report, readme_section
from harness.bench.report.plots import write_plots
from harness.bench.report.summary import engines_table, summary_table, summary_tables
from harness.bench.results import BenchResults
from harness.bench.soak import records as soak_records
from harness.bench.targets import evaluate
from harness.splice import Markers

__all__ = [
    "END_MARKER",
    "RESULTS_JSON",
    "RESULTS_MD",
    "START_MARKER",
    "Written",
    "engines_table",
    "machine_info",
    "machine_line",
    "readme_section",
    "summary_table",
    "summary_tables",
    "update_readme",
    "write_json",
    "write_results",
]

START_MARKER = "<!-- BENCH:START -->"
END_MARKER = "<!-- BENCH:END -->"
MARKERS = Markers(START_MARKER, END_MARKER)
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"


@dataclass(frozen=True)
class Written:
    """The files ``write_results`` wrote."""

    json: Path
    markdown: Path
    plots: list[Path]


def write_json(results: BenchResults, out_dir: Path) -> Path:
    """results.json alone (what the run saves after each run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_JSON
    path.write_text(json.dumps(results.to_json(), indent=1, default=str) + "\n")
    return path


def write_results(results: BenchResults, out_dir: Path) -> Written:
    """results.json, results.md and the plots into ``out_dir``; the soak's section from the
    ``soak.json`` beside them (``make soak`` writes it and its plot)."""
    if not results.targets:
        results = dataclasses.replace(results, targets=evaluate(results))
    json_path = write_json(results, out_dir)
    plots = write_plots(results, out_dir)
    md_path = out_dir / RESULTS_MD
    md_path.write_text(markdown_report(results, [p.name for p in plots], soak_records.load(out_dir)))
    return Written(json_path, md_path, plots)


def update_readme(path: Path, section: str) -> bool:
    """Rewrite the benchmark section of the README at ``path``; False if it has no markers."""
    return MARKERS.update(path, section) is not None
