"""Faults survived (#12 item 6): each test breaks something of a deployed stack and ends with the
next request answered.

One deploy per variant (s3, efs) serves every test of the module, in order: a function container
killed mid-request (502, then an answer); a model's files corrupted in the store (503 naming it,
the other model answers, a good revision published answers without a redeploy); the manifest
missing (503 on both routes, then an answer once it is back); /tmp full on s3 (503 for the model
that does not fit, the cached one answers); the gateway killed and started again (no orphaned
container, then an answer); two seeders at once on efs (neither corrupts the file system nor
rolls the manifest back).

The catalog is the offline one with nlp2 as a local folder of the test's own (its revision is the
digest of its files), so a "good revision" is a new, answer-preserving safetensors header
(``fleet.write_stamped_weights``), published as ``make publish`` does (``deploy.publish``).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from inference import qa
from inference.config import RequestLimits
from inference.contract import MANIFEST_NAME, object_key
from inference.seed import WAITING_MESSAGE, seeding_turn
from inference.stores.files import PART_TAG
from inference.stores.local import efs_store

from harness import deploy, localcloud
from harness.bench.worst_case import nlp1_folder, worst_accepted_request
from harness.deploy import MODEL_PREFIX
from harness.docker_engine import engine_client
from harness.example import example_payload
from harness.localcloud import leftovers, processes, services
from harness.localcloud.config import Settings
from harness.models import load_catalog, resolve_catalog
from harness.models.fleet import WEIGHTS_FILE, write_stamped_weights
from tests.integration import faults

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.localcloud]

CATALOG_NAME = "faults"
MIB = 1024 * 1024
EPHEMERAL_MB = 512  # s3: /tmp as small as Lambda allows, so filling it takes little memory
TMP_LEFT_FREE = 20 * MIB  # what the filler leaves of /tmp: less than nlp2's 67 MB
VARIABLES = {
    # One environment serves every request, so the test knows which container holds what; a
    # long timeout, since a cold start on the shared machine can outlast the gateway's 30 s
    # (faults.send retries the 504 while the function goes on).
    "reserved_concurrency": 1,
    "timeout": 180,
    # A published revision is seen within a second, and a refused model retried a second later.
    "environment_variables": {"MANIFEST_TTL_SECONDS": "1", "MODEL_FAILURE_BACKOFF_SECONDS": "1"},
}
ANSWER_SECONDS = 120.0


@dataclass
class FaultsCatalog:
    """The catalog file and nlp2's folder, whose weights each ``new_revision`` stamps anew."""

    path: Path
    nlp2_dir: Path
    nlp2_weights: Path  # the offline nlp2's own file, never written
    revisions: int = 0

    def new_revision(self) -> None:
        self.revisions += 1
        (self.nlp2_dir / WEIGHTS_FILE).unlink()  # a symlink into the HF cache at first
        write_stamped_weights(
            self.nlp2_weights, self.nlp2_dir / WEIGHTS_FILE, {"faults_revision": str(self.revisions)}
        )


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> FaultsCatalog:
    folder = tmp_path_factory.mktemp("faults-catalog")
    bases = {model.model_type: model for model in resolve_catalog(load_catalog("offline"))}
    nlp2_dir = folder / "nlp2"
    nlp2_dir.mkdir()
    for file in bases["nlp2"].files:
        (nlp2_dir / file.name).symlink_to(file)
    nlp1 = load_catalog("offline").models["nlp1"]
    raw = {
        "description": "catalogs/offline.json with nlp2 from a folder the fault tests republish",
        "models": {
            "nlp1": {"repo_id": nlp1.source.repo_id, "revision": nlp1.source.revision, "eager": True},
            "nlp2": {"path": str(nlp2_dir), "eager": False},
        },
    }
    path = folder / f"{CATALOG_NAME}.json"
    path.write_text(json.dumps(raw, indent=2))
    return FaultsCatalog(path, nlp2_dir, bases["nlp2"].directory / WEIGHTS_FILE)


@pytest.fixture(scope="module", params=("s3", "efs"))
def stack(request: pytest.FixtureRequest, catalog: FaultsCatalog) -> Iterator[deploy.Deployment]:
    """Deploy one variant with the faults catalog, and destroy it whatever happened."""
    variant = request.param
    variables = {**VARIABLES, **({"ephemeral_storage_mb": EPHEMERAL_MB} if variant == "s3" else {})}
    localcloud.up()
    try:
        yield deploy.deploy(variant, "local", str(catalog.path), variables=variables)
    finally:
        deploy.destroy(variant, "local")


def only(stack: deploy.Deployment, variant: str) -> None:
    if stack.variant != variant:
        pytest.skip(f"a {variant} fault")


def ask(stack: deploy.Deployment, model_type: str, **payload: str) -> requests.Response:
    return faults.send("POST", stack.api_url, json={**example_payload(model_type), **payload})


def assert_answers(stack: deploy.Deployment, model_type: str) -> dict:
    response = ask(stack, model_type)
    assert response.status_code == 200, f"{model_type}: {response.text}"
    body = response.json()
    assert "1886" in body["answer"] and body["model_type"] == model_type, body
    return body


