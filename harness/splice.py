"""Generated text between two marker comments in a README, rewritten in place.

Both generators of README text use it: the Terraform inputs/outputs tables (``terraform/docs.py``,
between terraform-docs' own markers) and the benchmark section (``bench/report``). Everything
outside the markers is the author's and is kept byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Markers:
    """A pair of marker lines; the generated body sits on the lines between them."""

    start: str
    end: str

    def replace(self, text: str, body: str) -> str | None:
        """``text`` with what lies between the first ``start`` and the next ``end`` set to ``body``.

        None when either marker is missing (a README without them is not ours to change).
        """
        head, found, rest = text.partition(self.start)
        if not found:
            return None
        _, found, tail = rest.partition(self.end)
        if not found:
            return None
        return f"{head}{self.start}\n{body.strip()}\n{self.end}{tail}"

    def update(self, path: Path, body: str, *, check: bool = False) -> bool | None:
        """Rewrite the section of the file at ``path``: True if it changed (with ``check``: would
        change, nothing is written), False if it was already up to date, None without the file or
        its markers."""
        if not path.is_file():
            return None
        text = path.read_text()
        updated = self.replace(text, body)
        if updated is None:
            return None
        if updated == text:
            return False
        if not check:
            path.write_text(updated)
        return True
