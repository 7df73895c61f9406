"""The portal in a real browser: Playwright driving Debian's chromium (no browser download).

Login, a chat round trip on each channel with a late model answer, the 375 px layout,
keyboard-only use and an axe-core check. Every page is photographed into build/screenshots/
(docs/portal.md shows copies of them from docs/screenshots/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lab_server.portal import api_token, login_link

from .conftest import ROOT
from .portal_support import start_lab

CHROMIUM = Path(os.environ.get("LAB_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "build" / "screenshots"
ACK = "Estoy pensando…"
#: Seconds the simulated model takes: longer than LLM_TIMEOUT, so its answer arrives late.
SLOW_MODEL = 2.5
WIDE = {"width": 1100, "height": 720}
PHONE = {"width": 375, "height": 740}


def skip_or_fail(reason: str) -> None:
    """A missing browser skips the test on a laptop, and fails it in CI (which installs it)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        skip_or_fail(f"falta {CHROMIUM}: sudo apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def lab(tmp_path):
    return start_lab(tmp_path, LLM_REPLIES="1", LLM_TIMEOUT="1", LLM_ACK_TEXT=ACK)


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport=WIDE, locale="es-BO")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def sample_post(lab) -> str:
    """An adapted post, made through the pipeline's Python API: its Preview/Edit path."""
    from lab_server.pipeline import Pipeline

    pipeline = Pipeline.of(lab)
    post = pipeline.create_post("Becas 2026", "La convocatoria a becas abre el lunes 3.")
    pipeline.adapt(post["id"])
    return f"/posts/{post['id']}"


def enter(page, lab, path: str = "/") -> None:
    """Log in with a one-time link, as `lab.show()` does."""
    page.goto(login_link(lab.context.app, lab.url, path))


def test_login_with_the_lab_token(page, lab):
    page.goto(lab.url + "/chat")
    assert "/entrar" in page.url
    shot(page, "login")
    page.get_by_label("Token de la API").fill("no-es-el-token")
    page.get_by_role("button", name="Entrar").click()
    assert page.get_by_role("alert").inner_text().startswith("Ese token no es")
    page.get_by_label("Token de la API").fill(api_token(lab.settings))
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("heading", name="Chat de WhatsApp").wait_for()
    assert page.url.startswith(lab.url + "/chat/whatsapp/")
    page.goto(lab.url + "/")
    shot(page, "home")


@pytest.mark.parametrize(
    ("channel", "cid"), [("whatsapp", "59170000001"), ("telegram", "7100000001")]
)
def test_a_chat_round_trip_with_a_late_model_answer(page, lab, channel, cid):
    enter(page, lab, f"/chat/{channel}/{cid}")
    # the sandbox's WhatsApp demo contact (Ana) may already have written to the bot
    person, bot = page.locator(".burbuja.persona"), page.locator(".burbuja.bot")
    wrote, answered = person.count(), bot.count()
    box = page.get_by_label("Mensaje para el bot")
    box.fill("hola")
    box.press("Enter")
    expect(bot).to_have_count(answered + 1)
    assert "Hola" in bot.nth(answered).inner_text()  # a rule of responses.json, at once

    lab.sandbox["openai"].behave(delay=SLOW_MODEL, times=1)
    box.fill("¿Qué me recomiendas estudiar para el parcial?")
    box.press("Enter")
    expect(bot.nth(answered + 1)).to_contain_text(ACK)  # the webhook answered in LLM_TIMEOUT
    expect(bot).to_have_count(answered + 3, timeout=SLOW_MODEL * 1000 + 10_000)
    late = bot.nth(answered + 2).inner_text()
    stored = [m["body"] for m in lab.store.list_messages(channel) if m["direction"] == "out"]
    assert stored[0] in late and ACK not in late  # the model's answer, pushed later
    expect(person).to_have_count(wrote + 2)
    shot(page, f"chat-{channel}")


def test_new_contacts_have_their_own_conversation(page, lab):
    enter(page, lab, "/chat/telegram")
    page.get_by_label("Nuevo contacto").fill("Diego")
    page.get_by_role("button", name="Agregar").click()
    page.get_by_role("heading", name="Diego").wait_for()
    page.get_by_label("Mensaje para el bot").fill("hola")
    page.get_by_role("button", name="Enviar").click()
    page.locator(".burbuja.bot").first.wait_for()
    page.get_by_role("link", name="Ana").click()
    assert page.locator(".burbuja").count() == 0
    page.get_by_role("link", name="Diego").click()
    assert page.locator(".burbuja").count() == 2  # read back from the store


