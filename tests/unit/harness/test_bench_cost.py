"""The cost arithmetic on one hand-computed case, the prices file, and the blind-spot sentence."""

from __future__ import annotations

import json

import pytest

from harness.bench import cost
from harness.bench.fleet_records import FleetRun

PRICES = cost.Prices(
    gb_second={"x86_64": 0.0000166667, "arm64": 0.0000133334},
    lambda_request=0.0000002,
    ephemeral_gb_second=0.0000000309,
    http_api_request=0.000001,
    s3_get_request=0.0000004,
    s3_storage_gb_month=0.023,
    efs_storage_gb_month=0.30,
    efs_elastic_read_gb=0.03,
    ecr_storage_gb_month=0.10,
)


def test_one_million_efs_requests_by_hand() -> None:
    workload = cost.Workload(
        variant="efs",
        billed_ms=100.0,
        cold_start_share=0.01,
        init_ms=2000.0,
        efs_bytes_per_request=cost.GIB / 10,  # a 1 GiB model loaded by one request in ten
        efs_bytes_per_cold_start=cost.GIB,
        ephemeral_storage_mb=1024,
        stored_bytes={"efs": 4 * cost.GIB, "s3": 4 * cost.GIB, "ecr": 2 * cost.GIB},
    )
    row = cost.cost_per_million(workload, 2048, "x86_64", PRICES)
    # billed: 100 ms + 1% x 2000 ms of INIT = 0.12 s per request
    assert row.components["duration"] == pytest.approx(1e6 * 0.12 * 2 * 0.0000166667)  # 4.000008
    assert row.components["requests"] == pytest.approx(1.20)  # $0.20 + $1.00
    assert row.components["ephemeral"] == pytest.approx(1e6 * 0.12 * 0.5 * 0.0000000309)  # 0.001854
    assert row.components["s3_gets"] == 0
    # (0.1 GiB + 1% x 1 GiB) per request = 110,000 GiB per 1M at $0.03
    assert row.components["efs_reads"] == pytest.approx(3300.0)
    assert row.total == pytest.approx(3305.201862)
    assert row.storage_per_month == pytest.approx({"efs": 1.20, "s3": 0.092, "ecr": 0.20})
    assert row.largest() == ("efs_reads", pytest.approx(3300.0))

    arm = cost.cost_per_million(workload, 2048, "arm64", PRICES)
    assert arm.components["duration"] == pytest.approx(1e6 * 0.12 * 2 * 0.0000133334)


def test_s3_gets_count_downloads_and_cold_starts() -> None:
    workload = cost.Workload("s3", 50.0, 0.001, 1000.0, s3_gets_per_request=0.5, s3_gets_per_cold_start=20)
    row = cost.cost_per_million(workload, 6000, "x86_64", PRICES)
    assert row.components["s3_gets"] == pytest.approx(1e6 * (0.5 + 0.001 * 20) * 0.0000004)  # 0.208
    assert row.components["ephemeral"] == 0  # 512 MB is free


def test_blind_spot_names_what_dominates() -> None:
    efs = cost.Workload("efs", 100.0, 0.0, 0.0, efs_bytes_per_request=cost.GIB / 10)
    oci = cost.Workload("oci", 100.0, 0.0, 0.0)
    rows = cost.cost_table([efs, oci], PRICES, memory_sizes=(2048,), architectures=("x86_64",))
    sentences = cost.blind_spots(rows)
    assert len(sentences) == 1  # oci reads nothing from a store per request
    assert sentences[0].startswith("On efs, EFS Elastic-throughput reads are 100% of the cost per 1M")
    assert "$3,000.00 of $3,004.53 at 2048 MB x86_64" in sentences[0]


def test_workload_from_a_fleet_run() -> None:
    entry = {
        "variant": "efs",
        "models": {"total_bytes": 10 * 10**8},
        "function": {"image_bytes": 9 * 10**8, "ephemeral_storage_mb": 512},
        "phases": {
            "2": {"requests": 10, "ok": 10},
            "10": {
                "requests": 200,
                "ok": 200,
                "server_ms_mean": 80.0,
                "environments": {"started": 2, "init_median_ms": 3000.0, "runtime_durations_ms": {"n": 0}},
                "store_reads": {"bytes_loaded": 4 * 10**9, "s3_gets": 0, "per_cold_start": {"bytes": 10**8}},
            },
        },
    }
    workload = cost.workload_from_fleet(FleetRun.from_json(entry))
    assert workload is not None
    assert workload.billed_ms == 80.0  # no REPORT lines: the function's own timings
    assert workload.cold_start_share == pytest.approx(0.01)
    assert workload.efs_bytes_per_request == pytest.approx(2 * 10**7)
    assert workload.efs_bytes_per_cold_start == 10**8
    assert workload.stored_bytes == {"ecr": 9 * 10**8, "s3": 10**9, "efs": 10**9}
    assert cost.workload_from_fleet(FleetRun(variant="s3")) is None


def test_prices_file_names_a_source_and_date_for_every_price() -> None:
    raw = json.loads(cost.PRICES_PATH.read_text())
    assert raw["region"] == "us-east-1" and raw["read_on"]
    for name, entry in raw["prices"].items():
        assert entry["usd"] > 0 and entry["unit"], name
        assert entry["source"].startswith("https://"), name
        assert entry["confirmed"], name
    prices = cost.Prices.load()
    assert prices.gb_second["arm64"] < prices.gb_second["x86_64"]