def answers_in_time(stack: deploy.Deployment, model_type: str, until: Callable[[dict], bool]) -> dict:
    """The first 200 for ``model_type`` whose body satisfies ``until`` (a refused model is retried
    after its backoff, a new manifest is read within its TTL)."""
    deadline = time.monotonic() + ANSWER_SECONDS
    while True:
        response = ask(stack, model_type)
        if response.status_code == 200 and until(response.json()):
            return assert_answers(stack, model_type)
        assert time.monotonic() < deadline, f"{model_type}: {response.status_code} {response.text}"
        time.sleep(1.0)


def assert_refused(response: requests.Response, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"} and body["error"]["code"] == code, body
    for fragment in fragments:
        assert fragment in body["error"]["message"], body


def environments(stack: deploy.Deployment) -> list[dict]:
    health = services.gateway_health(Settings.from_env()) or {}
    return [e for e in health.get("environments", []) if e["function"] == stack.function_name]


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def s3_client():
    return boto3.client("s3", **localcloud.boto3_kwargs())


# --- 1. the environment's container killed mid-request -----------------------------------------


def test_a_container_killed_mid_request_is_502_and_the_next_request_answers(stack):
    only(stack, "s3")
    assert_answers(stack, "nlp1")  # a warm environment with nlp1 loaded
    # The most expensive request the limits accept (48 windows, seconds of forward passes).
    slow = worst_accepted_request(qa.load_tokenizer(nlp1_folder()), RequestLimits())
    answered: dict[str, requests.Response] = {}
    request = threading.Thread(
        target=lambda: answered.update(
            response=ask(stack, "nlp1", question=slow.question, context=slow.context)
        )
    )
    request.start()
    busy = wait_for(
        lambda: [e for e in environments(stack) if e["state"] == "busy"], 30, "a busy environment"
    )
    time.sleep(0.5)  # inside the handler: the windows take seconds
    client = engine_client()
    try:
        client.containers.get(busy[0]["container"]).kill()
    finally:
        client.close()
    request.join(120)
    response = answered["response"]
    assert response.status_code == 502, response.text
    assert response.json() == {"message": "Internal Server Error"}  # API Gateway's own body
    assert_answers(stack, "nlp1")  # a fresh environment (cold)
    gone = busy[0]["container"]
    wait_for(lambda: gone not in leftovers.docker_objects(Settings.from_env())["containers"], 30, "removal")


# --- 2. a model's files corrupted in the store -------------------------------------------------


def test_a_corrupted_model_is_503_the_other_answers_and_a_good_revision_answers_without_a_redeploy(
    stack, catalog
):
    faults.corrupt_model_file(stack, CATALOG_NAME, "nlp2")
    localcloud.reset_environments(stack.function_name)  # nothing of nlp2 verified or cached
    assert_refused(ask(stack, "nlp2"), 503, "ModelUnavailable", "model 'nlp2' is unavailable", "sha256")
    assert_answers(stack, "nlp1")
    before = {e["environment"] for e in environments(stack)}
    catalog.new_revision()
    deploy.publish(stack.variant, "local", str(catalog.path))  # `make publish`: no image, no redeploy
    revision = faults.published_manifest(CATALOG_NAME).models["nlp2"].revision
    body = answers_in_time(stack, "nlp2", lambda b: b["model"]["revision"] == revision)
    assert body["model"]["revision"] == revision
    assert {e["environment"] for e in environments(stack)} == before  # the same, warm environment


# --- 3. the manifest missing ---------------------------------------------------------------------


def test_a_missing_manifest_is_503_on_both_routes_and_answers_once_it_is_back(stack):
    if stack.variant == "s3":
        bucket, key = stack.outputs["model_bucket"], object_key(MODEL_PREFIX, MANIFEST_NAME)
        saved = s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        # Every version deleted by its id rather than a delete marker left: moto's delete of a
        # marker (terraform destroy's force_destroy deletes every version) raises AttributeError
        # ('FakeDeleteMarker' object has no attribute 'dispose'), and the destroy retried for minutes.
        versions = s3_client().list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
        for version in [v for v in versions if v["Key"] == key]:
            s3_client().delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])

        def restore() -> None:
            s3_client().put_object(Bucket=bucket, Key=key, Body=saved)
    else:
        manifest = faults.efs_copy(MANIFEST_NAME)
        aside = manifest.with_name("manifest.aside")
        manifest.rename(aside)

        def restore() -> None:
            aside.rename(manifest)

    try:
        localcloud.reset_environments(stack.function_name)  # a cold start finds no manifest
        assert_refused(ask(stack, "nlp1"), 503, "ModelUnavailable", "'nlp1'", "manifest cannot be read")
        models = faults.send("GET", stack.api_url + "models")
        assert_refused(models, 503, "ServiceUnavailable", "manifest cannot be read")
    finally:
        restore()
    assert_answers(stack, "nlp1")  # the same environment reads it again: it never had one
    assert faults.send("GET", stack.api_url + "models").status_code == 200


