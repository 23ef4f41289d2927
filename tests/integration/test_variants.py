"""Each variant end to end on the local cloud: deploy, query over HTTP, plan, destroy, nothing left.

These are the tests a user's `make deploy VARIANT=...` must pass: real Terraform applies against
the moto server through the real AWS provider, the real function image pulled from the local
registry, requests through the local API Gateway into the RIE inside the container.
"""

from __future__ import annotations

import base64
import json
import re
import time

import boto3
import pytest
import requests

from harness import deploy, localcloud
from harness.example import CAR_CONTEXT, CAR_QUESTION
from harness.paths import MODULES_DIR, TERRAFORM_DIR, VARIANTS
from tests.awscli import aws_cli
from tests.integration import pathological

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.localcloud]

# The answers ../shared/hf-cache/README.md lists for the car question.
EXPECTED_CAR_ANSWERS = {"nlp1": "The year 1886", "nlp2": "1886"}


@pytest.fixture(scope="module", params=VARIANTS)
def deployed(request):
    """Deploy one variant, hand it to the tests, and destroy it whatever happened."""
    variant = request.param
    localcloud.up()
    try:
        yield deploy.deploy(variant, "local", "offline")
    finally:
        deploy.destroy(variant, "local")


def _post(url: str, payload: object | str) -> requests.Response:
    if isinstance(payload, str):
        return requests.post(url, data=payload, headers={"Content-Type": "application/json"}, timeout=300)
    return requests.post(url, json=payload, timeout=300)


