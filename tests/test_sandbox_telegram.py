"""The Telegram stand-in speaks the Bot API: its envelope, its errors and its deliveries.

Every object it returns or delivers is checked against the spec excerpt (tests/specs), and
its error descriptions are Telegram's own, so the kit's code meets the real thing's shapes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, request

from lab_server.errors import LabError
from lab_server.logs import capture_logs, recent
from lab_server.sandbox.telegram import MAX_ATTEMPTS, TelegramStandIn
from lab_server.serving import ServerThread

from .telegram_spec import envelope_errors, params_errors, result_errors, type_errors
from .telegram_standin import standin_fixture  # noqa: F401 (the `standin` fixture)

HOOK = "https://bot.example.org/webhooks/telegram"


class Receiver:
    """A stand-in for the lab's webhook: records deliveries and answers `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.hold = threading.Event()  # set to release a slow answer
        self.slow = False
        self.deliveries: list[tuple[str, dict, dict]] = []
        app = Flask("receiver")

        @app.post("/<path:path>")
        def receive(path: str):
            self.deliveries.append(("/" + path, dict(request.headers), request.get_json()))
            if self.slow:
                self.hold.wait(5)
            return {"ok": self.status < 300}, self.status

        self.server = ServerThread(app)


@pytest.fixture
def receiver(standin: TelegramStandIn) -> Iterator[Receiver]:
    rec = Receiver()
    standin.attach({"telegram": rec.server.url + "/webhooks/telegram"})
    yield rec
    rec.hold.set()
    rec.server.stop()


def call(box: TelegramStandIn, method: str, token: str | None = None, **params):
    url = f"{box.base_url}/bot{token or box.token}/{method}"
    answer = requests.post(url, json=params, timeout=10)
    body = answer.json()
    assert envelope_errors(body) == []
    return answer.status_code, body


def refused(code: int, description: str) -> tuple[int, dict]:
    return code, {"ok": False, "error_code": code, "description": description}


def test_get_me_is_a_user(standin):
    status, body = call(standin, "getMe")
    assert status == 200 and body["result"]["id"] == standin.bot_id
    assert result_errors("getMe", body["result"]) == []


def test_wrong_token_and_unknown_method_are_refused_like_telegram(standin):
    assert call(standin, "getMe", token="123:wrong") == refused(401, "Unauthorized")
    assert call(standin, "sendFax") == refused(404, "Not Found")


def test_method_names_ignore_case(standin):
    assert call(standin, "GETME")[0] == 200


def test_set_webhook_refuses_what_telegram_refuses(standin):
    http = "Bad Request: bad webhook: HTTPS url must be provided for webhook"
    ports = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    assert call(standin, "setWebhook", url="http://bot.example.org/hook") == refused(400, http)
    assert call(standin, "setWebhook", url="https://bot.example.org:5000/x") == refused(400, ports)
    bad_secret = call(standin, "setWebhook", url=HOOK, secret_token="no:vale")
    assert bad_secret == refused(400, "Bad Request: secret token contains unallowed characters")
    assert standin.webhook is None


