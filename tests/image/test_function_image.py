"""The built function image, run as Lambda runs it, answering through its RIE.

Requests are API Gateway HTTP API (payload 2.0) events, as the deployed API sends them; the
answers must equal those ../shared/hf-cache/README.md lists for its paragraph.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from harness.example import CAR_QUESTION
from harness.images.build import build_function_image, plan_function_image

pytestmark = pytest.mark.docker


def http_event(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    """A minimal but complete HTTP API payload-2.0 event."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "localhost"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "imagetest",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def ask(function: Any, payload: dict[str, Any] | str) -> tuple[int, dict[str, Any]]:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    response = function.invoke(http_event("POST", "/", body))
    assert "statusCode" in response, response
    return response["statusCode"], json.loads(response["body"])


def assert_error(status: int, body: dict[str, Any], expected_status: int, expected_code: str) -> None:
    assert status == expected_status, body
    assert body["error"]["code"] == expected_code, body
    assert body["error"]["message"]
    assert body["request_id"]
    assert "Traceback" not in json.dumps(body)


@pytest.mark.parametrize("model_type", ["nlp1", "nlp2"])
def test_car_question_answers_1886(oci_function, check_answers, model_type):
    status, body = ask(
        oci_function, {"model_type": model_type, "question": CAR_QUESTION, "context": check_answers.context}
    )
    assert status == 200, body
    assert "1886" in body["answer"]
    assert body["answer"] == check_answers.answers[CAR_QUESTION][model_type]
    assert check_answers.context[body["start"] : body["end"]] == body["answer"]
    assert body["model_type"] == model_type


@pytest.mark.parametrize("model_type", ["nlp1", "nlp2"])
def test_answers_equal_the_model_readme(oci_function, check_answers, model_type):
    got = {}
    for question in check_answers.answers:
        status, body = ask(
            oci_function, {"model_type": model_type, "question": question, "context": check_answers.context}
        )
        assert status == 200, body
        got[question] = body["answer"]
    assert got == {q: by_model[model_type] for q, by_model in check_answers.answers.items()}


def test_malformed_json_is_400(oci_function):
    assert_error(*ask(oci_function, '{"model_type": "nlp1", "question": '), 400, "BadRequest")


def test_missing_field_is_400(oci_function):
    assert_error(*ask(oci_function, {"model_type": "nlp1", "question": CAR_QUESTION}), 400, "BadRequest")


def test_unknown_model_is_404_and_lists_the_known_ones(oci_function, check_answers):
    status, body = ask(
        oci_function, {"model_type": "nlp9", "question": CAR_QUESTION, "context": check_answers.context}
    )
    assert_error(status, body, 404, "ModelNotFound")
    assert "nlp1" in body["error"]["message"] and "nlp2" in body["error"]["message"]


def test_context_over_the_limit_is_413(oci_function):
    # The fixture sets MAX_CONTEXT_CHARS=2000.
    too_long = {"model_type": "nlp1", "question": CAR_QUESTION, "context": "car " * 1000}
    status, body = ask(oci_function, too_long)
    assert_error(status, body, 413, "PayloadTooLarge")


def test_every_process_runs_as_uid_993(oci_function):
    code, output = oci_function.container.exec_run(
        ["sh", "-c", "for s in /proc/[0-9]*/status; do grep -h '^Uid:' $s; done"], user="993"
    )
    uids = {line.split()[1] for line in output.decode().splitlines() if line.startswith("Uid:")}
    assert code == 0 and uids == {"993"}, output.decode()
    # The runtime itself, not just the exec'd shell: PID 1 is the RIE, and the Python under it.
    _, cmdlines = oci_function.container.exec_run(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])
    assert "aws-lambda-rie" in cmdlines.decode() and "awslambdaric" in cmdlines.decode()


def test_the_runtime_spins_briefly_so_environments_can_share_cores(oci_function):
    """GOMP_SPINCOUNT reaches the process that loads torch's libgomp (the Dockerfile says why)."""
    # The RIE starts the runtime on the first invoke: make sure there is one.
    status, _ = ask(oci_function, {"model_type": "nlp2", "question": CAR_QUESTION, "context": "In 1886."})
    assert status == 200
    script = (
        "for p in /proc/[0-9]*; do "
        "if tr '\\0' ' ' < $p/cmdline | grep -q '^/opt/venv/bin/python3 -m awslambdaric'; then "
        "tr '\\0' '\\n' < $p/environ; fi; done"
    )
    code, output = oci_function.container.exec_run(["sh", "-c", script])
    assert code == 0 and "GOMP_SPINCOUNT=1000" in output.decode().splitlines(), output.decode()


def test_root_filesystem_is_read_only_and_tmp_writable(oci_function):
    for path in ("/var/task/x", "/opt/models/x", "/x"):
        code, output = oci_function.container.exec_run(["sh", "-c", f"echo x > {path}"])
        assert code != 0 and b"Read-only file system" in output, (path, output)
    code, output = oci_function.container.exec_run(["sh", "-c", "echo x > /tmp/x && cat /tmp/x"])
    assert code == 0 and output.strip() == b"x", output


