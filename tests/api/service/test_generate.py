"""POST /v1/generate: token, request checks before torch, one at a time, a real signed image."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.service.routers.generate import Generation
from tests.api.service.conftest import AUTH, Site

SMALL = {"width": 64, "height": 64, "num_inference_steps": 2}


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the model fails the test: these requests must be refused before it."""

    def refuse(self: Generation, source: Any) -> Any:
        raise AssertionError("the model was loaded for a request that should have been refused")

    monkeypatch.setattr(Generation, "model", refuse)


def test_generation_needs_a_token(client: TestClient, no_model: None) -> None:
    response = client.post("/v1/generate", json={"prompt": "一只橘猫"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_missing"
    wrong = client.post(
        "/v1/generate", json={"prompt": "一只橘猫"}, headers={"Authorization": "Bearer x"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "token_invalid"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"prompt": "一只橘猫", "width": 100, "height": 64},
            "invalid_generation_request",
            "Width 100 is not a multiple of 16 (Z-Image needs that); the nearest valid width "
            "is 96.",
        ),
        (
            {"prompt": "   "},
            "invalid_generation_request",
            "The prompt is empty; say what the image should show.",
        ),
        (
            {"prompt": "a\x01b"},
            "invalid_generation_request",
            "The prompt holds the control character U+0001",
        ),
        ({"prompt": ""}, "invalid_request", "Field prompt: String should have at least 1"),
        (
            {"prompt": "猫", "num_inference_steps": 0},
            "invalid_request",
            "Field num_inference_steps: Input should be greater than or equal to 1.",
        ),
        (
            {"prompt": "猫", "width": 8192},
            "invalid_request",
            "Field width: Input should be less than or equal to 4096.",
        ),
        ({"prompt": "猫", "seed": -2}, "invalid_request", "Field seed: Input should be greater"),
        ({"prompt": "猫", "guidance_scale": -1}, "invalid_request", "Field guidance_scale"),
        ({"prompt": "猫", "image": "x.png"}, "invalid_request", "Field image: Extra inputs"),
        ({}, "invalid_request", "Field prompt: Field required."),
    ],
)
def test_bad_requests_are_422_before_the_model_loads(
    client: TestClient, no_model: None, body: dict[str, Any], code: str, message: str
) -> None:
    response = client.post("/v1/generate", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["message"].startswith(message)


def test_a_second_generation_meanwhile_is_429_busy(client: TestClient, no_model: None) -> None:
    generation: Generation = client.app.state.generation  # type: ignore[attr-defined]
    assert generation.lock.acquire(blocking=False)  # a generation is running
    try:
        response = client.post("/v1/generate", json={"prompt": "一只橘猫", **SMALL}, headers=AUTH)
    finally:
        generation.lock.release()
    assert response.status_code == 429
    assert response.json()["code"] == "busy"
    assert response.headers["retry-after"] == "5"


def test_without_a_signing_key_generation_is_unavailable(
    site: Site, make_client: Callable[..., TestClient], tmp_path: Path, no_model: None
) -> None:
    client = make_client(home=tmp_path / "empty-home")
    response = client.post("/v1/generate", json={"prompt": "一只橘猫", **SMALL}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["code"] == "signing_key_unavailable"
    assert "keys init" in response.json()["message"]


def test_an_unknown_configured_model_is_unavailable(
    make_client: Callable[..., TestClient], no_model: None
) -> None:
    client = make_client(model="no-such-model")
    response = client.post("/v1/generate", json={"prompt": "一只橘猫", **SMALL}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["code"] == "model_unavailable"


def test_a_generation_is_signed_catalogued_and_verifies(
    site: Site, make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(output_dir=tmp_path / "made", device="cpu")
    body = {"prompt": "一只橘猫坐在窗台上", "negative_prompt": "模糊", "seed": 5, **SMALL}
    response = client.post("/v1/generate", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    made = response.json()
    record = made["record"]
    assert made["seed"] == 5 == record["generation"]["seed"]
    assert record["record_id"] == made["record_id"]
    assert record["generation"]["prompt"] == "一只橘猫坐在窗台上"
    assert (record["generation"]["width"], record["generation"]["height"]) == (64, 64)
    assert record["model"]["preset"] == "tiny-z-image"
    assert response.headers["location"] == f"/v1/records/{made['record_id']}"
    assert [p.suffix for p in sorted((tmp_path / "made").iterdir())] == [".json", ".png"]
    image = client.get(made["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    report = client.post(
        "/v1/verify", files={"file": ("made.png", image.content, "image/png")}
    ).json()
    assert report["status"] == "verified"
    assert report["record_id"] == made["record_id"]
    found = client.get("/v1/records", params={"q": "窗台"}).json()["results"]
    assert made["record_id"] in [r["record_id"] for r in found]


def test_the_service_starts_without_importing_torch(site: Site) -> None:
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from api.service.app import create_app\n"
        "from api.service.settings import ServiceSettings\n"
        f"settings = ServiceSettings(home={str(site.home)!r}, catalog={site.url!r})\n"
        "with TestClient(create_app(settings)) as client:\n"
        "    assert client.get('/v1/records').status_code == 200\n"
        "    body = {'prompt': 'x', 'width': 100}\n"
        "    assert client.post('/v1/generate', json=body).status_code == 401\n"
        "print(sorted(m for m in ('torch', 'diffusers') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