# --- 4. /tmp full (s3) ---------------------------------------------------------------------------

FILL_TMP = f"""
import os, shutil
fd = os.open("/tmp/filler", os.O_WRONLY | os.O_CREAT, 0o600)
os.posix_fallocate(fd, 0, shutil.disk_usage("/tmp").free - {TMP_LEFT_FREE})
print(shutil.disk_usage("/tmp").free)
"""


def test_a_full_tmp_is_503_for_a_model_that_does_not_fit_and_the_cached_one_answers(stack):
    only(stack, "s3")
    localcloud.reset_environments(stack.function_name)
    assert_answers(stack, "nlp1")  # a cold environment: nlp1 (eager) in /tmp and in memory
    (environment,) = environments(stack)
    client = engine_client()
    try:
        container = client.containers.get(environment["container"])
        filled = container.exec_run(["python3", "-c", FILL_TMP])
        assert filled.exit_code == 0, filled.output
        assert int(filled.output.decode().split()[-1]) <= TMP_LEFT_FREE
        assert_refused(ask(stack, "nlp2"), 503, "ModelUnavailable", "'nlp2'", "ephemeral storage")
        assert assert_answers(stack, "nlp1")["cache_hit"] is True  # still in memory: not unloaded for nothing
        assert container.exec_run(["rm", "/tmp/filler"]).exit_code == 0
    finally:
        client.close()
    answers_in_time(stack, "nlp2", lambda _body: True)  # room again: after its backoff, nlp2 loads
    assert [e["environment"] for e in environments(stack)] == [environment["environment"]]


# --- 5. the gateway restarted while environments run --------------------------------------------


def test_a_gateway_killed_and_started_again_leaves_no_orphan_and_the_next_request_answers(stack):
    only(stack, "efs")
    assert_answers(stack, "nlp1")
    settings = Settings.from_env()
    running = leftovers.docker_objects(settings)["containers"]
    assert running, "no environment runs"
    record = processes.load("gateway", settings.services_dir)
    assert record is not None
    os.kill(record.pid, signal.SIGKILL)  # no shutdown: its containers are left behind
    wait_for(lambda: not processes.alive(record), 30, "the gateway to die")
    localcloud.up()  # a new gateway: it removes what the killed one left
    assert not set(running) & set(leftovers.docker_objects(settings)["containers"])
    assert_answers(stack, "nlp1")
    known = {e["container"] for e in (services.gateway_health(settings) or {}).get("environments", [])}
    assert set(leftovers.docker_objects(settings)["containers"]) == known  # every container is owned


# --- 6. two seeders at once (efs) ----------------------------------------------------------------


def test_two_seeders_at_once_take_turns_and_leave_the_newest_manifest_verified(stack):
    """The test holds the file system's seeding lock (the same flock the seeders take, through
    the bind mount) until both seeders wait for it, so they surely run at once; released, one
    copies and the other, in its turn, finds everything copied."""
    only(stack, "efs")
    manifest = faults.published_manifest(CATALOG_NAME)
    root = faults.efs_copy(MANIFEST_NAME).parent
    for model in manifest.models.values():  # both would copy again
        for file in model.files:
            (root / model.folder / file.name).unlink()
    seeder = stack.outputs["seeder_function_name"]
    # One attempt each (a retried invoke would be a third seeder), waiting as long as a turn takes.
    once = Config(read_timeout=600, retries={"total_max_attempts": 1})
    lambda_client = boto3.client("lambda", config=once, **localcloud.boto3_kwargs())
    results: list[dict] = []
    logs = Settings.from_env().logs_dir / seeder

    def waiting() -> int:
        return sum(path.read_text(errors="replace").count(WAITING_MESSAGE) for path in logs.glob("*.log"))

    def run_seeder() -> None:
        answer = lambda_client.invoke(FunctionName=seeder, Payload=b"{}")
        results.append({"error": answer.get("FunctionError"), **json.loads(answer["Payload"].read())})

    seeders = [threading.Thread(target=run_seeder) for _ in range(2)]
    already = waiting()
    with seeding_turn(root):
        for thread in seeders:
            thread.start()
        wait_for(lambda: waiting() - already >= 2, 120, "both seeders to wait for the lock")
    for thread in seeders:
        thread.join(600)
    assert [r["error"] for r in results] == [None, None], results
    assert sorted(r["copied"] for r in results) == [[], ["nlp1", "nlp2"]], results  # the second skipped
    assert min(r["lock_wait_seconds"] for r in results) > 0, results  # both waited their turn
    bucket = stack.outputs["model_bucket"]
    published = s3_client().get_object(Bucket=bucket, Key=object_key(MODEL_PREFIX, MANIFEST_NAME))["Body"]
    assert (root / MANIFEST_NAME).read_bytes() == published.read()  # the newest, not rolled back
    store = efs_store(root)
    for model in manifest.models.values():
        store.materialize(model)  # every file there, sha256 verified
    assert not [p for p in root.rglob("*") if PART_TAG in p.name]
    localcloud.reset_environments(stack.function_name)  # a cold start hashes the new copies
    assert_answers(stack, "nlp2")
