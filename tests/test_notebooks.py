"""Every notebook follows the kit's structure (see DEVELOPERS.md).

nbmake runs them top to bottom; these checks cover what running cannot see: a missing
section, a cell that would wait for a person, a fixed port, damaged text.
"""

import json
import re
from pathlib import Path

import pytest

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SECTIONS = ("Objetivos", "Requisitos previos", "Ejercicio", "Errores comunes", "Puntos clave")


def cells(path: Path, kind: str) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbformat_4_with_the_python3_kernel(path):
    # (no outputs, no execution counts: tests/test_project.py)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_the_sections_every_notebook_needs(path):
    headings = [
        line
        for text in cells(path, "markdown")
        for line in text.splitlines()
        if line.startswith("#")
    ]
    assert headings and headings[0].startswith("# "), "el notebook empieza con un título"
    missing = [s for s in SECTIONS if not any(s.lower() in h.lower() for h in headings)]
    assert missing == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_never_waits_for_a_person_nor_assumes_port_5000(path):
    code = "\n".join(cells(path, "code"))
    assert not re.search(r"\b(input|getpass)\s*\(", code)
    assert not re.search(r"(127\.0\.0\.1|localhost):5000", code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_text_is_clean_utf8_without_mojibake(path):
    text = "\n".join(cells(path, "markdown") + cells(path, "code"))
    assert not re.search("Ã.|â€|ğŸ", text)