def test_in_lambda_the_entrypoint_runs_awslambdaric_without_the_rie(docker_engine, oci_image):
    """With AWS_LAMBDA_RUNTIME_API set (as Lambda sets it), PID 1 is the runtime client itself."""
    container = docker_engine.containers.run(
        oci_image.tag,
        detach=True,
        read_only=True,
        user="993:990",
        network_mode="none",
        tmpfs={"/tmp": "rw,size=64m"},
        environment={"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"},
    )
    try:
        code, cmdline = container.exec_run(["cat", "/proc/1/cmdline"])
        assert code == 0, cmdline
        assert cmdline.split(b"\0")[:4] == [
            b"/opt/venv/bin/python3",
            b"-m",
            b"awslambdaric",
            b"inference.handler.handler",
        ]
    finally:
        container.remove(force=True)


def run_python(engine: Any, image: str, script: str) -> str:
    """The output of ``script`` run by the image's venv Python as Lambda runs code: read-only root,
    uid 993, only /tmp writable, no network."""
    output = engine.containers.run(
        image,
        entrypoint=["/opt/venv/bin/python3", "-c", script],
        read_only=True,
        user="993:990",
        network_mode="none",
        remove=True,
        tmpfs={"/tmp": "rw,size=64m"},
    )
    return output.decode()


def test_no_weights_image_imports_its_stack_read_only_as_uid_993(docker_engine, s3_image):
    """The S3/EFS image: no /opt/models, CPU-only torch, every import works with nothing writable."""
    script = (
        "import os, torch, transformers, tokenizers, awslambdaric, aws_lambda_powertools, botocore; "
        "assert not os.path.exists('/opt/models'); assert torch.version.cuda is None; "
        "assert os.getuid() == 993; import inference.contract; print('ok', torch.__version__)"
    )
    output = run_python(docker_engine, s3_image.tag, script)
    assert output.startswith("ok 2.13.0+cpu"), output


def test_images_are_tagged_by_content_and_not_rebuilt(s3_image, lean_image, oci_image, offline_bundle):
    assert s3_image.tag == f"lambda-inference/function-torch:{s3_image.content_hash[:16]}"
    assert lean_image.tag == f"lambda-inference/function-onnxruntime:{lean_image.content_hash[:16]}"
    assert oci_image.tag == f"lambda-inference/function-oci-offline:{oci_image.content_hash[:16]}"
    if plan_function_image("oci", {"torch"}, offline_bundle).tag != oci_image.tag:
        pytest.skip("function/ changed while the tests ran; a no-op rebuild cannot be checked")
    again = build_function_image("oci", {"torch"}, model_bundle=offline_bundle)
    assert (again.tag, again.built) == (oci_image.tag, False)
    # The models layer is the only difference: the weights are in it, and nowhere in the S3 image.
    assert oci_image.size_bytes - s3_image.size_bytes > 150_000_000


# --- the lean image of the ONNX catalogs ---------------------------------------------------------


LEAN_IMAGE_ABSENT = ("torch", "transformers", "safetensors", "boto3", "s3transfer")


def test_the_lean_image_has_onnx_runtime_and_no_torch(docker_engine, lean_image):
    """Neither torch nor transformers is installed (not merely unimported), nor boto3 (the S3 store
    uses botocore alone), and the rest imports."""
    script = (
        "import importlib.util as u, os; "
        f"absent = {LEAN_IMAGE_ABSENT!r}; "
        "missing = [m for m in absent if u.find_spec(m) is None]; "
        "import onnxruntime, tokenizers, numpy, awslambdaric, aws_lambda_powertools, botocore; "
        "from inference import engines; "
        "assert engines.installed_runtimes() == ('onnxruntime',), engines.installed_runtimes(); "
        "assert not os.path.exists('/opt/models') and os.getuid() == 993; "
        "print('ok', onnxruntime.__version__, *missing)"
    )
    output = run_python(docker_engine, lean_image.tag, script)
    assert output.split() == ["ok", "1.32.0", *LEAN_IMAGE_ABSENT], output
    assert not any(name.startswith("torch") for name in lean_image.runtimes)


def test_image_sizes_follow_the_engines(s3_image, lean_image, oci_int8_image):
    """The lean image is the torch one without torch: under 400 MB, and the int8 OCI under 450 MB."""
    assert lean_image.size_bytes < 400_000_000
    assert s3_image.size_bytes - lean_image.size_bytes > 400_000_000
    assert oci_int8_image.size_bytes < 450_000_000


@pytest.mark.parametrize("model_type", ["nlp1", "nlp2"])
def test_the_int8_image_answers_the_car_question_on_onnx_runtime(
    oci_int8_function, check_answers, model_type
):
    payload = {"model_type": model_type, "question": CAR_QUESTION, "context": check_answers.context}
    status, body = ask(oci_int8_function, payload)
    assert status == 200, body
    assert body["answer"] == check_answers.answers[CAR_QUESTION][model_type]
    assert "1886" in body["answer"]
    assert body["model"]["engine"] == "onnx-int8"


def test_the_int8_image_lists_onnx_runtime_only(oci_int8_function):
    response = oci_int8_function.invoke(http_event("GET", "/models"))
    body = json.loads(response["body"])
    assert body["runtimes"] == ["onnxruntime"]
    assert {m["engine"] for m in body["models"].values()} == {"onnx-int8"}
