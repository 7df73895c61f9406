"""Bad input to the Twilio stand-in's endpoints gets Twilio's 4xx JSON error, never a 5xx
or an HTML page (hypothesis, over real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server.sandbox.twilio import TwilioStandIn

from ..whatsapp_support import ERROR

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(max_size=40)
values = st.one_of(text, st.integers(-5, 2000).map(str), st.sampled_from(["", "0", "PA", "HX"]))


class Target:
    """One stand-in for the module (hypothesis runs many examples per test), and a session."""

    def __init__(self) -> None:
        self.standin = TwilioStandIn()
        self.standin.join("whatsapp:+59170000001")
        self.session = requests.Session()
        self.session.auth = (self.standin.account_sid, self.standin.auth_token)
        self.base = self.standin.base_url
        self.messages = f"{self.base}/2010-04-01/Accounts/{self.standin.account_sid}/Messages"

    def send(self, method: str, url: str, **kwargs) -> None:
        check(self.session.request(method, url, timeout=5, **kwargs))


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    made = Target()
    yield made
    made.standin.stop()


def check(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    if response.status_code >= 400:
        ERROR.validate(response.json())


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            ["To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken"]
        ),
        values,
    )
)
def test_list_queries(target, params):
    target.send("GET", target.messages + ".json", params=params)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["To", "From", "Body", "ContentSid", "ContentVariables", "MediaUrl"]),
        st.one_of(
            values,
            st.sampled_from(["whatsapp:+59170000001", "whatsapp:+14155238886"]),
            st.dictionaries(st.sampled_from(["1", "2", "x"]), st.none() | text).map(str),
            st.just("HXb5b62575e6e4ff6129ad7c8efe1f983e"),
        ),
    )
)
def test_create_with_templates(target, form):
    target.send("POST", target.messages + ".json", data=form)


@FUZZ
@given(
    st.sampled_from(["SM" + "0" * 32, "x", "SM", "%00", "..%2F"]),
    st.dictionaries(st.sampled_from(["Body", "Status"]), values),
    st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
)
def test_one_message(target, sid, form, method):
    target.send(method, f"{target.messages}/{sid}.json", data=form)


@FUZZ
@given(st.text(alphabet="abcXYZ019/._-", min_size=1, max_size=30))
def test_unknown_paths(target, path):
    target.send("GET", f"{target.base}/{path}")
