"""The portal over real HTTP: login, cookie flags, CSRF, who may see what, fuzzed forms."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server.portal import api_token, login_link

from .portal_support import csrf_of, logged_in, start_lab


@pytest.fixture
def lab(tmp_path):
    return start_lab(tmp_path)


def set_cookie(answer: requests.Response) -> str:
    return answer.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("path", ["/", "/chat", "/chat/whatsapp/59170000001"])
def test_pages_send_a_stranger_to_the_login(lab, path):
    answer = requests.get(lab.url + path, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/entrar?siguiente=")


def test_json_routes_answer_401_to_a_stranger(lab):
    answer = requests.get(lab.url + "/portal/chat/whatsapp/59170000001", timeout=10)
    assert answer.status_code == 401
    assert answer.json()["message"] == "Inicia sesión en el portal."


def test_the_right_token_logs_in_and_the_cookie_is_httponly_and_lax(lab):
    session = requests.Session()
    token = csrf_of(session.get(lab.url + "/entrar", timeout=10))
    answer = session.post(
        lab.url + "/entrar",
        data={"token": api_token(lab.settings), "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    cookie = set_cookie(answer).lower()
    assert "lab_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http on 127.0.0.1: a Secure cookie never comes back
    assert session.get(lab.url + "/chat/whatsapp/59170000001", timeout=10).status_code == 200


def test_over_the_tunnel_the_cookie_is_also_secure(lab):
    # the ngrok agent forwards https requests with X-Forwarded-Proto, which the lab trusts
    answer = requests.get(lab.url + "/entrar", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert "secure" in set_cookie(answer).lower()


def test_a_wrong_token_is_refused_in_spanish(lab):
    session = requests.Session()
    token = csrf_of(session.get(lab.url + "/entrar", timeout=10))
    answer = session.post(
        lab.url + "/entrar", data={"token": "no-es-el-token", "csrf_token": token}, timeout=10
    )
    assert answer.status_code == 401
    assert "no es el del laboratorio" in answer.text
    assert session.get(lab.url + "/chat", allow_redirects=False, timeout=10).status_code == 302


def test_a_form_without_its_csrf_token_is_refused(lab):
    session = requests.Session()
    session.get(lab.url + "/entrar", timeout=10)
    answer = session.post(lab.url + "/entrar", data={"token": api_token(lab.settings)}, timeout=10)
    assert answer.status_code == 400 and "token CSRF" in answer.text
    assert session.get(lab.url + "/chat", allow_redirects=False, timeout=10).status_code == 302


def test_a_logged_in_post_needs_the_token_of_its_own_session(lab):
    session, _ = logged_in(lab)
    _, other_token = logged_in(lab)
    url = lab.url + "/chat/whatsapp/59170000001"
    before = lab.store.count()
    for data in ({"texto": "hola"}, {"texto": "hola", "csrf_token": other_token}):
        answer = session.post(url, data=data, headers={"Accept": "application/json"}, timeout=10)
        assert answer.status_code == 400
        assert "CSRF" in answer.json()["message"]
    assert lab.store.count() == before  # nothing reached the webhook


def test_the_csrf_token_also_travels_in_a_header(lab):
    session, token = logged_in(lab)
    answer = session.post(
        lab.url + "/chat/whatsapp/59170000001",
        data={"texto": "hola", "nombre": "Ana"},
        headers={"Accept": "application/json", "X-CSRFToken": token},
        timeout=20,
    )
    assert answer.status_code == 200 and answer.json() == {"ok": True, "note": ""}


def test_logout_ends_the_session(lab):
    session, token = logged_in(lab)
    session.post(lab.url + "/salir", data={"csrf_token": token}, timeout=10)
    assert session.get(lab.url + "/chat", allow_redirects=False, timeout=10).status_code == 302


def test_login_goes_back_to_the_asked_page_but_never_off_site(lab):
    session = requests.Session()
    for target, expected in (("/chat/telegram", "/chat/telegram/"), ("https://evil.example", "/")):
        token = csrf_of(session.get(lab.url + "/entrar", timeout=10))
        answer = session.post(
            lab.url + "/entrar",
            data={"token": api_token(lab.settings), "csrf_token": token, "siguiente": target},
            timeout=10,
        )
        assert answer.url.startswith(lab.url + expected)


def test_a_login_link_works_once(lab):
    link = login_link(lab.context.app, lab.url, "/chat/telegram")
    first, second = requests.Session(), requests.Session()
    assert "/chat/telegram/" in first.get(link, timeout=10).url
    assert second.get(link, timeout=10).url.startswith(lab.url + "/entrar")


def test_pages_carry_a_strict_content_security_policy(lab):
    answer = requests.get(lab.url + "/entrar", timeout=10)
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'self'" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


TEXT = st.text(st.characters(codec="utf-8"), max_size=2000)
PATH_PART = st.text(
    st.characters(codec="ascii", exclude_characters="/?#%"), min_size=1, max_size=30
)
QUICK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=40, deadline=None, suppress_health_check=QUICK)
@given(token=TEXT, name=TEXT, text=TEXT, after=PATH_PART, channel=PATH_PART, cid=PATH_PART)
def test_fuzzed_forms_get_4xx_never_5xx(lab, token, name, text, after, channel, cid):
    session, csrf = logged_in(lab)
    json = {"Accept": "application/json"}
    answers = [
        requests.post(lab.url + "/entrar", data={"token": token, "csrf_token": token}, timeout=10),
        session.post(
            f"{lab.url}/chat/{channel}/contactos", data={"nombre": name, "csrf_token": csrf}
        ),
        session.post(
            f"{lab.url}/chat/whatsapp/{cid}",
            data={"texto": text, "nombre": name, "csrf_token": csrf},
            headers=json,
            timeout=30,
        ),
        session.get(f"{lab.url}/portal/chat/{channel}/{cid}", params={"despues": after}),
        session.get(f"{lab.url}/chat/{channel}/{cid}", params={"nombre": name}),
        session.post(
            f"{lab.url}/crear",
            data={"titulo": name, "contenido": text, "redes": channel, "csrf_token": csrf},
            timeout=30,
        ),
        session.post(
            f"{lab.url}/posts/{cid}/{channel}/editar",
            data={"texto": text, "hashtags": name, "csrf_token": csrf},
        ),
        session.get(f"{lab.url}/panel", params={"red": channel, "estado": cid, "fecha": after}),
        session.get(f"{lab.url}/posts/{cid}"),
    ]
    for answer in answers:
        assert answer.status_code < 500, (answer.request.url, answer.text[:300])


def test_lab_show_frames_the_portal_logged_in(lab):
    frame = lab.show("/chat/telegram")
    assert frame.src.startswith(lab.url.replace("127.0.0.1", "localhost") + "/entrar?codigo=")
    session = requests.Session()
    answer = session.get(frame.src.replace("localhost", "127.0.0.1"), timeout=10)
    assert answer.url.startswith(lab.url + "/chat/telegram/") and lab.api_token not in frame.src
