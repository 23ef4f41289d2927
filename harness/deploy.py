"""The deploy flow: catalog -> bundle -> image -> push -> publish -> apply -> wait -> URL.

Each step skips itself when its inputs are unchanged (content-hash image tags, sha256-checked
uploads, Terraform's own plan), so re-running `make deploy` with nothing changed changes nothing.
This module only sequences the parts; each part lives in its own package.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from inference.contract import ENGINE_RUNTIMES

from harness.api_auth import ApiAuth
from harness.errors import HarnessError
from harness.example import example_payload
from harness.progress import say, step
from harness.terraform.runner import Stack

MODEL_PREFIX = "models"
ENDPOINT_WAIT_SECONDS = 300.0
# A targeted apply of the repository runs before any image exists; the function is not in it.
# The value must still pass the module's image_uri validation: a destroy evaluates every module,
# and a deploy that failed before its first full apply leaves only this value to destroy with.
PENDING_IMAGE_URI = "pending.invalid/not-built:pending"
# The stacks' authentication inputs, remembered across deploys (see _authorization_variables).
AUTHORIZATION_VARIABLES = ("api_authorization", "jwt_issuer", "jwt_audiences")


@dataclass
class Deployment:
    """What a deploy produced: enough to query, benchmark and destroy it."""

    variant: str
    target: str
    api_url: str
    function_name: str
    image_tag: str = ""
    image_size_bytes: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        curl = self.outputs.get("curl_command") or (
            f"curl -s -X POST '{self.api_url}' -H 'Content-Type: application/json' "
            f"-d '{json.dumps(example_payload())}'"
        )
        return f"API URL: {self.api_url}\nFunction: {self.function_name}\nTry it:\n  {curl}"


def _stack(variant: str, target: str) -> Stack:
    if target == "local":
        from harness import localcloud

        localcloud.up()
    return Stack(variant, target=target)


def _variables_path(stack: Stack) -> Path:
    return stack.state_dir / "deploy-variables.json"


def _save_variables(stack: Stack, variables: dict[str, Any]) -> None:
    """Remember what the last apply used, so plan/destroy/publish run with the same inputs."""
    _variables_path(stack).write_text(json.dumps(variables, indent=2, sort_keys=True) + "\n")


def _image_record_path(stack: Stack) -> Path:
    return stack.state_dir / "deployed-image.json"


def _save_image_record(stack: Stack, tag: str, runtimes: frozenset[str]) -> None:
    """What the deployed function's image can run, for publish's warning (not a Terraform input)."""
    record = {"tag": tag, "runtimes": sorted(runtimes)}
    _image_record_path(stack).write_text(json.dumps(record, indent=2) + "\n")


def deployed_runtimes(stack: Stack) -> frozenset[str] | None:
    """The engine runtimes of the image the last deploy applied; None when unknown."""
    path = _image_record_path(stack)
    if not path.is_file():
        return None
    return frozenset(json.loads(path.read_text()).get("runtimes", ()))


def _warn_missing_runtimes(stack: Stack, catalog_name: str) -> None:
    """Say, before publishing, which models the deployed image cannot run (they would answer 503)."""
    from harness.models import load_catalog

    have = deployed_runtimes(stack)
    if have is None:
        return
    catalog = load_catalog(catalog_name)
    lacking = sorted(
        (mt, e.engine) for mt, e in catalog.models.items() if ENGINE_RUNTIMES[e.engine] not in have
    )
    for model_type, engine in lacking:
        say(
            f"warning: model {model_type!r} runs on the {engine!r} engine, but the deployed {stack.variant} "
            f"function's image has only {', '.join(sorted(have)) or 'no runtime'}: it will answer 503 for "
            f"{model_type!r} until `make deploy VARIANT={stack.variant} CATALOG={catalog_name}`"
        )


def _saved_variables(stack: Stack) -> dict[str, Any]:
    path = _variables_path(stack)
    if not path.exists():
        return {"image_uri": PENDING_IMAGE_URI}
    return json.loads(path.read_text())


def _bundle(catalog_name: str) -> tuple[Path, str]:
    """Resolve the catalog and lay its models out as a bundle (exporting the ONNX engines' graphs
    first, once per export setting); returns (dir, manifest sha256)."""
    from harness.models import build_bundle, default_bundle_dir, load_catalog, manifest_sha256

    catalog = load_catalog(catalog_name)
    dest = default_bundle_dir(catalog.name)
    engines = ", ".join(f"{mt}: {e.engine}" for mt, e in sorted(catalog.models.items()))
    with step(f"resolve catalog {catalog.name!r} ({engines})"):
        build_bundle(catalog, dest)
    return dest, manifest_sha256(dest)


def build_image(variant: str, catalog_name: str = "offline"):  # -> BuiltImage
    """The variant's image with the engine runtimes of the catalog (and, for oci, its models)."""
    from harness.images.build import build_function_image
    from harness.images.limits import check_baked_size
    from harness.models import fleet, load_catalog
    from harness.models.fleet import FLEET_NAME

    if variant == "oci" and catalog_name == FLEET_NAME:
        # Refuse a fleet too big to bake before generating gigabytes of copies for it.
        check_baked_size(FLEET_NAME, fleet.planned_sizes(), fleet.FLEET_RUNTIMES)
    runtimes = load_catalog(catalog_name).runtimes
    bundle = _bundle(catalog_name)[0] if variant == "oci" else None
    # BASE_IMAGE: another base than the project's Debian one (e.g. a mirror of an AWS base image).
    with step(f"build the {variant} function image ({', '.join(sorted(runtimes))})"):
        return build_function_image(
            variant, runtimes, model_bundle=bundle, base_image=os.environ.get("BASE_IMAGE")
        )


