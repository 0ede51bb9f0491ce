"""GET /v1/keys, the knowledge base (the CLI's --json output) and the audit log export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from blake3 import blake3
from fastapi.testclient import TestClient

from api.cli import main
from provenance import PublicKey
from tests.api.service.conftest import AUTH, Site


def cli_json(site: Site, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert main(["--home", str(site.home), "--catalog", site.url, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_keys_are_listed_with_status_and_validity(
    site: Site, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    site.ring.rotate()
    keys = client.get("/v1/keys").json()
    expected = cli_json(site, capsys, "keys", "list")
    assert [{k: v for k, v in key.items() if k != "public_key_pem"} for key in keys] == expected
    assert [(k["status"], k["origin"]) for k in keys] == [
        ("retired", "local"),
        ("active", "local"),
    ]
    assert keys[0]["retired_at"] is not None and keys[0]["revoked_at"] is None
    assert PublicKey.from_pem(keys[0]["public_key_pem"].encode()).key_id == site.key.key_id


@pytest.mark.parametrize(
    ("route", "params", "command"),
    [
        ("/v1/kb/styles", {}, ["kb", "styles"]),
        ("/v1/kb/prompts", {}, ["kb", "prompts"]),
        ("/v1/kb/prompts", {"limit": 1}, ["kb", "prompts", "--limit", "1"]),
        ("/v1/kb/params", {}, ["kb", "params"]),
        ("/v1/kb/params", {"model": "Z-Image"}, ["kb", "params", "--model", "Z-Image"]),
        ("/v1/history", {}, ["history"]),
        ("/v1/history", {"last": 2}, ["history", "--last", "2"]),
    ],
)
def test_the_knowledge_base_is_the_clis_json(
    site: Site,
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
    route: str,
    params: dict[str, Any],
    command: list[str],
) -> None:
    response = client.get(route, params=params)
    assert response.status_code == 200
    assert response.json() == cli_json(site, capsys, *command)


def test_style_counts_read_the_homes_vocabulary(site: Site, client: TestClient) -> None:
    (site.home / "styles.toml").write_text('[styles]\n"山水画" = ["山水"]\n', "utf-8")
    styles = {s["style"]: s for s in client.get("/v1/kb/styles").json()}
    assert styles["山水画"]["count"] == 1
    assert styles["photo"]["count"] == 2  # 高清照片 and "photo"
    assert styles["oil-painting"]["keywords"]["油画风格"] == 1


def test_knowledge_base_parameters_are_checked(client: TestClient) -> None:
    for route, params in (
        ("/v1/kb/prompts", {"limit": 0}),
        ("/v1/history", {"last": 0}),
        ("/v1/history", {"last": "many"}),
    ):
        response = client.get(route, params=params)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_request"


def _verify(client: TestClient, name: str, data: bytes) -> None:
    assert client.post("/v1/verify", files={"file": (name, data, "image/png")}).status_code == 200


def test_the_audit_log_pages_newest_first(site: Site, client: TestClient) -> None:
    for i, path in enumerate(site.files):
        _verify(client, f"{i}.png", path.read_bytes())
    first = client.get("/v1/audit", params={"limit": 2}, headers=AUTH).json()
    assert [e["input_name"] for e in first["entries"]] == ["2.png", "1.png"]
    rest = client.get(
        "/v1/audit", params={"limit": 2, "cursor": first["next_cursor"]}, headers=AUTH
    ).json()
    assert [e["input_name"] for e in rest["entries"]] == ["0.png"]
    assert rest["next_cursor"] is None
    entry = rest["entries"][0]
    assert entry["status"] == "verified" and entry["origin"] == "api"
    assert entry["checked_at"].endswith("Z")
    assert entry["input_digest"] == blake3(site.files[0].read_bytes()).hexdigest()
    future = client.get("/v1/audit", params={"since": "2999-01-01"}, headers=AUTH).json()
    assert future == {"entries": [], "next_cursor": None}


def test_the_audit_log_as_ndjson_and_csv(site: Site, client: TestClient) -> None:
    _verify(client, "one, two.png", site.files[0].read_bytes())
    _verify(client, "二.png", site.files[1].read_bytes())
    ndjson = client.get("/v1/audit", params={"format": "ndjson", "limit": 1}, headers=AUTH)
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    lines = ndjson.text.splitlines()
    assert [json.loads(line)["input_name"] for line in lines] == ["二.png"]
    assert ndjson.headers["x-next-cursor"]
    table = client.get("/v1/audit", params={"format": "csv"}, headers=AUTH)
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["input_name"] for r in rows] == ["二.png", "one, two.png"]
    assert json.loads(rows[0]["findings"])[0]["code"] == "signature_valid"
    assert "x-next-cursor" not in table.headers


def test_the_audit_log_needs_a_token_and_good_parameters(client: TestClient) -> None:
    assert client.get("/v1/audit").status_code == 401
    for params, code in (
        ({"cursor": "nope"}, "bad_cursor"),
        ({"since": "last week"}, "bad_date"),
        ({"limit": 0}, "invalid_request"),
        ({"format": "xml"}, "invalid_request"),
    ):
        response = client.get("/v1/audit", params=params, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["code"] == code
