"""Inputs/outputs tables for the modules' and stacks' READMEs (terraform-docs cannot be installed).

The tables live between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` like
terraform-docs' own, so switching to it later changes nothing for readers. The parser only
understands this repository's layout (``terraform fmt`` output: one block per ``variable`` or
``output``, closing brace in column 0), which the static tests enforce anyway.

Run ``python -m harness.terraform.docs`` to refresh every README; the static tests fail when one is
stale.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.paths import MODULES_DIR, TERRAFORM_DIR
from harness.splice import Markers

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
MARKERS = Markers(BEGIN, END)
_BLOCK = re.compile(r'^(variable|output)\s+"([^"]+)"\s*\{\n(.*?)^\}', re.MULTILINE | re.DOTALL)
_STRING_ATTR = r'^\s{2}%s\s*=\s*("(?:[^"\\]|\\.)*")'


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # HCL text; None when the variable is required


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _string_attr(body: str, name: str) -> str:
    match = re.search(_STRING_ATTR % name, body, re.MULTILINE)
    return json.loads(match.group(1)) if match else ""


def _expression_attr(body: str, name: str) -> str | None:
    """The text of ``name = <expr>`` at the block's top level, brackets balanced across lines."""
    match = re.search(rf"^\s{{2}}{name}\s*=\s*", body, re.MULTILINE)
    if not match:
        return None
    text, depth, out = body[match.end() :], 0, []
    for char in text:
        if char == "\n" and depth == 0:
            break
        depth += char in "[{("
        depth -= char in "]})"
        out.append(char)
    return " ".join("".join(out).split())


def parse(directory: Path) -> tuple[list[Variable], list[Output]]:
    variables: list[Variable] = []
    outputs: list[Output] = []
    for tf in sorted(directory.glob("*.tf")):
        if tf.name.endswith("_override.tf"):
            continue
        for kind, name, body in _BLOCK.findall(tf.read_text()):
            if kind == "variable":
                variables.append(
                    Variable(
                        name,
                        _string_attr(body, "description"),
                        _expression_attr(body, "type") or "any",
                        _expression_attr(body, "default"),
                    )
                )
            else:
                outputs.append(Output(name, _string_attr(body, "description")))
    return variables, outputs


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    """A description cell: ``<placeholder>`` would be read as an HTML tag and vanish."""
    return _cell(text).replace("<", "&lt;").replace(">", "&gt;")


def render(directory: Path) -> str:
    """The Inputs and Outputs tables of the module or stack in ``directory`` (between the markers)."""
    variables, outputs = parse(directory)
    lines = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    for v in sorted(variables, key=lambda v: (v.default is not None, v.name)):
        default = "n/a" if v.default is None else f"`{_cell(v.default)}`"
        required = "yes" if v.default is None else "no"
        lines.append(f"| `{v.name}` | {_prose(v.description)} | `{_cell(v.type)}` | {default} | {required} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    lines += [f"| `{o.name}` | {_prose(o.description)} |" for o in sorted(outputs, key=lambda o: o.name)]
    return "\n".join(lines)


def update_readme(directory: Path, *, check: bool = False) -> bool:
    """Replace the README's tables; True if they were (or, with ``check``, would be) changed."""
    readme = directory / "README.md"
    changed = MARKERS.update(readme, render(directory), check=check)
    if changed is None:
        raise ValueError(f"{readme} has no {BEGIN} ... {END} section")
    return changed


def documented_dirs() -> list[Path]:
    return sorted(p for p in (*MODULES_DIR.iterdir(), *TERRAFORM_DIR.iterdir()) if (p / "main.tf").exists())


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = [d for d in documented_dirs() if update_readme(d, check=check)]
    for directory in stale:
        print(f"{'stale' if check else 'updated'}: {directory / 'README.md'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
