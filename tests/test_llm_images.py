"""Images for posts: base64 from the model, then Cloudinary or the lab's /media route."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server import create_app
from lab_server.llm import ImageUploadError, LLMError, generate_image

from .fakes.fake_cloudinary import FakeCloudinary

IMAGES_PATH = "/v1/images/generations"


@pytest.fixture
def cloudinary():
    fake = FakeCloudinary()
    yield fake
    fake.stop()


def test_without_cloudinary_the_image_is_saved_and_served(llm_settings, openai_standin):
    image = generate_image("afiche de la feria", settings=llm_settings, base_url="http://lab")
    assert image.path is not None and image.path.parent == llm_settings.data_dir / "media"
    assert image.url == f"http://lab/media/{image.path.name}"
    request = openai_standin.requests_to(IMAGES_PATH)[0].json
    assert request["model"] == llm_settings.openai_image_model
    client = create_app(llm_settings).test_client()
    response = client.get(f"/media/{image.path.name}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == image.path.read_bytes()


def test_with_cloudinary_the_image_is_uploaded(llm_settings, cloudinary):
    settings = llm_settings.with_values({"CLOUDINARY_URL": cloudinary.url("curso")})
    image = generate_image("afiche de la feria", settings=settings)
    assert image.url == "https://res.cloudinary.com/curso/image/upload/lab-server/img1.png"
    assert image.path is None and not (settings.data_dir / "media").exists()
    upload = cloudinary.uploads[0]
    assert upload["data"].startswith(b"\x89PNG") and upload["form"]["folder"] == "lab-server"


def test_cloudinary_refusal_is_explained(llm_settings, cloudinary):
    wrong = cloudinary.url().replace(cloudinary.api_secret, "otro")
    settings = llm_settings.with_values({"CLOUDINARY_URL": wrong})
    with pytest.raises(ImageUploadError, match="Cloudinary rechazó la imagen"):
        generate_image("afiche", settings=settings)


def test_malformed_cloudinary_url_is_explained(llm_settings):
    settings = llm_settings.with_values({"CLOUDINARY_URL": "https://example.com"})
    with pytest.raises(ImageUploadError, match="cloudinary://API_KEY:API_SECRET@CLOUD_NAME"):
        generate_image("afiche", settings=settings)


@pytest.mark.parametrize("prompt", ["", "   ", "x" * 4001])
def test_bad_prompts_are_refused_before_any_request(llm_settings, openai_standin, prompt):
    with pytest.raises(LLMError):
        generate_image(prompt, settings=llm_settings)
    assert openai_standin.requests_to(IMAGES_PATH) == []


def test_retired_image_model_says_how_to_list_models(llm_settings):
    settings = llm_settings.with_values({"OPENAI_IMAGE_MODEL": "dall-e-3"})
    with pytest.raises(LLMError, match="client.models.list()"):
        generate_image("afiche", settings=settings)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(min_size=1, max_size=80))
def test_media_route_serves_only_saved_images(client, name):
    response = client.get("/media/" + name.replace("?", "%3F").replace("#", "%23"))
    assert response.status_code in (404, 308)
    if response.status_code == 404:
        assert response.get_json()["error"] == "Not Found"
        if re.fullmatch(r"[\w\-]+(\.[\w\-]+)?", name):  # reaches the route itself
            assert response.get_json()["message"] == "No existe esa imagen."


def test_media_route_refuses_path_tricks(client, settings):
    (settings.data_dir / "secret.txt").write_text("no")
    for path in ("/media/../secret.txt", "/media/..%2Fsecret.txt", "/media/secret.txt"):
        assert client.get(path).status_code == 404