def test_every_page_fits_375_px(browser, lab):
    context = browser.new_context(viewport=PHONE, locale="es-BO", is_mobile=True)
    page = context.new_page()
    page.goto(lab.url + "/entrar")
    pages = {"login-375": None, "home-375": "/", "chat-whatsapp-375": "/chat/whatsapp"}
    pages["chat-telegram-375"] = "/chat/telegram"
    pages.update(
        {"create-375": "/crear", "preview-375": sample_post(lab), "dashboard-375": "/panel"}
    )
    for name, path in pages.items():
        if path:
            enter(page, lab, path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width} px de ancho"
        shot(page, name)
    context.close()


def test_the_portal_works_with_the_keyboard_alone(page, lab):
    page.goto(lab.url + "/entrar")
    page.keyboard.type(api_token(lab.settings))  # the token field has the focus
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Portal del laboratorio").wait_for()

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Saltar al contenido"
    tab_to(page, "Chat de WhatsApp")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Chat de WhatsApp").wait_for()
    tab_to(page, "texto", attribute="id")
    page.keyboard.type("hola")
    page.keyboard.press("Enter")
    page.locator(".burbuja.bot").first.wait_for()
    visible = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert visible != "none"  # the focused box shows that it has the focus


def tab_to(page, wanted: str, attribute: str = "textContent", limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted in (page.evaluate(f"document.activeElement.{attribute}") or ""):
            return
    raise AssertionError(f"{wanted!r} no se alcanza con Tab")


def test_axe_finds_no_serious_violation(browser, lab):
    if not AXE.exists():
        skip_or_fail("falta axe-core: ejecuta `make node_modules` (npm ci)")
    # the portal's CSP forbids injected scripts, rightly; axe is injected by the test only
    context = browser.new_context(viewport=WIDE, locale="es-BO", bypass_csp=True)
    page = context.new_page()
    found = {}
    paths = ["/entrar", "/", "/chat/whatsapp/59170000001", "/chat/telegram/7100000001"]
    for path in [*paths, "/crear", sample_post(lab), "/panel"]:
        if path != "/entrar":
            enter(page, lab, path)
        else:
            page.goto(lab.url + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
        found[path] = bad
    context.close()
    assert found == {path: [] for path in found}


def test_screenshots_are_small_pngs():
    # run after the others in this module: what the docs show must stay light
    for picture in SHOTS.glob("*.png"):
        assert picture.stat().st_size < 400_000, picture.name


def test_create_adapt_edit_publish_and_follow_the_statuses(page, lab):
    enter(page, lab, "/crear")
    page.get_by_label("Título").fill("Retiro de materias")
    page.get_by_label("Contenido").fill("El retiro de materias es hasta el viernes 15 en el SIA.")
    page.get_by_label("URL de la imagen").fill("https://example.com/retiro.jpg")
    shot(page, "create")
    page.get_by_role("button", name="Adaptar con el modelo").click()
    cards = page.locator("section.red")
    expect(cards).to_have_count(6)  # every network: the sandbox connects a demo account on each

    def card(network: str):
        return page.locator(f"section.red[aria-labelledby=red-{network}]")

    whatsapp = card("whatsapp").get_by_label("Texto")
    count = page.locator("#cuenta-whatsapp [data-count]")
    whatsapp.fill("Hola 👋")  # an emoji outside the BMP: two UTF-16 units for Twilio
    expect(count).to_have_text("7")
    card("telegram").get_by_label("Texto").fill("Hola 👋")  # Telegram counts characters
    expect(page.locator("#cuenta-telegram [data-count]")).to_have_text("6")
    whatsapp.fill("Retiro de materias: hasta el viernes 15 👋")
    card("whatsapp").get_by_role("button", name="Guardar").click()
    expect(page.get_by_role("status")).to_contain_text("Guardaste la versión de WhatsApp")
    shot(page, "preview")

    lab.sandbox["linkedin"].fail_next("missing_scope")  # a 403: LinkedIn fails, once
    page.get_by_role("button", name="Publicar en todas las redes").click()
    page.get_by_role("heading", name="Panel de publicaciones").wait_for()
    failed = page.locator("tr", has_text="LinkedIn")
    expect(failed.locator(".estado")).to_have_text("fallida", timeout=15_000)
    expect(failed).to_contain_text("w_member_social")
    for network in ("Facebook", "Instagram", "TikTok", "WhatsApp", "Telegram"):
        row = page.locator("tr", has_text=network)
        expect(row.locator(".estado")).to_have_text("publicada", timeout=15_000)
    shot(page, "dashboard")

    failed.get_by_role("button", name="Reintentar").click()
    expect(failed.locator(".estado")).to_have_text("publicada", timeout=15_000)
    assert failed.get_by_role("link", name="Ver publicación").count() == 1
    page.get_by_label("Estado").select_option("published")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator("tr[data-pub]")).to_have_count(6)