def _ensure_foundation(stack: Stack) -> dict[str, Any]:
    """Create the image repository (and model bucket) once, before anything is pushed there.

    The state alone is not proof: the local cloud's moto forgets everything at ``local down``
    while the state stays, and on AWS a bucket can be deleted by hand. A bucket the state names
    but the endpoint does not have is created again by the same targeted apply.
    """
    outputs = stack.output()
    bucket = outputs.get("model_bucket")
    if outputs.get("repository_url") and (
        stack.variant == "oci" or (bucket and _bucket_exists(bucket, stack.target))
    ):
        return outputs
    variables = _saved_variables(stack)
    targets = ["module.image_repository"] + ([] if stack.variant == "oci" else ["module.model_bucket"])
    with step("terraform apply: image repository" + ("" if stack.variant == "oci" else " and model bucket")):
        stack.apply(variables, targets=targets)
    return stack.output()


def publish(variant: str, target: str = "local", catalog_name: str = "offline") -> str:
    """Publish the catalog to the variant's bucket; returns the manifest sha256.

    S3 and EFS read from the bucket (EFS through its seeder, triggered by the manifest hash);
    OCI bakes the models into the image, so publishing there means a new image and an apply.
    """
    bundle, manifest_sha = _bundle(catalog_name)
    if variant == "oci":
        return manifest_sha
    stack = _stack(variant, target)
    _warn_missing_runtimes(stack, catalog_name)
    outputs = _ensure_foundation(stack)
    _publish_bundle(bundle, outputs, target)
    if variant == "efs" and outputs.get("function_name"):
        # The seeder runs inside Terraform (aws_lambda_invocation keyed on the manifest hash).
        variables = {**_saved_variables(stack), "models_manifest_sha256": manifest_sha}
        with step("terraform apply: reseed the file system"):
            stack.apply(variables)
        _save_variables(stack, variables)
    return manifest_sha


def _bucket_exists(bucket: str, target: str) -> bool:
    from harness.models.publish_s3 import bucket_exists

    if bucket_exists(_s3_client(target), bucket):
        return True
    say(f"bucket {bucket} is in the Terraform state but not at the endpoint: creating it again")
    return False


def _publish_bundle(bundle: Path, outputs: dict[str, Any], target: str) -> None:
    from harness.models import publish_to_s3

    bucket = outputs["model_bucket"]
    with step(f"publish models to s3://{bucket}/{MODEL_PREFIX}/"):
        publish_to_s3(bundle, bucket, MODEL_PREFIX, s3_client=_s3_client(target))


def _s3_client(target: str):
    import boto3

    if target == "local":
        from harness.localcloud import boto3_kwargs

        return boto3.client("s3", **boto3_kwargs())
    return boto3.client("s3")


def deploy(
    variant: str,
    target: str = "local",
    catalog_name: str = "offline",
    variables: dict[str, Any] | None = None,
) -> Deployment:
    """Build, push, publish, apply, and wait until the endpoint answers.

    ``variables`` are extra inputs of the root stack (e.g. ``{"model_memory_budget_mb": 300}``),
    merged over what the harness passes itself; they are saved with the rest, so a later plan,
    publish or destroy runs with them too.
    """
    from harness.images.push import push_image

    stack = _stack(variant, target)
    bundle, manifest_sha = _bundle(catalog_name)
    with step(f"terraform init ({variant}, {target})"):
        stack.init()
    outputs = _ensure_foundation(stack)
    image = build_image(variant, catalog_name)
    with step(f"push {image.tag} to {outputs['repository_url']}"):
        image_uri = push_image(image.tag, outputs["repository_url"], target=target)
    if variant != "oci":
        _publish_bundle(bundle, outputs, target)
    variables = {
        **_authorization_variables(_saved_variables(stack)),
        **(variables or {}),  # the caller's choice wins over the remembered authorization
        "image_uri": image_uri,
        "models_manifest_sha256": manifest_sha,
    }
    with step(f"terraform apply ({variant}, {target})"):
        outputs = stack.apply(variables)
    _save_variables(stack, variables)
    _save_image_record(stack, image.tag, image.runtimes)
    deployment = Deployment(
        variant=variant,
        target=target,
        api_url=outputs["api_url"],
        function_name=outputs["function_name"],
        image_tag=image.tag,
        image_size_bytes=image.size_bytes,
        outputs=outputs,
    )
    wait_until_ready(deployment.api_url, _readiness_auth(outputs, target))
    return deployment


