"""GET /v1/records (search), /v1/records/{id}, its image, thumbnail and lineage; rating."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.cli import main
from tests.api.service.conftest import AUTH, Site, sign_file


def cli_search(site: Site, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    main(["--home", str(site.home), "--catalog", site.url, "search", *args, "--json"])
    return dict(json.loads(capsys.readouterr().out))


def without_urls(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.endswith("_url")} for r in results]


def test_search_gives_the_clis_results_with_image_urls(
    site: Site, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.get("/v1/records", params={"q": "橘猫"})
    assert response.status_code == 200
    page = response.json()
    ids = [r["record_id"] for r in page["results"]]
    assert ids == [site.record_ids[2], site.record_ids[0]]  # newest first
    assert page["next_cursor"] is None
    first = page["results"][0]
    assert first["image_url"] == f"/v1/records/{site.record_ids[2]}/image"
    assert first["thumbnail_url"] == f"/v1/records/{site.record_ids[2]}/thumbnail"
    expected = cli_search(site, capsys, "橘猫")
    assert without_urls(page["results"]) == expected["results"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [2, 1, 0]),
        ({"q": "fox"}, [1]),
        ({"q": "山水"}, [2]),
        ({"q": "橘猫", "model": "Z-Image"}, [2]),
        ({"seed": 7}, [1]),
        ({"steps_min": 10}, [2]),
        ({"steps_max": 8}, [1, 0]),
        ({"cfg_min": 1}, [2]),
        ({"cfg_max": 0.5}, [1, 0]),
        ({"width": 600, "height": 300}, [2]),
        ({"since": "2000-01-01", "until": "2999-12-31"}, [2, 1, 0]),
        ({"until": "2001-01-01"}, []),
        ({"q": "no such words anywhere"}, []),
    ],
)
def test_search_filters(
    site: Site, client: TestClient, params: dict[str, Any], expected: list[int]
) -> None:
    response = client.get("/v1/records", params=params)
    assert response.status_code == 200
    assert [r["record_id"] for r in response.json()["results"]] == [
        site.record_ids[i] for i in expected
    ]


def test_search_by_signer_rating_and_tag(site: Site, client: TestClient) -> None:
    with site.catalog() as catalog:
        catalog.add_tags(site.record_ids[1], ["狐狸", "forest"])
        catalog.rate(site.record_ids[0], 5)
    prefix = site.key.key_id[:8]
    assert len(client.get("/v1/records", params={"signer": prefix}).json()["results"]) == 3
    assert client.get("/v1/records", params={"signer": "00000000"}).json()["results"] == []
    rated = client.get("/v1/records", params={"rating_min": 4}).json()["results"]
    assert [(r["record_id"], r["rating"]) for r in rated] == [(site.record_ids[0], 5)]
    tagged = client.get("/v1/records", params={"tag": "狐狸"}).json()["results"]
    assert [r["record_id"] for r in tagged] == [site.record_ids[1]]


def test_search_pages_with_a_cursor(site: Site, client: TestClient) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    for _ in range(5):
        page = client.get("/v1/records", params=params).json()
        seen += [r["record_id"] for r in page["results"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == site.record_ids[::-1]
    relevance = {"q": "橘猫", "sort": "relevance", "limit": 1}
    first = client.get("/v1/records", params=relevance).json()
    second = client.get("/v1/records", params={**relevance, "cursor": first["next_cursor"]}).json()
    ids = {first["results"][0]["record_id"], second["results"][0]["record_id"]}
    assert ids == {site.record_ids[0], site.record_ids[2]}
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"cursor": "not-a-cursor"},
            "bad_cursor",
            "The cursor is not one this search returned; start again without cursor.",
        ),
        (
            {"since": "yesterday"},
            "bad_date",
            "The parameter since is not a date or time: 'yesterday' "
            "(use 2026-05-01 or 2026-05-01T12:00:00Z).",
        ),
        (
            {"until": "9999-12-31T23:00:00-23:00"},  # past the last representable UTC time
            "bad_date",
            "The parameter until is not a date or time: '9999-12-31T23:00:00-23:00' "
            "(use 2026-05-01 or 2026-05-01T12:00:00Z).",
        ),
        (
            {"limit": 0},
            "invalid_request",
            "Parameter limit: Input should be greater than or equal to 1.",
        ),
        (
            {"limit": 101},
            "invalid_request",
            "Parameter limit: Input should be less than or equal to 100.",
        ),
        ({"seed": -1}, "invalid_request", "Parameter seed: Input should be greater than"),
        ({"cfg_min": "nan"}, "invalid_request", "Parameter cfg_min: Input should be a finite"),
        ({"sort": "oldest"}, "invalid_request", "Parameter sort: Input should be 'newest' or"),
        ({"model": "a\x00b"}, "invalid_request", "Parameter model: String should match pattern"),
        ({"rating_min": 6}, "invalid_request", "Parameter rating_min: Input should be less than"),
    ],
)
def test_bad_search_parameters_are_422(
    client: TestClient, params: dict[str, Any], code: str, message: str
) -> None:
    response = client.get("/v1/records", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["message"].startswith(message)


def test_one_record_with_its_signed_record_signer_and_tags(site: Site, client: TestClient) -> None:
    record_id = site.record_ids[0]
    with site.catalog() as catalog:
        catalog.add_tags(record_id, ["猫"])
        stored = json.loads(bytes(catalog.get(record_id).record_bytes))
    response = client.get(f"/v1/records/{record_id}")
    assert response.status_code == 200
    detail = response.json()
    assert detail["record"] == stored
    assert detail["summary"]["prompt"] == "一只橘猫坐在窗台上，高清照片"
    assert detail["summary"]["image_url"] == f"/v1/records/{record_id}/image"
    assert detail["tags"] == ["猫"]
    assert detail["signer"] == {
        "key_id": site.key.key_id,
        "status": "active",
        "trusted": True,
        "revoked_at": None,
        "label": "service tests",
        "origin": "local",
        "signature": "valid",
        "problem": None,
    }


def test_a_revoked_signer_shows_in_the_record(site: Site, client: TestClient) -> None:
    site.ring.revoke(site.key.key_id)
    signer = client.get(f"/v1/records/{site.record_ids[0]}").json()["signer"]
    assert (signer["status"], signer["trusted"], signer["signature"]) == ("revoked", False, "valid")
    assert signer["revoked_at"] is not None
    report = client.post(
        "/v1/verify", files={"file": ("a.png", site.files[0].read_bytes(), "image/png")}
    ).json()
    assert report["status"] == "revoked_key"  # the key ring is re-read when it changes


def test_an_unknown_record_is_404(client: TestClient) -> None:
    missing = "01a1fde5-0000-7000-8000-000000000000"
    for suffix in ("", "/image", "/thumbnail", "/lineage"):
        response = client.get(f"/v1/records/{missing}{suffix}")
        assert response.status_code == 404
        assert response.json() == {
            "code": "record_not_found",
            "message": f"There is no record {missing} in the catalog.",
        }
    bad = client.get("/v1/records/not a uuid!")
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_request"


def test_the_image_is_the_catalogued_file(site: Site, client: TestClient) -> None:
    record_id = site.record_ids[0]
    response = client.get(f"/v1/records/{record_id}/image")
    assert response.status_code == 200
    assert response.content == site.files[0].read_bytes()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    etag = response.headers["etag"]
    again = client.get(f"/v1/records/{record_id}/image", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_a_changed_or_missing_file_is_not_served(site: Site, client: TestClient) -> None:
    changed, gone = site.record_ids[0], site.record_ids[1]
    site.files[0].write_bytes(site.files[0].read_bytes() + b"appended")
    site.files[1].unlink()
    for suffix in ("image", "thumbnail"):
        response = client.get(f"/v1/records/{changed}/{suffix}")
        assert response.status_code == 409
        assert response.json()["code"] == "file_changed"
        response = client.get(f"/v1/records/{gone}/{suffix}")
        assert response.status_code == 404
        assert response.json() == {
            "code": "file_missing",
            "message": f"The file of record {gone} is no longer there.",
        }


def test_a_record_catalogued_without_a_file_has_no_image(
    site: Site, client: TestClient, make_signed: Callable[..., Any]
) -> None:
    signed = make_signed("一只没有文件的猫", signing_key=site.key)
    with site.catalog() as catalog:
        assert catalog.add_record(signed.catalog_row())
    response = client.get(f"/v1/records/{signed.record_id}/image")
    assert response.status_code == 404
    assert response.json()["code"] == "file_missing"


def test_thumbnails_are_small_webp_with_an_etag(site: Site, client: TestClient) -> None:
    record_id = site.record_ids[2]  # 600x300
    response = client.get(f"/v1/records/{record_id}/thumbnail")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(response.content)) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == (256, 128)
    etag = response.headers["etag"]
    assert response.headers["cache-control"] == "public, max-age=3600"
    again = client.get(f"/v1/records/{record_id}/thumbnail", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_a_thumbnail_over_the_pixel_limit_is_413(
    site: Site, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(max_pixels=100_000)
    small = client.get(f"/v1/records/{site.record_ids[0]}/thumbnail")
    assert small.status_code == 200
    big = client.get(f"/v1/records/{site.record_ids[2]}/thumbnail")  # 180,000 pixels
    assert big.status_code == 413
    assert big.json()["code"] == "too_many_pixels"


def test_lineage_checks_every_link(site: Site, client: TestClient) -> None:
    parent_id = site.record_ids[0]
    with site.catalog() as catalog:
        parent = json.loads(bytes(catalog.get(parent_id).record_bytes))
        digest = parent["content"]["pixel_digest"]
        child = sign_file(
            site,
            catalog,
            "一只黑猫坐在窗台上",
            seed=3,
            task={
                "type": "image-to-image",
                "parent_record_id": parent_id,
                "input_digest": digest,
                "mask_digest": None,
            },
        )
        forged = sign_file(
            site,
            catalog,
            "一只白猫",
            seed=4,
            task={
                "type": "image-to-image",
                "parent_record_id": parent_id,
                "input_digest": {"alg": "sha256", "value": "0" * 64},
                "mask_digest": None,
            },
        )
    response = client.get(f"/v1/records/{child.record_id}/lineage")
    assert response.status_code == 200
    chain = response.json()
    assert chain["ok"] is True
    assert [s["record_id"] for s in chain["steps"]] == [child.record_id, parent_id]
    assert chain["steps"][1]["file"] == str(site.files[0])
    broken = client.get(f"/v1/records/{forged.record_id}/lineage").json()
    assert broken["ok"] is False
    assert "pixels differ from the input digest" in broken["steps"][1]["note"]
    single = client.get(f"/v1/records/{parent_id}/lineage").json()
    assert single == {"steps": [single["steps"][0]], "ok": True}


def test_rating_needs_a_token(site: Site, client: TestClient) -> None:
    record_id = site.record_ids[1]
    url = f"/v1/records/{record_id}/rating"
    missing = client.post(url, json={"rating": 4})
    assert missing.status_code == 401
    assert missing.json()["code"] == "token_missing"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post(url, json={"rating": 4}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "token_invalid"
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    ok = client.post(url, json={"rating": 4}, headers=AUTH)
    assert ok.status_code == 200
    assert ok.json() == {"record_id": record_id, "rating": 4}
    rated = client.get("/v1/records", params={"rating_min": 4}).json()["results"]
    assert [r["record_id"] for r in rated] == [record_id]


@pytest.mark.parametrize("body", [{"rating": 0}, {"rating": 6}, {"rating": "x"}, {}])
def test_a_bad_rating_is_422(site: Site, client: TestClient, body: dict[str, Any]) -> None:
    response = client.post(f"/v1/records/{site.record_ids[0]}/rating", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert "rating" in response.json()["message"]


def test_rating_an_unknown_record_is_404(client: TestClient) -> None:
    missing = "01a1fde5-0000-7000-8000-000000000000"
    response = client.post(f"/v1/records/{missing}/rating", json={"rating": 3}, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["code"] == "record_not_found"
