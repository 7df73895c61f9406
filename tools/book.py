"""`make book`: every notebook, executed in the classroom sandbox, as static HTML with an index.

nbconvert (what JupyterLab's "Export as HTML" uses) runs each notebook in a fresh kernel
through nbclient and renders it with the template in tools/nbconvert/book: JupyterLab's
look without the scripts the stock template fetches from a CDN, so every page opens
offline and on a phone. The kernels get the test run's environment (no .env, every
service simulated, a free port, a throwaway data folder), so the build needs no account
and no internet. See docs/book.md.

Usage: python tools/book.py [--out build/book] [notebooks/NN_*.ipynb ...]
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "tools" / "nbconvert"
#: What `make test` gives nbmake: no personal .env, the sandbox for every service, any port.
SANDBOX_ENV = {"LAB_ENV_FILE": "none", "LAB_SANDBOX": "1", "LAB_PORT": "0"}
#: Seconds one cell may run, as `make test` allows nbmake.
CELL_TIMEOUT = 180
#: A link to another notebook of the course, to be pointed at its page in the book.
NOTEBOOK_LINK = re.compile(r'href="(\d\d_[\w-]+)\.ipynb(#[^"]*)?"')


@dataclass(frozen=True)
class Page:
    """One notebook of the book: where it came from, its title, its opening and the time."""

    source: Path
    title: str
    summary: str  # the notebook's first paragraph, as HTML
    seconds: float

    @property
    def href(self) -> str:
        return self.source.stem + ".html"


class NotebookFailed(Exception):
    """A notebook did not run to its end; the message names it and says where it stopped."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path.name} no se pudo ejecutar: {reason}")


class BookFailed(Exception):
    """One or more notebooks failed: one line for each."""

    def __init__(self, failures: list[NotebookFailed]) -> None:
        self.failures = failures
        super().__init__("\n".join(f"  ✘ {failure}" for failure in failures))


def opening(notebook: nbformat.NotebookNode) -> tuple[str, str]:
    """The title (first heading) and the first paragraph after it, from the first cell."""
    cells = [c for c in notebook.cells if c.cell_type == "markdown"]
    lines = cells[0].source.splitlines() if cells else []
    title = next((line.lstrip("#").strip() for line in lines if line.startswith("# ")), "")
    rest = "\n".join(line for line in lines if not line.startswith("# ")).strip()
    paragraph = rest.split("\n\n")[0] if rest else ""
    return title, markdown2html(paragraph)


def execute(path: Path, data_dir: Path, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Run `path` top to bottom in a fresh python3 kernel, in its own folder, sandboxed."""
    notebook = nbformat.read(path, as_version=4)
    os.environ.update(SANDBOX_ENV, LAB_DATA_DIR=str(data_dir))  # the kernel inherits these
    runner = ExecutePreprocessor(timeout=timeout, kernel_name="python3")
    try:
        runner.preprocess(notebook, {"metadata": {"path": str(path.parent)}})
    except CellExecutionError as exc:
        raise NotebookFailed(path, f"{exc.ename}: {exc.evalue}") from exc
    except CellTimeoutError as exc:
        raise NotebookFailed(path, f"una celda tardó más de {timeout} s") from exc
    except DeadKernelError as exc:
        raise NotebookFailed(path, f"el kernel se detuvo ({exc})") from exc
    return notebook


def render(notebook: nbformat.NotebookNode, title: str) -> str:
    """The page's HTML, with links between notebooks turned into links between pages."""
    exporter = HTMLExporter(
        template_name="book",
        extra_template_basedirs=[str(TEMPLATES)],
        embed_images=True,
        language_code="es",
    )
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    return NOTEBOOK_LINK.sub(lambda m: f'href="{m[1]}.html{m[2] or ""}"', body)


INDEX = """<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Notebooks del curso</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46em; margin: 0 auto; padding: 1em;
  line-height: 1.5; color: #1d1d1d; }}
h1 {{ font-size: 1.5em; }}
ol {{ list-style: none; padding: 0; }}
li {{ border: 1px solid #ddd; border-radius: 8px; padding: 0.6em 1em; margin: 0.8em 0; }}
li a {{ font-weight: 600; font-size: 1.1em; color: #0b5cad; text-decoration: none; }}
li p {{ margin: 0.4em 0 0; }}
footer {{ color: #666; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>Notebooks del curso, ya ejecutados</h1>
<p>Cada notebook se ejecutó de principio a fin con el <strong>sandbox del curso</strong>
(<code>LAB_SANDBOX=1</code>): Twilio, Telegram y OpenAI están simulados en la misma
computadora, así que las respuestas de esos servicios son simuladas. Para ejecutarlos tú,
abre el kit con <code>make lab</code>.</p>
<ol>
{items}
</ol>
<footer>Generado el {built} con <code>make book</code>.</footer>
</body>
</html>
"""


def index_html(pages: list[Page]) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(p.href)}">{html.escape(p.title)}</a>{p.summary}</li>'
        for p in pages
    )
    return INDEX.format(items=items, built=time.strftime("%Y-%m-%d %H:%M"))


def build(notebooks: list[Path], out: Path, timeout: int = CELL_TIMEOUT) -> list[Page]:
    """Execute and render every notebook into `out`, then write the index.

    Every notebook is tried; if any fails, the index is not written and `BookFailed` lists
    them all, so a half-built book is never mistaken for a whole one.
    """
    out.mkdir(parents=True, exist_ok=True)
    pages, failures = [], []
    with tempfile.TemporaryDirectory(prefix="lab-book-") as scratch:
        for path in notebooks:
            began = time.monotonic()
            print(f"→ {path.name}", flush=True)
            try:
                notebook = execute(path, Path(scratch) / path.stem, timeout)
            except NotebookFailed as exc:
                print(f"✘ {exc}", file=sys.stderr, flush=True)
                failures.append(exc)
                continue
            title, summary = opening(notebook)
            page = Page(path, title or path.stem, summary, time.monotonic() - began)
            (out / page.href).write_text(render(notebook, page.title), encoding="utf-8")
            pages.append(page)
            print(f"✔ {page.href} ({page.seconds:.0f} s)", flush=True)
    if failures:
        raise BookFailed(failures)
    (out / "index.html").write_text(index_html(pages), encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Notebooks ejecutados como sitio HTML estático")
    parser.add_argument("notebooks", nargs="*", type=Path, help="por defecto, notebooks/*.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="segundos por celda")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    try:
        pages = build(notebooks, args.out, args.timeout)
    except BookFailed as exc:
        print(f"El libro no se generó; estos notebooks fallaron:\n{exc}", file=sys.stderr)
        return 1
    print(f"Libro listo: {args.out / 'index.html'} ({len(pages)} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
