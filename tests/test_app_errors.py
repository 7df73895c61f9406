"""Errors a student meets while exploring the API (notebook 01): JSON, Spanish, headers kept."""

from werkzeug.exceptions import RequestEntityTooLarge

from lab_server.app import _json_error


def test_unknown_route_is_a_json_404_in_spanish(client):
    response = client.get("/no-existe")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "Not Found",
        "message": "No existe la ruta /no-existe en este servidor. Revisa la URL.",
    }


def test_wrong_method_is_a_405_that_keeps_the_allow_header(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response.content_type == "application/json"
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.get_json()["message"] == (
        "La ruta /health no acepta el método POST. Métodos permitidos: GET, HEAD, OPTIONS."
    )


def test_a_route_s_own_message_is_kept(client):
    response = client.get("/api/messages?limit=abc")
    assert response.status_code == 400
    assert response.get_json()["message"] == "limit debe ser un número entero entre 1 y 500"


def test_a_body_over_the_limit_is_a_413_in_spanish(app):
    # No foundation route reads a body yet; the channels' webhooks will.
    with app.test_request_context("/webhook", method="POST"):
        response, code = _json_error(RequestEntityTooLarge())
    assert code == 413
    assert response.get_json()["message"] == (
        "El cuerpo de la petición supera el máximo de 1024 KiB."
    )
