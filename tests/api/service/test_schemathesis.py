"""schemathesis against the app's own OpenAPI document: for requests generated from it, no
response is a server error and every response (status, content type, body) matches what the
document declares. Bounded: a couple of dozen examples per operation, well under a minute in
all.

``POST /v1/generate`` is left out: every valid request would run the model (its checks and
refusals are tested in test_generate.py). Each operation is its own test, on a fresh catalog;
the strategies come from ``APIOperation.as_strategy()`` with Hypothesis (schemathesis's lazy
pytest loader does not run on this pytest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.service.app import create_app
from api.service.settings import ServiceSettings
from tests.api.service.conftest import AUTH, Site, settings_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SKIPPED = {("POST", "/v1/generate")}


def _operations() -> list[tuple[str, str]]:
    unused = Path("/nonexistent/aigc-prov-schema-only")  # the document needs no data
    document = create_app(
        ServiceSettings(home=unused, catalog=f"sqlite:///{unused}/c.sqlite")
    ).openapi()
    return sorted(
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if (method.upper(), path) not in SKIPPED
    )


OPERATIONS = _operations()


def _run(site: Site, method: str, path: str, headers: dict[str, str], examples: int) -> None:
    app = create_app(settings_for(site))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_every_operation_is_covered() -> None:
    assert ("POST", "/v1/verify") in OPERATIONS
    assert ("GET", "/v1/audit") in OPERATIONS
    assert len(OPERATIONS) == 15


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_matches_its_openapi_document(site: Site, method: str, path: str) -> None:
    _run(site, method, path, AUTH, examples=20)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_without_a_token_the_api_still_matches_its_document(
    site: Site, method: str, path: str
) -> None:
    _run(site, method, path, {}, examples=5)
