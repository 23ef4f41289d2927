"""One class that runs Terraform for a root stack, the way tftest wraps the CLI.

python-terraform turns keyword arguments into flags (and variable maps into a temporary
``-var-file``), but it buffers output until the command ends and passes ``-force`` to destroy,
which Terraform >= 0.15 rejects. So the flags come from python-terraform and the process is run
here: every line is handed to a progress callback as it arrives (an apply takes minutes; the user
must see it move), and a failure raises ``TerraformError`` carrying stderr.

State lives outside the stack folder (``.state/terraform/<target>/<variant>/``), one per target
and variant, so the same stack can be deployed locally and to AWS without the two ever touching
each other's state, and a failed apply leaves exactly what Terraform wrote: running apply again
creates what is missing and replaces what is tainted. The local target also runs Terraform in a
working copy of the stack there (``stack/``, with the generated override); the AWS target runs in
the committed ``terraform/<variant>/``, which the harness never writes to.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from harness import local_settings
from harness.paths import TERRAFORM_DIR, VARIANTS
from harness.terraform.cliconfig import terraform_env, terraform_state_root, write_cli_config
from harness.terraform.override import sync_local_stack
from harness.terraform.workcopy import LOCK_FILE_NAME, remove_legacy_override

TARGETS = ("local", "aws")
#: Commands that read variables: a hand-run one gets the deploy's saved variables as a var file.
VARIABLE_COMMANDS = ("plan", "apply", "destroy", "refresh", "import", "console")
ProgressCallback = Callable[[str], None]


class TerraformError(RuntimeError):
    """A Terraform command failed. ``stderr`` holds Terraform's own explanation."""

    def __init__(self, command: Sequence[str], returncode: int, stderr: str, stdout: str = "") -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        detail = stderr.strip() or "\n".join(stdout.strip().splitlines()[-20:])
        super().__init__(f"terraform {' '.join(self.command[1:3])} failed (exit {returncode}):\n{detail}")


@dataclass(frozen=True)
class ResourceChange:
    """One entry of a plan's ``resource_changes``."""

    address: str
    module_address: str | None
    mode: str
    type: str
    name: str
    actions: tuple[str, ...]
    before: Any
    after: Any
    after_unknown: Any = None

    @property
    def is_noop(self) -> bool:
        return self.actions in (("no-op",), ("read",))

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ResourceChange:
        change = raw.get("change", {})
        return cls(
            address=raw["address"],
            module_address=raw.get("module_address"),
            mode=raw.get("mode", "managed"),
            type=raw["type"],
            name=raw["name"],
            actions=tuple(change.get("actions", ())),
            before=change.get("before"),
            after=change.get("after"),
            after_unknown=change.get("after_unknown"),
        )


@dataclass(frozen=True)
class PlanResult:
    """What ``terraform plan`` would do, from ``-detailed-exitcode`` and ``show -json``."""

    has_changes: bool
    resource_changes: list[ResourceChange]
    raw: dict[str, Any] = field(repr=False)

    @property
    def changes(self) -> list[ResourceChange]:
        """Managed resources the plan would create, update, replace or delete."""
        return [c for c in self.resource_changes if c.mode == "managed" and not c.is_noop]

    def by_type(self, resource_type: str) -> list[ResourceChange]:
        return [c for c in self.resource_changes if c.type == resource_type and c.mode == "managed"]

    def counts(self, action: str = "create") -> Counter[str]:
        """How many resources of each type the plan takes ``action`` on."""
        return Counter(c.type for c in self.changes if action in c.actions)

    def summary(self) -> str:
        """``address: actions`` lines, for assertion messages."""
        return "\n".join(f"{c.address}: {'/'.join(c.actions)}" for c in self.changes) or "(no changes)"


def print_progress(prefix: str) -> ProgressCallback:
    """The default progress: each line on stdout behind a prefix, flushed at once."""

    def emit(line: str) -> None:
        print(f"{prefix} {line}", flush=True)

    return emit


