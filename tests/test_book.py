"""`make book` (tools/book.py): notebooks executed in the sandbox, rendered as static HTML.

The real notebooks already run under nbmake in `make test`; here the book is built from two
small notebooks written for the test (one starts the lab server in the sandbox, one links to
it), which exercises the same execution, template and index in seconds.
"""

import importlib.util
import re
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .conftest import ROOT

spec = importlib.util.spec_from_file_location("tools_book", ROOT / "tools" / "book.py")
book = sys.modules["tools_book"] = importlib.util.module_from_spec(spec)  # dataclasses look it up
spec.loader.exec_module(book)


def write(folder, name, *cells):
    path = folder / name
    nbformat.write(new_notebook(cells=list(cells)), path)
    return path


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebooks")
    first = write(
        folder,
        "00_primero.ipynb",
        new_markdown_cell("# 00 · Un servidor en el sandbox\n\nEncendemos el **laboratorio**."),
        new_code_cell(
            "import os\n"
            "from lab_server import start\n"
            "lab = start(port=0, show=False)\n"
            "print('sandbox', os.environ['LAB_SANDBOX'], sorted(lab.sandbox.standins))\n"
            "print('datos en', os.environ['LAB_DATA_DIR'])\n"
            "lab.stop()"
        ),
    )
    second = write(
        folder,
        "01_segundo.ipynb",
        new_markdown_cell("# 01 · Señales\n\nVuelve al [primero](00_primero.ipynb#Paso-1)."),
        new_code_cell(
            "from IPython.display import HTML\nHTML('<table><tr><td>ñandú</td></tr></table>')"
        ),
    )
    return [first, second]


@pytest.fixture(scope="module")
def built(notebooks, tmp_path_factory):
    """The book of the two notebooks, built once for the tests that read it."""
    out = tmp_path_factory.mktemp("book")
    assert book.main([*map(str, notebooks), "--out", str(out)]) == 0
    return out


def test_the_book_has_an_index_and_one_page_per_notebook(built):
    out = built
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in index and 'name="viewport"' in index
    assert '<a href="00_primero.html">00 · Un servidor en el sandbox</a>' in index
    assert '<a href="01_segundo.html">01 · Señales</a>' in index
    assert "Encendemos el <strong>laboratorio</strong>." in index

    first = (out / "00_primero.html").read_text(encoding="utf-8")
    assert re.search(r"sandbox 1 \[.*'twilio'.*\]", first), "executed with every stand-in"
    data_dir = re.search(r"datos en (\S+)", first)[1]
    assert "lab-book-" in data_dir and not data_dir.startswith(str(ROOT)), "a throwaway folder"
    assert '<a href="index.html">' in first and '<html lang="es">' in first

    second = (out / "01_segundo.html").read_text(encoding="utf-8")
    assert 'href="00_primero.html#Paso-1"' in second, "links between notebooks stay in the book"
    assert "<td>ñandú</td>" in second


def test_pages_load_nothing_from_the_internet(built):
    pages = sorted(built.glob("*.html"))
    assert [p.name for p in pages] == ["00_primero.html", "01_segundo.html", "index.html"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]*\bsrc=", text), page.name
        assert not re.search(r"<link[^>]*\bhref=\"https?:", text), page.name
        assert not re.search(r"@import\s+url\(\"?https?:", text), page.name


def test_a_notebook_that_fails_stops_the_book_and_is_named(notebooks, tmp_path, capsys):
    broken = write(
        tmp_path,
        "02_roto.ipynb",
        new_markdown_cell("# 02 · Roto"),
        new_code_cell("1 / 0"),
    )
    out = tmp_path / "book"
    assert book.main([str(notebooks[1]), str(broken), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "02_roto.ipynb no se pudo ejecutar: ZeroDivisionError: division by zero" in err
    assert "01_segundo" not in err
    assert not (out / "index.html").exists(), "no index for a half-built book"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_real_notebook_gives_the_index_a_spanish_title(path):
    title, summary = book.opening(nbformat.read(path, as_version=4))
    assert title.startswith(path.stem[:2] + " · "), title
    assert summary.startswith("<p>") and len(summary) > 40