@pytest.mark.parametrize("model_type", sorted(EXPECTED_CAR_ANSWERS))
def test_car_question_answers_1886(deployed, model_type):
    response = _post(
        deployed.api_url, {"model_type": model_type, "question": CAR_QUESTION, "context": CAR_CONTEXT}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == EXPECTED_CAR_ANSWERS[model_type]
    assert "1886" in body["answer"]
    assert CAR_CONTEXT[body["start"] : body["end"]] == body["answer"]
    assert body["model_type"] == model_type


def test_models_route_lists_the_catalog(deployed):
    response = requests.get(deployed.api_url + "models", timeout=120)
    assert response.status_code == 200, response.text
    assert set(response.json()["models"]) == {"nlp1", "nlp2"}


def test_bad_json_is_400(deployed):
    response = _post(deployed.api_url, '{"model_type": "nlp1", "question": ')
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"]


def test_pathological_requests_answer_2xx_or_4xx_with_a_short_error_body(deployed):
    """Every request of the corpus through the deployed endpoint: its status, never a 5xx, the
    error shape (API Gateway's own for a request that matches no route), and an error body that
    quotes only a bounded prefix of what was sent."""
    wrong = []
    for case in pathological.CASES:
        response = requests.request(
            case.method, deployed.api_url + case.path, data=case.body, headers=case.headers, timeout=120
        )
        problem = None
        if response.status_code != case.status:
            problem = f"status {response.status_code}, expected {case.status}"
        elif case.answered_by == "gateway":
            if response.json() != {"message": "Not Found"}:
                problem = "not API Gateway's own 404"
        elif response.status_code >= 400:
            body = response.json()
            if set(body) != {"error", "request_id"} or set(body["error"]) != {"code", "message"}:
                problem = "not the error shape"
            elif len(response.content) > pathological.MAX_ERROR_BODY_BYTES:
                problem = f"error body of {len(response.content)} bytes"
        if problem:
            wrong.append(f"{case.name}: {problem}: {response.text[:200]}")
    assert len(pathological.CASES) >= 50
    assert not wrong, "\n".join(wrong)


def test_unknown_model_is_404_and_lists_known(deployed):
    response = _post(deployed.api_url, {"model_type": "nlp9", "question": "q?", "context": "c."})
    assert response.status_code == 404, response.text
    message = response.json()["error"]["message"]
    assert "nlp1" in message and "nlp2" in message


def test_direct_lambda_invoke(deployed):
    """`aws lambda invoke`, as the old sample was tested, through the same endpoint URL."""
    client = boto3.client("lambda", **localcloud.boto3_kwargs())
    result = client.invoke(
        FunctionName=deployed.function_name,
        Payload=json.dumps({"model_type": "nlp2", "question": CAR_QUESTION, "context": CAR_CONTEXT}),
    )
    assert "FunctionError" not in result
    assert json.loads(result["Payload"].read())["answer"] == "1886"


def test_cloudwatch_as_the_aws_cli_sees_it(deployed, tmp_path, capsys):
    """After a real deploy: `aws lambda invoke --log-type Tail` returns the invocation's REPORT
    line, `aws logs filter-log-events` reads the function's REPORT lines from its log group, and
    `aws cloudwatch list-metrics` lists the function's own EMF metrics, per model, and
    `make logs` prints the same log group."""
    endpoint = localcloud.aws_endpoint_url()
    request = {"model_type": "nlp2", "question": CAR_QUESTION, "context": CAR_CONTEXT}
    answered = json.loads(
        aws_cli(
            endpoint,
            "lambda",
            "invoke",
            "--function-name",
            deployed.function_name,
            "--payload",
            json.dumps(request),
            "--log-type",
            "Tail",
            str(tmp_path / "answer.json"),
        )
    )
    assert json.loads((tmp_path / "answer.json").read_text())["answer"] == "1886"
    tail = base64.b64decode(answered["LogResult"]).decode()
    assert re.search(r"^REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms", tail, re.M), (
        tail
    )

    def poll(args: tuple[str, ...], found) -> object:
        deadline = time.monotonic() + 30
        while True:
            value = found(json.loads(aws_cli(endpoint, *args)))
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.5)

    group = f"/aws/lambda/{deployed.function_name}"
    reports = poll(
        ("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "REPORT"),
        lambda answer: [e["message"] for e in answer["events"] if "Max Memory Used:" in e["message"]],
    )
    assert reports, f"no REPORT line in {group}"
    deploy.print_logs(deployed.variant, "local")  # `make logs` reads the same log group
    assert "REPORT RequestId: " in capsys.readouterr().out
    model_metrics = poll(
        ("cloudwatch", "list-metrics", "--namespace", "LambdaInference"),
        lambda answer: [
            m["MetricName"]
            for m in answer["Metrics"]
            if {"Name": "model_type", "Value": "nlp2"} in m.get("Dimensions", [])
        ],
    )
    assert model_metrics, "no EMF metric with the model_type dimension"
    # Other stacks of the session (oci, the fleet) have their own Invocations metric: find ours.
    ours = {"Name": "FunctionName", "Value": deployed.function_name}
    invocations = poll(
        ("cloudwatch", "list-metrics", "--namespace", "AWS/Lambda", "--metric-name", "Invocations"),
        lambda answer: [m for m in answer["Metrics"] if ours in m.get("Dimensions", [])],
    )
    assert invocations, f"no AWS/Lambda Invocations metric for {deployed.function_name}"


def test_the_committed_folders_hold_nothing_of_the_local_target(deployed):
    """A hand-run `terraform -chdir=terraform/<variant> plan` after `make deploy` means AWS."""
    for folder in (TERRAFORM_DIR / deployed.variant, *MODULES_DIR.iterdir()):
        generated = sorted(p.name for p in folder.glob("*override.tf"))
        assert generated == [], f"{folder} holds {generated}"


def test_plan_after_apply_has_no_changes(deployed):
    assert deploy.plan(deployed.variant, "local") == 0


def test_a_bucket_lost_outside_terraform_is_created_again_by_the_next_deploy(deployed):
    """moto forgets everything at `make local-down` while the Terraform state stays (and on AWS a
    bucket can be deleted by hand): the next deploy must create the bucket again and publish into
    it, not fail on a bucket that only the state remembers."""
    if deployed.variant != "s3":
        pytest.skip("s3 and efs share the step that creates the bucket; one of them is enough")
    s3 = boto3.resource("s3", **localcloud.boto3_kwargs())
    lost = s3.Bucket(deployed.outputs["model_bucket"])
    lost.object_versions.delete()
    lost.delete()

    again = deploy.deploy("s3", "local", "offline")
    assert again.outputs["model_bucket"] != lost.name  # a new bucket (the stack names it by prefix)
    response = _post(again.api_url, {"model_type": "nlp2", "question": CAR_QUESTION, "context": CAR_CONTEXT})
    assert response.status_code == 200, response.text
    assert response.json()["answer"] == EXPECTED_CAR_ANSWERS["nlp2"]
