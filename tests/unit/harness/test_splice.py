"""The README splicer both generators use: only the text between the markers changes."""

from __future__ import annotations

from pathlib import Path

from harness.splice import Markers

MARKERS = Markers("<!-- A -->", "<!-- B -->")


def test_the_body_between_the_markers_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("head\n<!-- A -->\nold\n<!-- B -->\ntail <!-- B -->\n")
    assert MARKERS.update(readme, "\nnew\n") is True
    assert readme.read_text() == "head\n<!-- A -->\nnew\n<!-- B -->\ntail <!-- B -->\n"
    assert MARKERS.update(readme, "new") is False  # already up to date


def test_check_reports_a_stale_section_without_writing(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- A -->\nold\n<!-- B -->\n")
    assert MARKERS.update(readme, "new", check=True) is True
    assert readme.read_text() == "<!-- A -->\nold\n<!-- B -->\n"


def test_a_file_without_markers_or_no_file_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- B --> then <!-- A --> only\n")
    assert MARKERS.update(readme, "new") is None
    assert readme.read_text() == "<!-- B --> then <!-- A --> only\n"
    assert MARKERS.update(tmp_path / "missing.md", "new") is None
    assert MARKERS.replace("no markers", "new") is None