def _authorization_variables(saved: dict[str, Any]) -> dict[str, Any]:
    """api_authorization, jwt_issuer, jwt_audiences: from ``TF_VAR_*`` when set, else the last deploy's.

    Saved with the other inputs, so a later ``make publish`` (which applies the EFS stack again)
    keeps the API's authorization instead of falling back to the default NONE.
    """
    chosen: dict[str, Any] = {}
    for name in AUTHORIZATION_VARIABLES:
        raw = os.environ.get(f"TF_VAR_{name}")
        if raw is None:
            if name in saved:
                chosen[name] = saved[name]
            continue
        try:
            chosen[name] = json.loads(raw) if name == "jwt_audiences" else raw
        except ValueError:
            raise HarnessError(f"TF_VAR_{name} must be a JSON list, e.g. '[\"inference\"]'") from None
    return chosen


def _readiness_auth(outputs: dict[str, Any], target: str) -> ApiAuth | None:
    """How the readiness poll authenticates; None: a JWT API and no $TOKEN to send."""
    try:
        return ApiAuth.for_stack(outputs, target)
    except HarnessError as exc:
        say(f"{exc}; waiting only for the API to answer (401), not for the function")
        return None


def wait_until_ready(api_url: str, auth: ApiAuth | None, timeout: float = ENDPOINT_WAIT_SECONDS) -> None:
    """Poll `GET /models` until the function answers 200 (its first, cold answer).

    With ``auth`` None (a JWT API without a token) the API's own 401 is all there is to wait for.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    with step(f"wait for {api_url}"):
        while time.monotonic() < deadline:
            try:
                response = (auth or ApiAuth()).request("GET", api_url + "models", timeout=60)
                if response.status_code == 200 or (auth is None and response.status_code == 401):
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(1.0)
    raise HarnessError(f"{api_url} did not answer within {timeout:.0f}s (last: {last}); see `make logs`")


def destroy(variant: str, target: str = "local") -> None:
    stack = _stack(variant, target)
    with step(f"terraform destroy ({variant}, {target})"):
        stack.destroy(_saved_variables(stack))
    _variables_path(stack).unlink(missing_ok=True)
    _image_record_path(stack).unlink(missing_ok=True)


def plan(variant: str, target: str = "local", catalog_name: str = "offline") -> int:
    """Plan with the inputs of the last deploy; returns how many resources would change."""
    stack = _stack(variant, target)
    return len(stack.plan(_saved_variables(stack)).changes)


def terraform(variant: str, target: str, args: list[str]) -> int:
    """Run ``terraform <args>`` by hand on the stack the harness deploys (``make tf``).

    For the local target that is the generated working copy under the state folder, with the local
    cloud started first; the commands that take variables get the last deploy's. Returns
    Terraform's exit code.
    """
    stack = _stack(variant, target)
    say(f"terraform {' '.join(args)} in {stack.work_dir}")
    return stack.run_by_hand(args, var_file=_variables_path(stack))


def invoke(
    variant: str, target: str, model_type: str, question: str, context: str, token: str | None = None
) -> tuple[int, Any]:
    """POST a question, authenticated as the stack requires (signed, or with ``token`` / $TOKEN)."""
    stack = _stack(variant, target)
    outputs = stack.output()
    api_url = outputs.get("api_url")
    if not api_url:
        raise HarnessError(
            f"the {variant} stack is not deployed on {target}: run `make deploy VARIANT={variant}`"
        )
    payload = {"model_type": model_type, "question": question, "context": context}
    auth = ApiAuth.for_stack(outputs, target, token)
    response = auth.request("POST", api_url, json.dumps(payload).encode())
    try:
        body = response.json()
    except ValueError:
        body = {"raw": response.text}
    return response.status_code, body


def print_logs(variant: str, target: str, since: str | None = None, follow: bool = False) -> None:
    """The function's log group; with ``since``/``follow``, ``aws logs tail`` (v2) done on v1's API.

    On AWS the CLI v2 users have does this itself, so the command is printed; locally the harness
    reads the local CloudWatch Logs (``cloudwatch/reader.py`` says why it is not the CLI).
    """
    stack = _stack(variant, target)
    name = stack.output().get("function_name")
    if not name:
        raise HarnessError(f"the {variant} stack is not deployed on {target}")
    if target != "local":
        options = "".join([f" --since {since}" if since else "", " --follow" if follow else ""])
        say(f"aws logs tail /aws/lambda/{name}{options}")
        return
    import boto3

    from harness.localcloud import boto3_kwargs
    from harness.localcloud.cloudwatch.reader import DEFAULT_SINCE, lambda_logs, since_ms, tail_logs

    client = boto3.client("logs", **boto3_kwargs())
    if since is None and not follow:
        print(lambda_logs(client, name))
        return
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a follow, as it ends `aws logs tail`
        tail_logs(client, name, start_ms=since_ms(since or DEFAULT_SINCE), follow=follow)
