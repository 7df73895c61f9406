"""The Marp slide decks in slides/: they build, fit the 1280x720 frame, keep their presenter
notes, carry no damaged characters, and teach only `lab_server` names that exist.

The decks are built once per module (`node slides/tools/build.mjs html`); the overflow check
(`node slides/tools/check-overflow.mjs`) renders every built slide in headless Chromium.
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

# lab_server names that slides show but whose module has not landed yet (other issues are
# writing them). This list must shrink to empty: remove a name as soon as its module exists.
PENDING_NAMES: frozenset[str] = frozenset()

ROOT = Path(__file__).resolve().parents[1]
SLIDES = ROOT / "slides"
BUILD = SLIDES / "build"
TOOLS = SLIDES / "tools"
MARP_CLI = ROOT / "node_modules" / "@marp-team" / "marp-cli"
PUPPETEER = ROOT / "node_modules" / "puppeteer-core"

SEED_DECK = "00_conexion_twilio"
MODULE_DECKS = (
    "01_apis",
    "02_llms",
    "03_whatsapp_twilio",
    "04_respuestas_y_llm",
    "05_postgresql",
    "06_telegram",
    "07_linkedin",
    "08_instagram_facebook",
    "09_tiktok",
    "10_proyecto_multired",
)
ALL_DECKS = (SEED_DECK, *MODULE_DECKS)

# Headings of the seed deck (../shared/seed/), in order, one per slide.
SEED_HEADINGS = (
    "Conexión con Twilio",
    "📚 Stack de Librerías",
    "💡 Concepto Clave: ¿Qué es una API?",
    "💡 Concepto Clave: ¿Qué es un LLM?",
    "🏛️ Decisión del Stack Tecnológico",
    "⚙️ Configuración Clave: Twilio Sandbox",
    "🤖 Lógica de Respuestas (Ejemplo JSON)",
    "⚙️ Restricciones y pasos para LinkedIn",
    "⚙️ Pasos para la API de TikTok",
    "⚙️ Pasos para la API de Instagram",
    "⚙️ Pasos para la API de Telegram",
)
# Words whose accent was lost in the seed and had to be restored by hand.
SEED_RESTORED_WORDS = (
    "librerías",
    "sí",
    "leído",
    "podría",
    "Decisión",
    "Escríbenos",
    "límites",
    "mínimo",
    "vía",
    "según",
    "días",
    "más",
    "Número",
)
# UTF-8 read as cp1254/cp1252 and written back: these never occur in correct Spanish text.
MOJIBAKE = ("Ã", "Â", "â€", "ğŸ", "ï¸", "\ufffd", "\u00ad")
MODULE_SECTIONS = ("Objetivos de aprendizaje", "Errores comunes", "Ejercicio", "Puntos clave")
# Marp directives that may sit in an HTML comment (such a comment is not a presenter note).
DIRECTIVES = frozenset(
    {
        "backgroundColor",
        "backgroundImage",
        "backgroundPosition",
        "backgroundRepeat",
        "backgroundSize",
        "class",
        "color",
        "footer",
        "header",
        "headingDivider",
        "lang",
        "paginate",
        "size",
        "style",
        "theme",
        "transition",
    }
)
# What a call returns, for names the slides use as `x = call(...)` then `x.attr`.
RETURNS = {
    "lab_server.start": "lab_server.Lab",
    "lab_server.runner.start": "lab_server.Lab",
    "lab_server.load_settings": "lab_server.Settings",
    "lab_server.config.load_settings": "lab_server.Settings",
    "lab_server.store.Store.open": "lab_server.store.Store",
    "lab_server.store.Store.from_settings": "lab_server.store.Store",
    "lab_server.store.Store.transaction": "lab_server.store.Tx",
}
BUILD_SECONDS = 15  # issue: "npm run slides builds eleven decks to HTML in under 15 s"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """A missing tool skips the test on a laptop, and fails it in CI (which installs it)."""
    if in_ci():
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


# --- reading a deck ------------------------------------------------------------------------


@dataclass
class Slide:
    number: int
    text: str

    @property
    def heading(self) -> str | None:
        for line in code_free_lines(self.text):
            match = re.match(r"#{1,6}\s+(.*\S)", line)
            if match:
                return match.group(1)
        return None

    @property
    def comments(self) -> list[str]:
        return [c.strip() for c in re.findall(r"<!--(.*?)-->", self.text, flags=re.S)]

    @property
    def notes(self) -> list[str]:
        return [c for c in self.comments if c and not is_directive(c)]


def is_directive(comment: str) -> bool:
    lines = [line.strip() for line in comment.splitlines() if line.strip()]
    keys = [re.match(r"_?([A-Za-z]+)\s*:", line) for line in lines]
    return bool(lines) and all(k and k.group(1) in DIRECTIVES for k in keys)


def fenced_lines(text: str) -> Iterator[tuple[str, bool]]:
    """Each line of `text`, and whether it belongs to a fenced code block (fences included)."""
    fence = None
    for line in text.splitlines():
        match = re.match(r"\s*(`{3,}|~{3,})", line)
        if match:
            if fence is None:
                fence = match.group(1)
            elif match.group(1).startswith(fence):
                fence = None
            yield line, True
        else:
            yield line, fence is not None


def code_free_lines(text: str) -> list[str]:
    """The lines of `text` outside fenced code blocks."""
    return [line for line, in_code in fenced_lines(text) if not in_code]


def split_deck(text: str) -> tuple[str, list[Slide]]:
    """Front matter and slides, split on `---` lines outside code blocks (as Marp does)."""
    match = re.match(r"---\n(.*?)\n---\n", text, flags=re.S)
    assert match, "a deck starts with YAML front matter between --- lines"
    front, body = match.group(1), text[match.end() :]
    slides, current = [], []
    for line, in_code in fenced_lines(body):
        if not in_code and line.strip() == "---":
            slides.append("\n".join(current))
            current = []
        else:
            current.append(line)
    slides.append("\n".join(current))
    return front, [Slide(i, s) for i, s in enumerate(slides, start=1)]


def read_deck(name: str) -> str:
    return (SLIDES / f"{name}.md").read_text(encoding="utf-8")


def code_blocks(text: str, languages: tuple[str, ...]) -> list[str]:
    pattern = r"^(`{3,})[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$"
    return [
        m.group(3) for m in re.finditer(pattern, text, flags=re.S | re.M) if m.group(2) in languages
    ]


def inline_code(text: str) -> list[str]:
    prose = "\n".join(code_free_lines(text))
    return [m.group(2) for m in re.finditer(r"(`+)(.+?)\1", prose)]


# --- lab_server names in slide code --------------------------------------------------------


def lab_server_names(code: str) -> set[str]:
    """Dotted `lab_server` names a Python snippet uses: imports, and attributes read from
    them, also through variables bound to a known result (`lab = start(); lab.stop()`)."""
    tree = ast.parse(code)
    bound: dict[str, str] = {}
    names: set[str] = set()

    def path_of(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return bound.get(node.id)
        if isinstance(node, ast.Attribute):
            base = path_of(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = path_of(node.func)
            if func is None:
                return None
            if func in RETURNS:
                return RETURNS[func]
            return func if func.rsplit(".", 1)[-1][:1].isupper() else None  # Class(...)
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lab_server":
                    names.add(alias.name)
                    top = alias.asname or alias.name.split(".")[0]
                    bound[top] = alias.name if alias.asname else "lab_server"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lab_server":
            for alias in node.names:
                names.add(f"{node.module}.{alias.name}")
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    # Bindings in source order, then every attribute chain that starts at a bound name.
    for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), 0)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], path_of(node.value)
            if isinstance(target, ast.Name) and value and isinstance(node.value, ast.Call):
                bound[target.id] = value
        elif isinstance(node, ast.With):
            for item in node.items:
                value = path_of(item.context_expr)
                if isinstance(item.optional_vars, ast.Name) and value:
                    bound[item.optional_vars.id] = value
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            path = path_of(node)
            if path:
                names.add(path)
    return names


def has_attribute(obj: object, name: str) -> bool:
    """`name` exists on a module or class: attribute, dataclass field, annotation or an
    instance attribute assigned in `__init__`."""
    if hasattr(obj, name):
        return True
    if not inspect.isclass(obj):
        return False
    if is_dataclass(obj) and name in {f.name for f in fields(obj)}:
        return True
    for klass in obj.__mro__:
        if name in getattr(klass, "__annotations__", {}):
            return True
        init = klass.__dict__.get("__init__")
        if init is not None:
            try:
                source = inspect.getsource(init)
            except (OSError, TypeError):
                continue
            if re.search(rf"\bself\.{re.escape(name)}\s*[:=]", source):
                return True
    return False


def resolve(path: str) -> tuple[bool, str | None]:
    """(exists, missing module). The module is the longest importable prefix of `path`; if
    an attribute is missing on a package, the submodule of that name counts as missing."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: object = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
                continue
            raise
        for i, part in enumerate(parts[cut:], start=cut):
            if not has_attribute(obj, part):
                is_package = inspect.ismodule(obj) and hasattr(obj, "__path__")
                return False, ".".join(parts[: i + 1]) if is_package else None
            obj = getattr(obj, part, None)
        return True, None
    return False, parts[0]


