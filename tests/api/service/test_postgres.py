"""Stateless: two apps (two workers, or two machines) on one PostgreSQL catalog serve the same
data and see each other's writes at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.service.app import create_app
from provenance.catalog.store import Catalog
from tests.api.service.conftest import AUTH, Site, settings_for, sign_file
from tests.provenance.catalog.conftest import postgres_admin, temporary_database

__all__ = ["postgres_admin"]  # the session fixture, shared with the catalog tests


@pytest.fixture
def pg_url(postgres_admin: Engine | str) -> Iterator[str]:
    if isinstance(postgres_admin, str):
        pytest.skip(postgres_admin)
    with temporary_database(postgres_admin) as url:
        yield url


def test_two_apps_on_one_database_see_each_others_writes(
    site: Site, pg_url: str, tmp_path: Path
) -> None:
    shared = Site(home=site.home, url=pg_url, key=site.key, ring=site.ring)
    with Catalog.open(pg_url) as catalog:
        for i, prompt in enumerate(("一只橘猫在雪地里", "a fox at dawn")):
            sign_file(shared, catalog, prompt, seed=100 + i, name=f"pg-{i}.png")
    first_id, second_id = shared.record_ids
    settings = settings_for(site, catalog=pg_url)
    with (
        TestClient(create_app(settings)) as one,
        TestClient(create_app(settings)) as two,
    ):
        assert one.get("/readyz").status_code == 200
        assert two.get("/readyz").status_code == 200
        assert [
            r["record_id"] for r in two.get("/v1/records", params={"q": "橘猫"}).json()["results"]
        ] == [first_id]

        rated = one.post(f"/v1/records/{second_id}/rating", json={"rating": 5}, headers=AUTH)
        assert rated.status_code == 200
        seen = two.get("/v1/records", params={"rating_min": 5}).json()["results"]
        assert [(r["record_id"], r["rating"]) for r in seen] == [(second_id, 5)]

        data = shared.files[0].read_bytes()
        report = two.post("/v1/verify", files={"file": ("snow.png", data, "image/png")}).json()
        assert report["status"] == "verified"
        assert any(f["code"] == "catalog_record" for f in report["findings"])
        log = one.get("/v1/audit", headers=AUTH).json()["entries"]
        assert [(e["input_name"], e["origin"], e["status"]) for e in log] == [
            ("snow.png", "api", "verified")
        ]

        with Catalog.open(pg_url, create=False) as catalog:  # a third writer: the CLI, say
            later = sign_file(shared, catalog, "一只橘猫在屋顶上", seed=102, name="pg-2.png")
        for client in (one, two):
            found = client.get("/v1/records", params={"q": "橘猫"}).json()["results"]
            assert [r["record_id"] for r in found] == [later.record_id, first_id]
            assert client.get(f"/v1/records/{later.record_id}/image").status_code == 200
            history = client.get("/v1/history", params={"last": 1}).json()
            assert history[0]["record_id"] == later.record_id
