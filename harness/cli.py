"""The harness's command line: parse, call one function, turn known failures into one clear line.

The Makefile calls this (`python -m harness ...`); every command is a thin wrapper over a function
of `harness.deploy`, `harness.localcloud` or `harness.bench`, which is what tests call directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from harness import example
from harness.bench import options as bench_options
from harness.bench.soak import options as soak_options
from harness.errors import HarnessError
from harness.paths import VARIANTS, hf_cache_dir


def _variant_args(parser: argparse.ArgumentParser, catalog: bool = False) -> None:
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--target", choices=("local", "aws"), default="local")
    if catalog:
        parser.add_argument("--catalog", default="offline", help="a name under catalogs/ or a path")


def _cmd_image(args: argparse.Namespace) -> None:
    from harness import deploy

    built = deploy.build_image(args.variant, args.catalog)
    print(json.dumps({"tag": built.tag, "size_bytes": built.size_bytes}))


def _cmd_lock(args: argparse.Namespace) -> None:
    """Writes function/requirements/locks/<runtimes>.txt (every wheel of each image, by version
    and sha256) and pip.txt from function/requirements/*.txt (needs the package index, and the CPU
    torch wheel through PIP_FIND_LINKS), and terraform/<variant>/.terraform.lock.hcl from the
    provider mirror. Commit what it writes."""
    from harness.images.wheellock import write_locks
    from harness.terraform.providerlock import write_provider_locks

    written = []
    if args.what in ("all", "wheels"):
        written += write_locks()
    if args.what in ("all", "terraform"):
        written += write_provider_locks()
    for path in written:
        print(path)


def _cmd_publish(args: argparse.Namespace) -> None:
    from harness import deploy

    deploy.publish(args.variant, args.target, args.catalog)


def _cmd_deploy(args: argparse.Namespace) -> None:
    from harness import deploy

    result = deploy.deploy(args.variant, args.target, args.catalog)
    print(result.summary())


def _cmd_destroy(args: argparse.Namespace) -> None:
    from harness import deploy

    deploy.destroy(args.variant, args.target)


def _cmd_plan(args: argparse.Namespace) -> None:
    from harness import deploy

    changes = deploy.plan(args.variant, args.target, args.catalog)
    print("no changes" if not changes else f"{changes} change(s) planned")


def _cmd_terraform(args: argparse.Namespace) -> None:
    """Runs terraform in the folder the harness uses (for the local target a working copy under
    the state folder with the generated override), with the harness's state, provider mirror and
    credentials, and the last deploy's variables for plan/apply/destroy."""
    from harness import deploy

    args_ = list(args.args[1:] if args.args[:1] == ["--"] else args.args)
    if not args_:
        raise HarnessError("name a Terraform command: python -m harness terraform --variant s3 -- plan")
    returncode = deploy.terraform(args.variant, args.target, args_)
    if returncode:
        raise SystemExit(returncode)


def _cmd_invoke(args: argparse.Namespace) -> None:
    from harness import deploy

    status, body = deploy.invoke(
        args.variant,
        args.target,
        model_type=args.model,
        question=args.question,
        context=args.context,
        token=args.token,
    )
    print(json.dumps(body, indent=2))
    if status >= 400:
        raise SystemExit(1)


def _cmd_logs(args: argparse.Namespace) -> None:
    """Every stream of the function's log group; with --since or --follow, the lines as `aws
    logs tail` prints them (timestamp, stream, message)."""
    from harness import deploy

    deploy.print_logs(args.variant, args.target, since=args.since, follow=args.follow)


def _cmd_local(args: argparse.Namespace) -> None:
    from harness import localcloud

    action: Callable[[], object] = {
        "up": localcloud.up,
        "down": localcloud.down,
        "status": localcloud.status,
    }[args.action]
    result = action()
    if result is not None:
        print(result if isinstance(result, str) else json.dumps(result, indent=2, default=str))


def _cmd_bench(args: argparse.Namespace) -> None:
    from harness.bench.run import run_from_args

    print(f"results: {run_from_args(args)}")


def _cmd_soak(args: argparse.Namespace) -> None:
    from harness.bench.soak.run import run_from_args

    if run_from_args(args):
        raise SystemExit(1)  # a target not met


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("image", help="build the function image of a variant")
    p.add_argument("--variant", choices=VARIANTS, required=True)
    p.add_argument("--catalog", default="offline")
    p.set_defaults(func=_cmd_image)

    # A command's description is its handler's docstring (argparse re-wraps it).
    p = sub.add_parser(
        "lock",
        help="regenerate the hash-pinned locks: the images' wheels and the stacks' provider",
        description=_cmd_lock.__doc__,
    )
    p.add_argument("what", nargs="?", choices=("all", "wheels", "terraform"), default="all")
    p.set_defaults(func=_cmd_lock)

    for name, func, help_text in (
        ("publish", _cmd_publish, "publish the catalog's models to the variant's store"),
        ("deploy", _cmd_deploy, "build, push, publish, apply, wait, print the URL"),
        ("plan", _cmd_plan, "terraform plan with the variables deploy would use"),
    ):
        p = sub.add_parser(name, help=help_text)
        _variant_args(p, catalog=True)
        p.set_defaults(func=func)

    p = sub.add_parser("destroy", help="destroy a variant's stack")
    _variant_args(p)
    p.set_defaults(func=_cmd_destroy)

    p = sub.add_parser("logs", help="print the function's logs", description=_cmd_logs.__doc__)
    _variant_args(p)
    p.add_argument("--since", help="only events newer than this: 30s, 10m, 2h, 1d, 1w (with --follow: 10m)")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events until Ctrl-C")
    p.set_defaults(func=_cmd_logs)

    p = sub.add_parser(
        "terraform",
        help="any terraform command on a variant's stack, as the harness runs it (e.g. -- plan)",
        description=_cmd_terraform.__doc__,
    )
    _variant_args(p)
    p.add_argument("args", nargs=argparse.REMAINDER, help="terraform's arguments, after --")
    p.set_defaults(func=_cmd_terraform)

    p = sub.add_parser("invoke", help="POST a question to a deployed variant")
    _variant_args(p)
    p.add_argument("--model", default=example.EXAMPLE_MODEL_TYPE)
    p.add_argument("--question", default=example.CAR_QUESTION, help="default: the sample's car question")
    p.add_argument("--context", default=example.CAR_CONTEXT, help="default: the sample's car paragraph")
    p.add_argument(
        "--token",
        default=None,
        help="bearer token for a JWT-authorized API (default: $TOKEN); AWS_IAM APIs are signed without one",
    )
    p.set_defaults(func=_cmd_invoke)

    p = sub.add_parser("local", help="the local cloud: up, down, status")
    p.add_argument("action", choices=("up", "down", "status"))
    p.set_defaults(func=_cmd_local)

    p = sub.add_parser("bench", help="benchmark every variant x catalog (engine) on the local cloud")
    bench_options.add_arguments(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("soak", help="one stack under steady load: errors, memory, logs and state")
    soak_options.add_arguments(p)
    p.set_defaults(func=_cmd_soak)
    return parser


def _default_offline_cache(args: argparse.Namespace) -> None:
    """`--catalog offline` (and `fleet`, made from it) names the models of ../shared/hf-cache: find
    them there, never online, unless the caller chose another cache (the Makefile sets the same
    defaults)."""
    if getattr(args, "catalog", None) in ("offline", "fleet") or args.command in ("bench", "soak"):
        os.environ.setdefault("HF_HUB_CACHE", str(hf_cache_dir()))
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _default_offline_cache(args)
    try:
        args.func(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