def slide_lab_server_names() -> dict[str, set[str]]:
    """Every lab_server name in slide code -> the decks that show it."""
    found: dict[str, set[str]] = {}
    for deck in ALL_DECKS:
        text = read_deck(deck)
        names: set[str] = set()
        for block in code_blocks(text, ("python", "py")):
            names |= lab_server_names(block)
        for span in inline_code(text):
            names |= set(re.findall(r"\blab_server(?:\.[A-Za-z_]\w*)+", span))
        for name in names:
            found.setdefault(name, set()).add(deck)
    return found


# --- the built HTML ------------------------------------------------------------------------


class NotesParser(HTMLParser):
    """Text of bespoke's presenter notes: <div class="bespoke-marp-note" data-index="N">."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: dict[int, str] = {}
        self._index: int | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._index is not None:
            self._depth += tag == "div"
            return
        values = dict(attrs)
        if tag == "div" and "bespoke-marp-note" in (values.get("class") or "").split():
            self._index = int(values.get("data-index") or 0)
            self._depth = 0
            self.notes[self._index] = ""

    def handle_endtag(self, tag: str) -> None:
        if self._index is not None and tag == "div":
            if self._depth == 0:
                self._index = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._index is not None:
            self.notes[self._index] += data


def normalize(text: str) -> str:
    return " ".join(html.unescape(text).split())


def chromium() -> str | None:
    """The browser the slide tools use (CHROME_PATH, or Debian's chromium on PATH)."""
    return os.environ.get("CHROME_PATH") or shutil.which("chromium")


def run_node(*args: str, timeout: float, env: dict[str, str] | None = None):
    """Run a Node script from the repository root, capturing its output."""
    return subprocess.run(
        list(args),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    """Build every deck to HTML once (slides/build/, ignored by git)."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("Node.js no está instalado (hace falta para Marp): instala node >= 18")
    if not MARP_CLI.is_dir():
        skip_or_fail("faltan las dependencias de Node: ejecuta `make node_modules` (npm ci)")
    for stale in BUILD.glob("*.html"):
        stale.unlink()
    started = time.monotonic()
    proc = run_node(node, str(TOOLS / "build.mjs"), "html", timeout=180)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, f"npm run slides falló:\n{proc.stdout}\n{proc.stderr}"
    outputs = {deck: BUILD / f"{deck}.html" for deck in ALL_DECKS}
    missing = [str(p) for p in outputs.values() if not p.is_file()]
    assert not missing, f"faltan HTML: {missing}\n{proc.stderr}"
    assert elapsed < BUILD_SECONDS, f"la construcción HTML tardó {elapsed:.1f} s"
    return outputs


# --- tests: sources ------------------------------------------------------------------------


def test_deck_files_are_the_eleven_decks() -> None:
    decks = sorted(p.stem for p in SLIDES.glob("*.md") if re.match(r"\d\d_", p.name))
    assert decks == sorted(ALL_DECKS)


@pytest.mark.parametrize("deck", ALL_DECKS)
def test_front_matter_is_marp_gaia(deck: str) -> None:
    front, _ = split_deck(read_deck(deck))
    assert re.search(r"^marp:\s*true\s*$", front, flags=re.M)
    assert re.search(r"^theme:\s*gaia\s*$", front, flags=re.M)


def test_no_mojibake_in_slides() -> None:
    damaged = []
    for path in sorted([*SLIDES.glob("*.md"), *(SLIDES / "assets").glob("*.svg")]):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            bad = [seq for seq in MOJIBAKE if seq in line]
            if bad:
                damaged.append(f"{path.relative_to(ROOT)}:{number}: {bad} in {line.strip()!r}")
    assert not damaged, "caracteres dañados:\n" + "\n".join(damaged)


def test_seed_deck_keeps_its_headings_in_order() -> None:
    _, slides = split_deck(read_deck(SEED_DECK))
    assert [s.heading for s in slides] == list(SEED_HEADINGS)


def test_seed_deck_has_restored_accents() -> None:
    text = read_deck(SEED_DECK)
    missing = [w for w in SEED_RESTORED_WORDS if not re.search(rf"(?<!\w){w}(?!\w)", text)]
    assert not missing, f"palabras no restauradas: {missing}"


@pytest.mark.parametrize(
    ("outdated", "update"),
    [
        ("gpt turbo 3.5", "gpt-3.5-turbo fue retirado"),
        ("r_liteprofile", "openid profile email"),
        ("instagram_basic", "instagram_business_content_publish"),
        ("/video/upload/", "/v2/post/publish/video/init/"),
    ],
)
def test_seed_deck_marks_outdated_facts(outdated: str, update: str) -> None:
    _, slides = split_deck(read_deck(SEED_DECK))
    slide = next(s for s in slides if outdated in s.text)
    assert "Actualización" in slide.text
    assert update in slide.text


@pytest.mark.parametrize("deck", MODULE_DECKS)
def test_module_deck_structure(deck: str) -> None:
    _, slides = split_deck(read_deck(deck))
    assert 8 <= len(slides) <= 15, f"{deck}: {len(slides)} diapositivas"
    headings = [s.heading for s in slides]
    for section in MODULE_SECTIONS:
        assert section in headings, f"{deck}: falta la diapositiva «{section}»"
    exercise = slides[headings.index("Ejercicio")]
    assert f"notebooks/{deck}.ipynb" in exercise.text


@pytest.mark.parametrize("deck", ALL_DECKS)
def test_every_slide_has_presenter_notes(deck: str) -> None:
    _, slides = split_deck(read_deck(deck))
    without = [f"#{s.number} {s.heading}" for s in slides if not s.notes]
    assert not without, f"{deck}: diapositivas sin notas: {without}"


@pytest.mark.parametrize("deck", ALL_DECKS)
def test_local_images_exist_in_assets(deck: str) -> None:
    for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", read_deck(deck)):
        if re.match(r"[a-z]+://", target):
            continue
        path = (SLIDES / target).resolve()
        assert path.is_file(), f"{deck}: no existe {target}"
        assert path.parent == (SLIDES / "assets").resolve(), f"{deck}: {target} fuera de assets/"


# --- tests: lab_server names ---------------------------------------------------------------


@pytest.mark.parametrize("deck", ALL_DECKS)
def test_python_snippets_parse(deck: str) -> None:
    for block in code_blocks(read_deck(deck), ("python", "py")):
        ast.parse(block)  # a SyntaxError names the line


def test_name_finder_follows_imports_and_results() -> None:
    code = (
        "from lab_server import start\n"
        "import lab_server.store as st\n"
        "lab = start(port=5000)\n"
        "lab.webhook_urls['whatsapp']\n"
        "with st.Store.from_settings(s).transaction() as tx:\n"
        "    tx.claim_event('whatsapp', 'SM1')\n"
    )
    assert lab_server_names(code) == {
        "lab_server.start",
        "lab_server.store",
        "lab_server.Lab.webhook_urls",
        "lab_server.store.Store",
        "lab_server.store.Store.from_settings",
        "lab_server.store.Store.transaction",
        "lab_server.store.Tx.claim_event",
    }


def test_resolver_rejects_missing_names() -> None:
    assert resolve("lab_server.no_such_module_xyz") == (False, "lab_server.no_such_module_xyz")
    exists, missing_module = resolve("lab_server.config.no_such_function_xyz")
    assert not exists and missing_module is None


def test_slides_only_teach_lab_server_names_that_exist() -> None:
    problems, pending = [], []
    for name, decks in sorted(slide_lab_server_names().items()):
        exists, missing_module = resolve(name)
        where = ", ".join(sorted(decks))
        if name in PENDING_NAMES:
            if exists:
                warnings.warn(f"{name} ya existe: quítalo de PENDING_NAMES", stacklevel=1)
            elif missing_module is None:
                problems.append(f"{name} ({where}): su módulo existe pero el nombre no")
            else:
                pending.append(name)
        elif not exists:
            hint = f"falta el módulo {missing_module}" if missing_module else "no existe"
            problems.append(f"{name} ({where}): {hint}")
    assert not problems, (
        "las diapositivas enseñan nombres que lab_server no tiene (usa /work/plan/API.md; "
        "un nombre planificado cuyo módulo aún no existe va en PENDING_NAMES):\n"
        + "\n".join(problems)
    )


def test_pending_names_are_still_used() -> None:
    stale = PENDING_NAMES - set(slide_lab_server_names())
    assert not stale, f"PENDING_NAMES sin uso en las diapositivas: {sorted(stale)}"


# --- tests: built HTML ---------------------------------------------------------------------


def test_every_deck_builds_to_html(built: dict[str, Path]) -> None:
    for deck, path in built.items():
        page = path.read_text(encoding="utf-8")
        _, slides = split_deck(read_deck(deck))
        assert page.count("<section") >= len(slides), deck


@pytest.mark.parametrize("deck", ALL_DECKS)
def test_notes_reach_the_presenter_view(built: dict[str, Path], deck: str) -> None:
    parser = NotesParser()
    parser.feed(built[deck].read_text(encoding="utf-8"))
    _, slides = split_deck(read_deck(deck))
    for index, slide in enumerate(slides):
        html_note = normalize(parser.notes.get(index, ""))
        for note in slide.notes:
            assert normalize(note) in html_note, f"{deck} #{slide.number}: nota ausente"


def test_no_slide_overflows_1280x720(built: dict[str, Path]) -> None:
    if not chromium():
        skip_or_fail(
            "no hay Chromium para medir las diapositivas: instala `sudo apt-get install "
            "chromium` (o define CHROME_PATH)"
        )
    if not PUPPETEER.is_dir():
        skip_or_fail("falta puppeteer-core: ejecuta `make node_modules` (npm ci)")
    node = shutil.which("node") or "node"
    proc = run_node(node, str(TOOLS / "check-overflow.mjs"), *map(str, built.values()), timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert f"en {len(built)} barajas" in proc.stdout


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} no es un PNG"
    return struct.unpack(">II", header[16:24])


def test_every_slide_renders_to_a_1280x720_png(built: dict[str, Path]) -> None:
    if not chromium():
        skip_or_fail("no hay Chromium para exportar PNG: `sudo apt-get install chromium`")
    png_dir = BUILD / "png"
    shutil.rmtree(png_dir, ignore_errors=True)
    proc = run_node(shutil.which("node") or "node", str(TOOLS / "build.mjs"), "png", timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    for deck in built:
        _, slides = split_deck(read_deck(deck))
        images = sorted(png_dir.glob(f"{deck}.*.png"))
        assert len(images) == len(slides), f"{deck}: {len(images)} PNG para {len(slides)}"
        for image in images:
            assert png_size(image) == (1280, 720), image.name


def test_overflow_check_reports_a_slide_that_does_not_fit(tmp_path: Path) -> None:
    """The check itself can fail: an overlong slide is named with its deck, number and title."""
    node = shutil.which("node")
    if not (chromium() and node and MARP_CLI.is_dir() and PUPPETEER.is_dir()):
        skip_or_fail("hacen falta node, node_modules y chromium para probar la comprobación")
    front, _ = split_deck(read_deck("01_apis"))
    lines = "\n".join(f"- línea {i}" for i in range(30))
    deck = tmp_path / "99_desborde.md"
    deck.write_text(f"---\n{front}\n---\n\n## Cabe\n\nBien.\n\n---\n\n## Demasiado\n\n{lines}\n")
    out = tmp_path / "99_desborde.html"
    marp = [node, str(MARP_CLI / "marp-cli.js"), "--no-stdin", "--config-file"]
    build = run_node(*marp, str(ROOT / ".marprc.yml"), str(deck), "-o", str(out), timeout=120)
    assert build.returncode == 0, build.stderr
    proc = run_node(node, str(TOOLS / "check-overflow.mjs"), str(out), timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "99_desborde.html #2 «Demasiado»" in proc.stderr
    assert "#1" not in proc.stderr


def test_pdf_export_explains_how_to_install_a_browser(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("Node.js no está instalado")
    (tmp_path / "node").symlink_to(node)
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}  # no browser on this PATH
    proc = run_node(str(tmp_path / "node"), str(TOOLS / "build.mjs"), "pdf", timeout=60, env=env)
    assert proc.returncode == 2
    assert "sudo apt-get install chromium" in proc.stderr
    assert "CHROME_PATH" in proc.stderr


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
