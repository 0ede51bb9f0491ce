"""Service fixtures: a data folder with a key ring and a migrated SQLite catalog holding signed
PNGs written by the project's own :func:`provenance.finalize`, and TestClients of apps built on
it with :func:`api.service.app.create_app`.

* ``site``: the folder (``home``), the catalog URL, the written files and their record ids
  (``PROMPTS`` in order: a Chinese photo prompt, an English one, a Chinese oil painting).
* ``make_client(**settings)``: a TestClient of a new app on ``site`` with these settings changed
  (the defaults accept the bearer token :data:`TOKEN`); ``client`` is one with the defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.service.app import create_app
from api.service.deps import hash_token
from api.service.settings import ServiceSettings
from provenance import Attestation, KeyRing, KeyRingPolicy, SigningKey, draft_from_attestation
from provenance.catalog.store import Catalog
from provenance.finalize import finalize
from tests.conftest import sample_image

TOKEN = "service-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

#: (prompt, model, seed, steps, cfg, size) of the catalogued images, oldest first.
PROMPTS: list[tuple[str, str, int, int, float, tuple[int, int]]] = [
    ("一只橘猫坐在窗台上，高清照片", "Z-Image-Turbo", 42, 8, 0.0, (64, 48)),
    ("a red fox in a pine forest, photo", "Z-Image-Turbo", 7, 8, 0.0, (64, 48)),
    ("油画风格的山水，一只橘猫", "Z-Image", 1234, 30, 4.0, (600, 300)),
]


@dataclass
class Site:
    home: Path
    url: str
    key: SigningKey
    ring: KeyRing
    files: list[Path] = field(default_factory=list)
    record_ids: list[str] = field(default_factory=list)

    @property
    def policy(self) -> KeyRingPolicy:
        return KeyRingPolicy(KeyRing.open(self.home / "keys"))

    def catalog(self) -> Catalog:
        return Catalog.open(self.url, create=False)


@pytest.fixture(autouse=True)
def _no_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings come from each test, never from the environment the tests run in."""
    for name in list(os.environ):
        if name.startswith("AIGC_PROV_") and not name.startswith("AIGC_PROV_TEST_"):
            monkeypatch.delenv(name)


def sign_file(
    site: Site,
    catalog: Catalog,
    prompt: str,
    *,
    model: str = "Z-Image-Turbo",
    seed: int = 0,
    steps: int = 8,
    cfg: float = 0.0,
    size: tuple[int, int] = (64, 48),
    name: str | None = None,
    task: dict[str, Any] | None = None,
) -> Any:
    """Sign a generated test image with these facts, write it under ``home`` and catalogue it."""
    draft = draft_from_attestation(
        Attestation(prompt=prompt, seed=seed, steps=steps, cfg_scale=cfg, model=model)
    )
    if task is not None:
        draft["task"] = task
    path = site.home / "images" / (name or f"{len(site.files):02d}-s{seed}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    result = finalize(sample_image(seed, size), draft, site.key, path, catalog=catalog)
    site.files.append(result.path)
    site.record_ids.append(result.record_id)
    return result


@pytest.fixture
def site(tmp_path: Path) -> Site:
    home = tmp_path / "home"
    ring = KeyRing.open(home / "keys")
    ring.init(label="service tests")
    url = f"sqlite:///{home / 'catalog.sqlite'}"
    made = Site(home=home, url=url, key=ring.signing_key(), ring=ring)
    with Catalog.open(url) as catalog:
        for prompt, model, seed, steps, cfg, size in PROMPTS:
            sign_file(
                made, catalog, prompt, model=model, seed=seed, steps=steps, cfg=cfg, size=size
            )
    return made


def settings_for(site: Site, **changes: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "home": site.home,
        "catalog": site.url,
        "token_hashes": [hash_token(TOKEN)],
    }
    values.update(changes)
    return ServiceSettings(**values)


@pytest.fixture
def make_client(site: Site) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        raise_errors = changes.pop("raise_server_exceptions", True)
        client = TestClient(
            create_app(settings_for(site, **changes)), raise_server_exceptions=raise_errors
        )
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