class Stack:
    """A root stack (``terraform/<variant>``) on a target (``local`` or ``aws``).

    ``endpoint_url`` is where the local target's AWS APIs are (default: the gateway); tests pass
    their own moto. ``stacks_dir`` and ``state_root`` let tests run a copy of the stacks with state
    in a temporary folder, so they never touch the developer's deployments. ``stack_dir`` is the
    committed source, only ever read; ``work_dir`` is where Terraform runs (for the local target
    the generated copy in ``state_dir/stack``, for AWS ``stack_dir`` itself).
    """

    def __init__(
        self,
        variant: str,
        target: str = "local",
        *,
        endpoint_url: str | None = None,
        progress: ProgressCallback | None = None,
        stacks_dir: Path | None = None,
        state_root: Path | None = None,
        terraform_bin: str | None = None,
        lock_timeout: str = "120s",
    ) -> None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
        self.variant = variant
        self.target = target
        self.stack_dir = (stacks_dir or TERRAFORM_DIR) / variant
        if stacks_dir is None and variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
        if not self.stack_dir.is_dir():
            raise FileNotFoundError(f"no Terraform stack at {self.stack_dir}")
        self.endpoint_url = endpoint_url or local_settings.endpoint_url()
        self.progress = progress or print_progress(f"[terraform {target}/{variant}]")
        root = state_root or terraform_state_root()
        self.state_dir = root / target / variant
        self.state_path = self.state_dir / "terraform.tfstate"
        self.data_dir = self.state_dir / ".terraform"
        self.modules_dir = self.state_dir / "modules"
        # Where Terraform runs: the local target's generated twin, or the committed folder itself.
        self.work_dir = self.state_dir / "stack" if target == "local" else self.stack_dir
        self.cli_config = root / "terraformrc"
        self.lock_timeout = lock_timeout
        binary = terraform_bin or shutil.which("terraform")
        if not binary:
            raise FileNotFoundError("terraform is not on PATH (Terraform >= 1.5 is needed)")
        self._tf = Terraform(
            working_dir=str(self.work_dir), terraform_bin_path=binary, is_env_vars_included=False
        )

    def __repr__(self) -> str:
        return f"Stack({self.variant!r}, target={self.target!r}, state={str(self.state_path)!r})"

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Sync the local target's working copy (stack files, override, module copies).

        Either target also deletes the ``local_override.tf`` an earlier harness wrote into the
        committed folder: with it there, a hand-run ``terraform apply`` in ``terraform/<variant>``
        would go to 127.0.0.1. The state needs no migration (it was always in ``state_dir``).
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_cli_config(path=self.cli_config)
        if remove_legacy_override(self.stack_dir):
            self.progress(f"removed the old generated {self.stack_dir / 'local_override.tf'}")
        if self.target == "local":
            sync_local_stack(self.stack_dir, self.work_dir, self.endpoint_url, modules_dir=self.modules_dir)

    def init(self, *, force: bool = False) -> bool:
        """``terraform init`` with this stack's state path; skipped when nothing it depends on changed.

        Terraform must be re-initialised when the backend path or a module source changes (the local
        override points module blocks at modules/ or their copies), so the init is keyed on the
        working folder's ``*.tf``, and ``-reconfigure`` is always passed: the local backend has
        nothing to migrate. Returns whether it ran.
        """
        self.prepare()
        fingerprint = self._init_fingerprint()
        marker = self.state_dir / "init.fingerprint"
        if not force and self.data_dir.is_dir() and marker.exists() and marker.read_text() == fingerprint:
            return False
        self._run(
            "init",
            backend_config={"path": str(self.state_path)},
            reconfigure=IsFlagged,
            input=False,
        )
        marker.write_text(fingerprint)
        return True

    # ------------------------------------------------------------------ commands

    def plan(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        targets: Sequence[str] | None = None,
        destroy: bool = False,
    ) -> PlanResult:
        """``terraform plan -detailed-exitcode``: exit 2 means changes, parsed from ``show -json``."""
        self.init()
        plan_file = self.state_dir / "last.tfplan"
        returncode, _, _ = self._run(
            "plan",
            var=self._variables(variables),
            target=list(targets or []),
            destroy=IsFlagged if destroy else None,
            detailed_exitcode=IsFlagged,
            out=str(plan_file),
            lock_timeout=self.lock_timeout,
            input=False,
            ok_codes=(0, 2),
        )
        _, shown, _ = self._run("show", str(plan_file), json=IsFlagged, stream=False)
        raw = json.loads(shown)
        changes = [ResourceChange.from_json(r) for r in raw.get("resource_changes", [])]
        return PlanResult(has_changes=returncode == 2, resource_changes=changes, raw=raw)

    def apply(
        self, variables: Mapping[str, Any] | None = None, *, targets: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """``terraform apply -auto-approve``; returns the outputs afterwards.

        ``targets`` (e.g. ``["module.image_repository"]``) creates part of the stack first: the
        repository must exist before the image can be pushed to it.
        """
        self.init()
        self._run(
            "apply",
            var=self._variables(variables),
            target=list(targets or []),
            auto_approve=IsFlagged,
            lock_timeout=self.lock_timeout,
            input=False,
        )
        return self.output()

    def destroy(self, variables: Mapping[str, Any] | None = None) -> None:
        """``terraform destroy -auto-approve`` (never python-terraform's ``-force``)."""
        if not self.state_path.exists():
            self.progress("no state: nothing to destroy")
            return
        self.init()
        self._run(
            "destroy",
            var=self._variables(variables),
            auto_approve=IsFlagged,
            lock_timeout=self.lock_timeout,
            input=False,
        )

    def output(self) -> dict[str, Any]:
        """The stack's outputs as plain values (``{}`` before the first apply)."""
        if not self.state_path.exists():
            return {}
        self.init()
        _, stdout, _ = self._run("output", json=IsFlagged, stream=False)
        return {name: item.get("value") for name, item in json.loads(stdout or "{}").items()}

    def state_resources(self, *, include_data: bool = False) -> list[str]:
        """Addresses in the state (managed resources only unless ``include_data``)."""
        if not self.state_path.exists():
            return []
        self.init()
        _, stdout, _ = self._run("state list", stream=False)
        addresses = [line.strip() for line in stdout.splitlines() if line.strip()]
        if include_data:
            return addresses
        return [a for a in addresses if not _is_data_address(a)]

    def env(self) -> dict[str, str]:
        """The environment every command of this stack runs with."""
        return terraform_env(self.target, self.variant, data_dir=self.data_dir, cli_config=self.cli_config)

    def run_by_hand(self, args: Sequence[str], *, var_file: Path | None = None) -> int:
        """Any Terraform command on this stack as the harness runs it; the terminal is Terraform's.

        Same folder, state, provider mirror and credentials as ``apply``, so what a user plans or
        applies by hand is what ``make deploy`` would. ``var_file`` (the deploy's saved variables)
        is passed to the commands that read variables through ``TF_CLI_ARGS_<command>``, Terraform's
        own way to add arguments. Prompts stay on (``TF_INPUT`` unset). Returns the exit code.
        """
        self.init()
        env = self.env()
        env.pop("TF_INPUT", None)
        env.pop("TF_IN_AUTOMATION", None)
        if var_file is not None and var_file.is_file():
            for command in VARIABLE_COMMANDS:
                env.setdefault(f"TF_CLI_ARGS_{command}", f"-var-file={var_file}")
        return subprocess.call([self._tf.terraform_bin_path, *args], cwd=self.work_dir, env=env)

    # ------------------------------------------------------------------ internals

    def _init_fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(f"{self.target}\0{self.state_path}\0{self.cli_config.read_text()}\0".encode())
        # The lock too: a changed provider pin must re-run init, or Terraform refuses the old install.
        for path in sorted([*self.work_dir.glob("*.tf"), self.work_dir / LOCK_FILE_NAME]):
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    @staticmethod
    def _variables(variables: Mapping[str, Any] | None) -> dict[str, Any]:
        """Drop ``None``: a null in a var file would replace the variable's default with null."""
        return {k: v for k, v in (variables or {}).items() if v is not None}

    def _run(
        self,
        command: str,
        *args: str,
        ok_codes: Sequence[int] = (0,),
        stream: bool = True,
        **options: Any,
    ) -> tuple[int, str, str]:
        """Run one command; stream its lines to ``progress``; raise ``TerraformError`` on failure."""
        options = {k: v for k, v in options.items() if v is not None and v != [] and v != {}}
        options.setdefault("no_color", IsFlagged)
        cmd = self._tf.generate_cmd_string(command, *args, **options)
        try:
            returncode, stdout, stderr = self._execute(cmd, stream=stream)
        finally:
            self._tf.temp_var_files.clean_up()
        if returncode not in ok_codes:
            raise TerraformError(cmd, returncode, stderr, stdout)
        return returncode, stdout, stderr

    def _execute(self, cmd: list[str], *, stream: bool) -> tuple[int, str, str]:
        proc = subprocess.Popen(
            cmd,
            cwd=self.work_dir,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None and proc.stderr is not None
        err_lines: list[str] = []

        def drain_stderr() -> None:
            for line in _lines(proc.stderr):
                err_lines.append(line)
                self.progress(line)

        reader = threading.Thread(target=drain_stderr, daemon=True)
        reader.start()
        out_lines: list[str] = []
        try:
            for line in _lines(proc.stdout):
                out_lines.append(line)
                if stream:
                    self.progress(line)
            returncode = proc.wait()
        except BaseException:
            # Ctrl-C reaches Terraform too (same process group); let it write its state and unlock.
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
        finally:
            reader.join(timeout=10)
        return returncode, "\n".join(out_lines), "\n".join(err_lines)


def _lines(pipe: Any) -> Iterator[str]:
    for line in iter(pipe.readline, ""):
        yield line.rstrip("\n")


_DATA_ADDRESS = re.compile(r"^(module\.[^.\[]+(\[[^\]]*\])?\.)*data\.")


def _is_data_address(address: str) -> bool:
    """``data.x.y`` or ``module.a["k"].data.x.y``: a data source, not something to destroy."""
    return _DATA_ADDRESS.match(address) is not None