def test_webhook_lifecycle_descriptions(standin):
    def says(method, **params):
        status, body = call(standin, method, **params)
        assert status == 200 and body["result"] is True
        return body["description"]

    assert says("setWebhook", url=HOOK, secret_token="s3cr3t") == "Webhook was set"
    assert says("setWebhook", url=HOOK, secret_token="s3cr3t") == "Webhook is already set"
    info = call(standin, "getWebhookInfo")[1]["result"]
    assert result_errors("getWebhookInfo", info) == []
    assert info["url"] == HOOK and info["pending_update_count"] == 0
    assert says("deleteWebhook") == "Webhook was deleted"
    assert says("deleteWebhook") == "Webhook is already deleted"
    assert call(standin, "getWebhookInfo")[1]["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }


def test_accepted_parameters_conform_to_the_spec(standin):
    params = {"url": HOOK, "secret_token": "abc_DEF-123", "drop_pending_updates": True}
    assert params_errors("setWebhook", params) == []
    assert call(standin, "setWebhook", **params)[0] == 200


def test_send_message_errors(standin):
    standin.send_text("hola")  # Ana writes first, so the bot may write to her
    ana = standin.user.id
    assert call(standin, "sendMessage", text="x") == refused(400, "Bad Request: chat_id is empty")
    assert call(standin, "sendMessage", chat_id=ana, text="  ") == refused(
        400, "Bad Request: message text is empty"
    )
    assert call(standin, "sendMessage", chat_id=ana, text="x" * 4097) == refused(
        400, "Bad Request: message is too long"
    )
    stranger = standin.new_user("Beto")
    assert call(standin, "sendMessage", chat_id=stranger.id, text="hola") == refused(
        400, "Bad Request: chat not found"
    )
    standin.block()
    assert call(standin, "sendMessage", chat_id=ana, text="hola") == refused(
        403, "Forbidden: bot was blocked by the user"
    )
    assert standin.sent == []


def test_inline_keyboards_are_checked(standin):
    standin.send_text("hola")
    ana = standin.user.id

    def send(*buttons):
        markup = {"inline_keyboard": [list(buttons)]}
        return call(standin, "sendMessage", chat_id=ana, text="elige", reply_markup=markup)

    assert send({"text": "solo texto"}) == refused(
        400,
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard",
    )
    assert send({"text": "largo", "callback_data": "x" * 65}) == refused(
        400, "Bad Request: BUTTON_DATA_INVALID"
    )
    status, body = send({"text": "bien", "callback_data": "ok"})
    assert status == 200 and result_errors("sendMessage", body["result"]) == []
    assert body["result"]["reply_markup"] == {
        "inline_keyboard": [[{"text": "bien", "callback_data": "ok"}]]
    }


def test_form_encoded_parameters_work_too(standin):
    standin.send_text("hola")
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    answer = requests.post(
        f"{standin.base_url}/bot{standin.token}/sendMessage",
        data={"chat_id": str(standin.user.id), "text": "por formulario", "reply_markup": markup},
        timeout=10,
    ).json()
    assert answer["ok"] is True and answer["result"]["text"] == "por formulario"
    assert answer["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"


def test_send_photo(standin):
    standin.send_text("hola")
    ana = standin.user.id
    assert call(standin, "sendPhoto", chat_id=ana) == refused(
        400, "Bad Request: there is no photo in the request"
    )
    assert call(standin, "sendPhoto", chat_id=ana, photo="no-es-un-archivo") == refused(
        400, "Bad Request: wrong file identifier/HTTP URL specified"
    )
    params = {"chat_id": ana, "photo": "https://example.org/foto.jpg", "caption": "Mira"}
    assert params_errors("sendPhoto", params) == []
    status, body = call(standin, "sendPhoto", **params)
    assert status == 200 and result_errors("sendPhoto", body["result"]) == []
    assert body["result"]["caption"] == "Mira"
    # a file_id Telegram issued can be sent again
    again = {"chat_id": ana, "photo": body["result"]["photo"][-1]["file_id"]}
    assert call(standin, "sendPhoto", **again)[0] == 200


def test_updates_delivered_conform_and_carry_the_secret(standin, receiver):
    call(standin, "setWebhook", url=HOOK, secret_token="el_secreto")
    first = standin.send_text("/start")
    standin.send_photo(caption="mi horario")
    standin.send_document()
    standin.send_location(-16.5, -68.15)
    standin.send_contact("+59170000000", "Beto")
    standin.edit_text(first, "/start de nuevo")
    standin.post_in_channel("Mañana no hay clase")
    ana = standin.user.id
    keyboard = {"inline_keyboard": [[{"text": "Retiro", "callback_data": "retiro"}]]}
    call(standin, "sendMessage", chat_id=ana, text="Elige", reply_markup=keyboard)
    standin.press_button("retiro")

    assert len(receiver.deliveries) == 8
    kinds = []
    for path, headers, update in receiver.deliveries:
        assert path == "/webhooks/telegram"
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "el_secreto"
        assert headers["Content-Type"] == "application/json"
        assert type_errors("Update", update) == []
        kinds.append(next(k for k in update if k != "update_id"))
    assert kinds == ["message"] * 5 + ["edited_message", "channel_post", "callback_query"]
    ids = [update["update_id"] for _, _, update in receiver.deliveries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert receiver.deliveries[0][2]["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 6}
    ]
    assert standin.pending == []


def test_updates_wait_for_a_webhook_then_arrive(standin, receiver):
    waiting = standin.send_text("¿hay alguien?")
    assert waiting.attempts == () and not waiting.delivered
    info = call(standin, "getWebhookInfo")[1]["result"]
    assert info["pending_update_count"] == 1
    status, body = call(standin, "getUpdates")
    assert status == 200 and [u["update_id"] for u in body["result"]] == [
        waiting.update["update_id"]
    ]
    assert all(type_errors("Update", u) == [] for u in body["result"])
    call(standin, "setWebhook", url=HOOK)
    assert [u for _, _, u in receiver.deliveries] == [waiting.update]
    assert call(standin, "getWebhookInfo")[1]["result"]["pending_update_count"] == 0


def test_get_updates_conflicts_with_a_webhook(standin):
    call(standin, "setWebhook", url=HOOK)
    assert call(standin, "getUpdates") == refused(
        409,
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first",
    )


def test_drop_pending_updates(standin, receiver):
    standin.send_text("uno")
    standin.send_text("dos")
    call(standin, "setWebhook", url=HOOK, drop_pending_updates=True)
    assert receiver.deliveries == []
    assert call(standin, "getWebhookInfo")[1]["result"]["pending_update_count"] == 0


def test_failed_deliveries_are_retried_then_left_pending(standin, receiver):
    call(standin, "setWebhook", url=HOOK)
    receiver.status = 500
    delivery = standin.send_text("hola")
    assert delivery.attempts == (500,) * MAX_ATTEMPTS and not delivery.delivered
    info = call(standin, "getWebhookInfo")[1]["result"]
    assert info["pending_update_count"] == 1
    assert (
        info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    )
    assert isinstance(info["last_error_date"], int)
    receiver.status = 200
    assert [d.attempts for d in standin.flush()] == [(200,)]
    assert call(standin, "getWebhookInfo")[1]["result"]["pending_update_count"] == 0
    assert len(receiver.deliveries) == MAX_ATTEMPTS + 1


def test_the_registered_path_is_kept(standin, receiver):
    call(standin, "setWebhook", url="https://bot.example.org/webhooks/telegrm")
    standin.send_text("hola")
    assert receiver.deliveries[0][0] == "/webhooks/telegrm"


def test_unreachable_and_slow_webhooks(standin, receiver):
    call(standin, "setWebhook", url=HOOK)
    receiver.slow, standin.delivery_timeout = True, 0.2
    assert standin.send_text("lento").attempts == ("Read timeout expired",) * MAX_ATTEMPTS
    receiver.hold.set()
    closed = ServerThread(Flask("closed"))
    closed.stop()
    standin.attach({"telegram": closed.url + "/webhooks/telegram"})
    assert standin.send_text("nadie").attempts == ("Connection refused",) * MAX_ATTEMPTS
    info = call(standin, "getWebhookInfo")[1]["result"]
    assert info["pending_update_count"] == 2
    assert info["last_error_message"] == "Connection refused"


def test_callback_queries_are_answered_once(standin, receiver):
    call(standin, "setWebhook", url=HOOK)
    standin.send_text("/menu")
    keyboard = {"inline_keyboard": [[{"text": "Retiro", "callback_data": "retiro"}]]}
    call(standin, "sendMessage", chat_id=standin.user.id, text="Elige", reply_markup=keyboard)
    query = standin.press_button("retiro").update["callback_query"]
    assert query["data"] == "retiro" and query["message"]["text"] == "Elige"
    params = {"callback_query_id": query["id"]}
    assert params_errors("answerCallbackQuery", params) == []
    assert call(standin, "answerCallbackQuery", **params) == (200, {"ok": True, "result": True})
    assert call(standin, "answerCallbackQuery", **params) == refused(
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )


def test_pressing_a_button_the_bot_never_sent_is_explained(standin):
    with pytest.raises(LabError, match="ningún botón con callback_data='retiro'"):
        standin.press_button("retiro")


def test_repeat_delivers_the_same_update(standin, receiver):
    call(standin, "setWebhook", url=HOOK)
    first = standin.send_text("hola")
    again = standin.repeat(first)
    assert again.update == first.update
    assert [u["update_id"] for _, _, u in receiver.deliveries] == [first.update["update_id"]] * 2


def test_the_token_is_masked_in_request_logs(standin):
    capture_logs()  # as every lab app does
    call(standin, "getMe")
    lines = [line for line in recent(200) if "/getMe" in line]
    assert lines and all(standin.token not in line for line in lines)
    assert any(standin.token[-4:] + "/getMe" in line for line in lines)


def test_overrides_point_the_kit_here_with_generated_credentials(standin):
    other = TelegramStandIn()
    try:
        values = standin.overrides()
        assert values["TELEGRAM_API_BASE"] == standin.base_url
        assert values["TELEGRAM_BOT_TOKEN"] != other.overrides()["TELEGRAM_BOT_TOKEN"]
        assert values["TELEGRAM_SECRET_TOKEN"] != other.overrides()["TELEGRAM_SECRET_TOKEN"]
    finally:
        other.stop()


def test_each_student_gets_a_channel_of_their_own(standin):
    assert standin.demo().settings == {"TELEGRAM_CHANNEL": str(standin.DEMO_CHANNEL["id"])}
    one, two = standin.demo(1).settings, standin.demo(2).settings
    assert one == {"TELEGRAM_CHANNEL": "@canal_estudiante_1"} == standin.demo(1).settings
    assert two == {"TELEGRAM_CHANNEL": "@canal_estudiante_2"}
    chats = set()
    for name in (str(standin.DEMO_CHANNEL["id"]), "@canal_estudiante_1", "@Canal_Estudiante_2"):
        status, body = call(standin, "sendMessage", chat_id=name, text="Aviso")
        assert status == 200 and type_errors("Message", body["result"]) == []
        chats.add(body["result"]["chat"]["id"])
    assert len(chats) == 3 and all(c < 0 for c in chats)
    assert call(standin, "sendMessage", chat_id="@canal_estudiante_9", text="x") == refused(
        400, "Bad Request: chat not found"
    )


def test_the_21st_message_a_minute_to_a_channel_is_refused(standin):
    standin.demo(1)
    standin.demo(2)
    channel, photo = "@canal_estudiante_1", "https://example.org/f.jpg"
    ids = set()
    for index in range(20):
        if index % 2:
            status, body = call(standin, "sendPhoto", chat_id=channel, photo=photo)
        else:
            status, body = call(standin, "sendMessage", chat_id=channel, text=f"post {index}")
        assert status == 200
        ids.add(body["result"]["chat"]["id"])
    status, body = call(standin, "sendMessage", chat_id=channel, text="uno más")
    wait = body["parameters"]["retry_after"]
    assert status == 429 and 55 <= wait <= 60
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {wait}",
        "parameters": {"retry_after": wait},
    }
    status, other = call(standin, "sendMessage", chat_id="@canal_estudiante_2", text="otro")
    assert status == 200
    standin.send_text("hola")
    for index in range(25):  # private chats have no published hard limit: not counted
        assert call(standin, "sendMessage", chat_id=standin.user.id, text=str(index))[0] == 200
    [one] = ids
    assert standin.posting.peaks() == {str(one): 20, str(other["result"]["chat"]["id"]): 1}
