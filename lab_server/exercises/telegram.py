"""Notebook 06: the student's own Telegram webhook, and an inline keyboard of their own.

The webhook check serves the student's Flask app on a free loopback port, registers it with
the Telegram stand-in (setWebhook with the student's secret; the stand-in delivers to the
registered path on that server, as a tunnel would) and has Ana write to the bot. Then it
plays the impostor: no secret, a wrong one, one character short. Each mistake gets its own
sentence. The lab's own webhook is registered again afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..telegram.client import BotAPI
from ..telegram.errors import TelegramAPIError
from .outcome import Outcome, is_placeholder
from .student_app import crash_of, first_not_refused, served, view_of

if TYPE_CHECKING:
    from flask import Flask

    from ..sandbox.telegram import TelegramStandIn

PATH = "/telegram"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
PUBLIC = "https://tu-tunel.ngrok-free.app"
MESSAGE = "Hola, bot"
MAX_CALLBACK_DATA = 64


def expected_reply(text: str) -> str:
    return f"Recibí: {text}"


def _uses_compare_digest(view: Callable[..., Any]) -> bool:
    """Whether the view calls hmac.compare_digest (or secrets.compare_digest)."""
    code = getattr(view, "__code__", None)
    return code is not None and "compare_digest" in code.co_names


def _impostor_problem(url: str, update: dict[str, Any], secret: str) -> str | None:
    found = first_not_refused(
        url,
        [
            ("una petición sin el encabezado del secreto", {"json": update}),
            ("un secreto equivocado", {"json": update, "headers": {HEADER: "adivinanza"}}),
            (
                "el secreto sin su último carácter",
                {"json": update, "headers": {HEADER: secret[:-1]}},
            ),
        ],
    )
    if found is None:
        return None
    what, status = found
    if 200 <= status < 300:
        return (
            f"tu webhook aceptó {what} (HTTP {status}): cualquiera que conozca la URL podría "
            f"hacerse pasar por Telegram. Compara {HEADER} con tu secreto y, si no coincide, "
            "abort(403)."
        )
    return f"a {what} tu webhook respondió HTTP {status}; se rechaza con 403."


def check_telegram_webhook(
    app: Any, telegram: TelegramStandIn, secret: str, bot: BotAPI
) -> Outcome:
    """Exercise 1 of notebook 06: the right secret → «Recibí: …» to Ana; anything else → 403."""
    if is_placeholder(app):
        return Outcome.pending("crea my_app y su ruta POST /telegram en la celda de arriba.")
    if not hasattr(app, "url_map") or not hasattr(app, "test_client"):
        return Outcome.wrong(f"my_app debe ser una app de Flask, no {type(app).__name__}.")
    view = view_of(app, PATH)
    if view is None:
        return Outcome.wrong(
            'tu app no tiene la ruta POST /telegram: usa @my_app.post("/telegram").'
        )
    if is_placeholder(view):
        return Outcome.pending("escribe el cuerpo de la función de la ruta /telegram.")
    with served(app) as server:
        problem = _delivery_problem(app, server.url, telegram, secret, bot, view)
    if problem:
        return Outcome.wrong(problem)
    return Outcome.ok(
        "Telegram entregó el mensaje a tu webhook, Ana recibió tu respuesta y los tres "
        "impostores recibieron 403."
    )


def _delivery_problem(
    app: Flask, url: str, telegram: TelegramStandIn, secret: str, bot: BotAPI, view: Any
) -> str | None:
    """Register the served app, have Ana write, then play the impostor; restore the webhook."""
    previous_hook, previous_urls = telegram.webhook, dict(telegram.webhook_urls)
    try:
        telegram.attach({**previous_urls, "telegram": url + PATH})
        bot.call("setWebhook", url=PUBLIC + PATH, secret_token=secret)
        before = len(telegram.bot_messages())
        delivery = telegram.send_text(MESSAGE)
        status = delivery.attempts[-1] if delivery.attempts else None
        problem = None
        if status == 500 or status == 400:
            problem = (
                f"tu webhook falló (HTTP {status}) con una entrega correcta: "
                f"{crash_of(app, PATH, url, json=delivery.update, headers={HEADER: secret})}."
            )
        elif status == 403:
            problem = (
                "tu webhook rechazó (403) una entrega con el secreto correcto: compara el "
                f"encabezado {HEADER} con MY_SECRET, el mismo que pasaste a setWebhook."
            )
        elif not delivery.delivered:
            problem = (
                f"Telegram no pudo entregar el mensaje: tu webhook respondió {status}. Telegram "
                "lo reintentaría y lo dejaría pendiente; responde 200."
            )
        else:
            replies = [m.get("text") for m in telegram.bot_messages()[before:]]
            wanted = expected_reply(MESSAGE)
            if replies != [wanted]:
                got = ", ".join(f"«{r}»" for r in replies) or "nada"
                problem = (
                    f"el bot le envió a Ana {got} y se esperaba un solo mensaje: «{wanted}». "
                    "Responde con bot.send_message(chat_id, texto), con el chat.id del Update."
                )
        problem = problem or _impostor_problem(url + PATH, delivery.update, secret)
        if not problem and not _uses_compare_digest(view):
            problem = (
                "tu webhook rechaza a los impostores, pero compara el secreto con ==: esa "
                "comparación se detiene en el primer carácter distinto, y midiendo tiempos se "
                "puede adivinar el secreto. Usa hmac.compare_digest(recibido, MY_SECRET)."
            )
    except TelegramAPIError as error:
        problem = f"Telegram no aceptó el registro del webhook: {error}"
    finally:
        telegram.attach(previous_urls)
        if previous_hook is not None:
            bot.call("setWebhook", url=previous_hook.url, secret_token=previous_hook.secret)
        else:
            bot.call("deleteWebhook")
    return problem


def _button_problem(button: Any) -> str | None:
    if not isinstance(button, dict):
        return f"cada botón es un diccionario, y llegó {type(button).__name__}: {button!r}."
    if not isinstance(button.get("text"), str) or not button.get("text"):
        return f"a un botón le falta su texto («text», un str no vacío): {button}."
    actions = [key for key in button if key != "text"]
    if actions != ["callback_data"]:
        return (
            f"cada botón lleva «text» y exactamente una acción, aquí «callback_data»; este "
            f"tiene {actions or 'ninguna'}: {button}."
        )
    data = button["callback_data"]
    if not isinstance(data, str):
        return (
            f"callback_data debe ser texto (str), no {type(data).__name__}: {data!r}. Telegram "
            f'rechaza el teclado (BUTTON_DATA_INVALID); escríbelo entre comillas: "{data}".'
        )
    size = len(data.encode("utf-8"))
    if not 1 <= size <= MAX_CALLBACK_DATA:
        return (
            f"callback_data admite de 1 a {MAX_CALLBACK_DATA} bytes y {data[:20]!r}… tiene "
            f"{size}: usa un identificador corto."
        )
    return None


def _rows(count: int) -> str:
    return "1 fila" if count == 1 else f"{count} filas"


def check_keyboard(
    keyboard_of: Any, options: Any, telegram: TelegramStandIn, bot: BotAPI
) -> Outcome:
    """Exercise 2 of notebook 06: `keyboard_of(options)` is a valid InlineKeyboardMarkup with
    one button per option; the bot sends it to Ana and she presses the last button."""
    if is_placeholder(keyboard_of) or is_placeholder(options):
        return Outcome.pending("completa keyboard_of(options) y el diccionario options.")
    if not isinstance(options, dict) or len(options) < 3:
        return Outcome.wrong("options debe ser un diccionario con tus 3 opciones o más.")
    try:
        keyboard = keyboard_of(options)
    except Exception as exc:  # the student's code
        return Outcome.wrong(f"keyboard_of(options) falló: {type(exc).__name__}: {exc}.")
    if not isinstance(keyboard, dict) or "inline_keyboard" not in keyboard:
        return Outcome.wrong(
            "keyboard_of debe devolver un diccionario con la clave 'inline_keyboard', y "
            f"devolvió {type(keyboard).__name__}."
        )
    rows = keyboard["inline_keyboard"]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        return Outcome.wrong(
            "el valor de 'inline_keyboard' es una lista de filas, y cada fila una lista (no "
            "vacía) de botones: [[botón], [botón]]."
        )
    buttons = [button for row in rows for button in row]
    problem = next((p for p in map(_button_problem, buttons) if p), None)
    if problem:
        return Outcome.wrong(problem)
    if {b["text"]: b["callback_data"] for b in buttons} != options or len(buttons) != len(options):
        return Outcome.wrong(
            "debe haber exactamente un botón por opción, con la clave como texto y el valor "
            "como callback_data."
        )
    try:
        bot.send_message(telegram.user.id, "Elige una opción:", reply_markup=keyboard)
    except TelegramAPIError as error:
        return Outcome.wrong(f"Telegram rechazó el teclado: {error}")
    last = buttons[-1]
    telegram.press_button(last["callback_data"])
    return Outcome.ok(
        f"Telegram aceptó tu teclado de {len(buttons)} botones en {_rows(len(rows))}, y Ana "
        f"pulsó «{last['text']}»."
    )
