from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_health_reports_database_and_sandbox(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "sqlite",
        "database_up": True,
        "journal": 0,
        "sandbox": [],
        "channels": sorted(client.application.extensions["lab"].webhook_paths()),
    }


def test_messages_api_reads_the_store(app, client):
    store = app.extensions["lab"].store
    with store.transaction() as tx:
        tx.add_message(channel="whatsapp", direction="in", body="hola", sender="whatsapp:+1")
        tx.add_message(channel="telegram", direction="in", body="hi", sender="42")
    body = client.get("/api/messages?channel=whatsapp").get_json()
    assert [m["body"] for m in body["messages"]] == ["hola"]
    assert len(client.get("/api/messages?limit=1").get_json()["messages"]) == 1


def test_bad_parameters_are_clear_400s(client):
    for query in ("limit=abc", "limit=0", "limit=100000", "channel=myspace"):
        response = client.get(f"/api/messages?{query}")
        assert response.status_code == 400, query
        assert response.is_json and response.get_json()["message"]


def test_unknown_routes_and_methods_are_json(client):
    assert client.get("/nope").get_json()["error"] == "Not Found"
    response = client.post("/health")
    assert response.status_code == 405 and response.get_json()["error"] == "Method Not Allowed"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["channel", "limit", "x", "limit[]"]), st.text(max_size=50), max_size=3
    )
)
def test_fuzzed_queries_never_cause_a_server_error(client, params):
    response = client.get("/api/messages", query_string=params)
    assert response.status_code in (200, 400)
    assert response.is_json
