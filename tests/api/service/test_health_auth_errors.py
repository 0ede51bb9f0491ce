"""Health and readiness, access (tokens, reads behind a token, CORS), the error shape, the page."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import api.service.app as service_app
from api.service.app import create_app
from api.service.deps import hash_token
from api.service.settings import DEFAULT_MAX_UPLOAD_BYTES, ServiceSettings
from generator.presets import DEFAULT_MODEL
from provenance import Limits
from provenance.catalog.store import head_revision
from tests.api.service.conftest import AUTH, TOKEN, Site, settings_for

READ_ROUTES = [
    "/v1/records",
    "/v1/keys",
    "/v1/kb/styles",
    "/v1/kb/prompts",
    "/v1/kb/params",
    "/v1/history",
]


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "revision": head_revision()}


def test_without_a_catalog_the_service_runs_but_is_not_ready(tmp_path: Path) -> None:
    settings = ServiceSettings(home=tmp_path, catalog=f"sqlite:///{tmp_path / 'none.sqlite'}")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["code"] == "not_ready"
        assert "run `aigc-prov db upgrade`" in ready.json()["message"]
        search = client.get("/v1/records")
        assert search.status_code == 503
        assert search.json()["code"] == "catalog_unavailable"


def test_a_catalog_at_an_older_revision_is_not_ready(
    site: Site, make_client: Callable[..., TestClient]
) -> None:
    engine = create_engine(site.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    engine.dispose()
    ready = make_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["code"] == "not_ready"
    assert "is at revision 0001" in ready.json()["message"]


def test_reads_are_open_by_default_and_need_a_token_when_configured(
    make_client: Callable[..., TestClient],
) -> None:
    open_client = make_client()
    for route in READ_ROUTES:
        assert open_client.get(route).status_code == 200, route
    closed = make_client(reads_require_token=True)
    for route in READ_ROUTES:
        missing = closed.get(route)
        assert missing.status_code == 401, route
        assert missing.json()["code"] == "token_missing"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = closed.get(route, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "token_invalid"
        assert closed.get(route, headers=AUTH).status_code == 200, route
    upload = closed.post("/v1/verify", files={"file": ("a.png", b"x", "image/png")})
    assert upload.status_code == 401
    assert closed.get("/healthz").status_code == 200
    assert closed.get("/readyz").status_code == 200
    assert closed.get("/openapi.json").status_code == 200


def test_thumbnails_behind_a_token_are_cached_privately(
    site: Site, make_client: Callable[..., TestClient]
) -> None:
    closed = make_client(reads_require_token=True)
    response = closed.get(f"/v1/records/{site.record_ids[0]}/thumbnail", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=3600"


def test_without_configured_tokens_every_protected_route_refuses(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(token_hashes=[])
    response = client.get("/v1/audit", headers=AUTH)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert client.get("/v1/audit").json()["code"] == "token_missing"


def test_a_non_bearer_authorization_is_a_missing_token(client: TestClient) -> None:
    response = client.get("/v1/audit", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_missing"


def test_several_token_hashes_are_accepted(make_client: Callable[..., TestClient]) -> None:
    client = make_client(token_hashes=[hash_token("first"), hash_token(TOKEN)])
    for token in ("first", TOKEN):
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/audit", headers=headers).status_code == 200


def test_cors_is_off_by_default_and_allows_only_the_configured_origins(
    make_client: Callable[..., TestClient],
) -> None:
    origin = {"Origin": "https://auditor.example"}
    plain = make_client().get("/v1/keys", headers=origin)
    assert "access-control-allow-origin" not in plain.headers
    cors = make_client(cors_origins=["https://auditor.example"])
    allowed = cors.get("/v1/keys", headers=origin)
    assert allowed.headers["access-control-allow-origin"] == "https://auditor.example"
    other = cors.get("/v1/keys", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers
    small = make_client(cors_origins=["https://auditor.example"], max_upload_bytes=10)
    refused = small.post(
        "/v1/verify",
        content=b"x" * (100 * 1024),
        headers={**origin, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert refused.status_code == 413  # and the page can read why:
    assert refused.headers["access-control-allow-origin"] == "https://auditor.example"
    preflight = cors.options(
        "/v1/verify",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    defaults = ServiceSettings()
    assert defaults.reads_require_token is False
    assert defaults.cors_origins == []
    assert defaults.token_hashes == []
    assert defaults.max_upload_bytes == DEFAULT_MAX_UPLOAD_BYTES == 50 * 1024 * 1024
    assert defaults.max_pixels == Limits().max_pixels
    assert defaults.model == DEFAULT_MODEL
    first, second = hash_token("a"), hash_token("b")
    monkeypatch.setenv("AIGC_PROV_HOME", str(tmp_path))
    monkeypatch.setenv("AIGC_PROV_CATALOG", "postgresql+psycopg://u@db/catalog")
    monkeypatch.setenv("AIGC_PROV_TOKEN_HASHES", f"{first}, {second.upper()}")
    monkeypatch.setenv("AIGC_PROV_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("AIGC_PROV_READS_REQUIRE_TOKEN", "true")
    monkeypatch.setenv("AIGC_PROV_MAX_PIXELS", "1000")
    settings = ServiceSettings()
    assert settings.home == tmp_path
    assert settings.catalog_url == "postgresql+psycopg://u@db/catalog"
    assert settings.token_hashes == [first, second]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.reads_require_token is True
    assert settings.limits.max_pixels == 1000
    assert settings.generated_dir == tmp_path / "generated"
    monkeypatch.setenv("AIGC_PROV_TOKEN_HASHES", "not-a-hash")
    with pytest.raises(ValueError, match=r"each token hash is 64 hex digits"):
        ServiceSettings()


def test_unknown_routes_and_methods_have_the_error_shape(client: TestClient) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": "not_found",
        "message": "There is no /v2/nothing here; see /docs for the API.",
    }
    wrong = client.delete("/v1/records")
    assert wrong.status_code == 405
    assert wrong.json() == {
        "code": "method_not_allowed",
        "message": "DELETE is not allowed on /v1/records.",
    }
    assert wrong.headers["allow"] == "GET"


def test_a_malformed_json_body_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/generate",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_an_unexpected_error_is_a_500_with_the_error_shape(site: Site) -> None:
    app = create_app(settings_for(site))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "code": "internal_error",
        "message": "An unexpected error occurred; it has been logged.",
    }
    assert "secret" not in response.text


def test_every_error_response_in_the_openapi_document_has_the_error_shape(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["code", "message"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                        path,
                        method,
                        status,
                    )
    security = document["paths"]["/v1/audit"]["get"]["security"]
    assert security == [{"HTTPBearer": []}]
    assert "security" not in document["paths"]["/v1/records"]["get"]


def test_the_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_the_web_page_is_served_at_the_root(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>核验</title>", "utf-8")
    (static / "app.js").write_text("console.log(1)", "utf-8")
    monkeypatch.setattr(service_app, "STATIC_DIR", static)
    with TestClient(create_app(settings_for(site))) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "核验" in page.text
        assert client.get("/static/app.js").text == "console.log(1)"
        assert "/" not in client.get("/openapi.json").json()["paths"]
    monkeypatch.setattr(service_app, "STATIC_DIR", tmp_path / "absent")
    with TestClient(create_app(settings_for(site))) as client:
        missing = client.get("/")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"


def test_responses_are_json_with_chinese_kept_readable(site: Site, client: TestClient) -> None:
    response = client.get("/v1/records", params={"q": "橘猫"})
    assert "一只橘猫" in response.content.decode("utf-8")  # not \\u-escaped
    assert json.loads(response.content)["results"]
