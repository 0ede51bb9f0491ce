"""Versioned JSON Schemas for provenance records, validation, and upgrades of older shapes.

Schemas ship inside the package (``v1.json``, ...) and resolve through an in-memory
``referencing`` registry: nothing is ever fetched. ``validate()`` raises
:class:`~provenance.errors.SchemaError` listing *every* problem with its JSON path;
``iter_problems()`` returns them without raising.

Older shapes are brought to the current version by registered steps (``@upgrade_step``).
Version ``"0"`` is the sidecar the Z-Image-Turbo WebUI writes (``version``, ``model``,
``generation``, ``system``, ``performance``, ``created_at``): it carries the generation facts but
no record id, binding or labels, so upgrading it gives a *draft* that
:func:`provenance.record.build_record` completes by binding it to an image.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from provenance.errors import SchemaError, UnknownSchemaVersion

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = [
    "CURRENT_VERSION",
    "PAYLOAD_TYPE_PREFIX",
    "SCHEMA_IDS",
    "detect_version",
    "iter_problems",
    "load_schema",
    "payload_type",
    "prepare",
    "upgrade",
    "upgrade_step",
    "validate",
    "version_from_payload_type",
]

CURRENT_VERSION = "2"
SCHEMA_IDS: dict[str, str] = {
    "1": "urn:aigc-provenance:schema:record:1",
    "2": "urn:aigc-provenance:schema:record:2",
}
PAYLOAD_TYPE_PREFIX = "application/vnd.aigc-provenance.record+json; version="
#: At most this many problems are reported for one record.
MAX_PROBLEMS = 50


def payload_type(version: str = CURRENT_VERSION) -> str:
    """The envelope payload type for records of ``version`` (signed as part of the PAE)."""
    return f"{PAYLOAD_TYPE_PREFIX}{version}"


def version_from_payload_type(ptype: str) -> str:
    """The schema version named by an envelope payload type; raises for foreign types."""
    if not ptype.startswith(PAYLOAD_TYPE_PREFIX):
        raise UnknownSchemaVersion(ptype)
    version = ptype[len(PAYLOAD_TYPE_PREFIX) :]
    if version not in SCHEMA_IDS:
        raise UnknownSchemaVersion(version)
    return version


@cache
def load_schema(version: str = CURRENT_VERSION) -> dict[str, Any]:
    """The JSON Schema document of ``version``, read from the installed package."""
    if version not in SCHEMA_IDS:
        raise UnknownSchemaVersion(version)
    text = resources.files(__package__).joinpath(f"v{version}.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(version: str) -> Draft202012Validator:
    # The reference implementation only words the problems of invalid records: imported then.
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schema = load_schema(version)
    registry: Registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


@cache
def _fast_validator(version: str) -> jsonschema_rs.Draft202012Validator:
    """The same schema compiled by jsonschema-rs: answers "valid?" in microseconds."""
    return jsonschema_rs.Draft202012Validator(load_schema(version))


def prepare(version: str = CURRENT_VERSION) -> None:
    """Compile the validator of ``version`` now (a few milliseconds): before forking worker
    processes, so that each inherits it instead of compiling its own."""
    _fast_validator(version)


def iter_problems(
    record: Mapping[str, Any], version: str = CURRENT_VERSION
) -> list[tuple[str, str]]:
    """Every schema problem of ``record`` as ``(json_path, message)``, sorted by path.

    jsonschema-rs decides (fast, on every verification); the reference implementation
    ``jsonschema`` words the problems of an invalid record.
    """
    if _fast_validator(version).is_valid(record):
        return []
    # A hostile record can hold millions of errors: word the first few only.
    errors = itertools.islice(_validator(version).iter_errors(record), MAX_PROBLEMS)
    problems = sorted((err.json_path, _short_message(err.message)) for err in errors)
    # Should the two ever disagree, the record is refused all the same.
    return problems or [("$", "the record does not match the schema")]


def validate(record: Mapping[str, Any], version: str = CURRENT_VERSION) -> None:
    """Raise :class:`SchemaError` with every problem if ``record`` is not valid."""
    problems = iter_problems(record, version)
    if problems:
        raise SchemaError(problems)


def _short_message(message: str) -> str:
    # jsonschema quotes whole (possibly huge) instances; keep messages one readable line.
    return message if len(message) <= 300 else message[:297] + "..."


# --- upgrades --------------------------------------------------------------------------------

_Step = Callable[[dict[str, Any]], dict[str, Any]]
_STEPS: dict[str, tuple[str, _Step]] = {}


def upgrade_step(source: str, target: str) -> Callable[[_Step], _Step]:
    """Register ``func`` as the step that turns a ``source``-version document into ``target``."""

    def register(func: _Step) -> _Step:
        if source in _STEPS:
            raise ValueError(f"an upgrade step from version {source} is already registered")
        _STEPS[source] = (target, func)
        return func

    return register


def detect_version(doc: Mapping[str, Any]) -> str:
    """The schema version of a record-like document (``"0"`` for a WebUI sidecar)."""
    schema_id = doc.get("schema")
    if isinstance(schema_id, str):
        for version, sid in SCHEMA_IDS.items():
            if sid == schema_id:
                return version
        raise UnknownSchemaVersion(schema_id)
    if isinstance(doc.get("generation"), Mapping) and isinstance(doc.get("model"), Mapping):
        return "0"
    raise UnknownSchemaVersion("none (no 'schema' key and not a Z-Image-Turbo WebUI sidecar)")


def upgrade(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Apply registered steps until ``doc`` has the current version's shape.

    A current-version document is returned as a copy, unchanged. Steps never validate; callers
    validate the result (a version-0 sidecar becomes a draft that still needs its binding).
    """
    version = detect_version(doc)
    current: dict[str, Any] = json.loads(json.dumps(doc))
    seen = set()
    while version != CURRENT_VERSION:
        if version not in _STEPS or version in seen:
            raise UnknownSchemaVersion(version)
        seen.add(version)
        version, step = _STEPS[version]
        current = step(current)
    return current


def _num_or_none(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


@upgrade_step("0", "1")
def _webui_sidecar_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Z-Image-Turbo WebUI sidecar -> v1 draft: same paths kept, new sections added empty."""
    gen = doc.get("generation") or {}
    model = doc.get("model") or {}
    system = doc.get("system") or {}
    perf = doc.get("performance") or {}
    seed = _num_or_none(gen.get("seed"), int)
    created = doc.get("created_at")
    return {
        "schema": SCHEMA_IDS["1"],
        "version": "1.0",
        "created_at": _to_utc_rfc3339(created) if isinstance(created, str) else None,
        "task": {
            "type": "attest",
            "parent_record_id": None,
            "input_digest": None,
            "mask_digest": None,
        },
        "model": {
            "name": str(model.get("name") or "unknown"),
            "revision": _str_or_none(model.get("revision")),
        },
        "generation": {
            "prompt": str(gen.get("prompt") or ""),
            "negative_prompt": str(gen.get("negative_prompt") or ""),
            "width": _num_or_none(gen.get("width"), int),
            "height": _num_or_none(gen.get("height"), int),
            "num_inference_steps": _num_or_none(gen.get("num_inference_steps"), int),
            "cfg_scale": _num_or_none(gen.get("cfg_scale"), float),
            "seed": seed if seed is not None and seed >= 0 else None,
            "num_images": _num_or_none(gen.get("num_images"), int) or 1,
        },
        "system": {
            "torch_version": _str_or_none(system.get("torch_version")),
            "cuda_available": system.get("cuda_available")
            if isinstance(system.get("cuda_available"), bool)
            else None,
            "gpu": _str_or_none(system.get("gpu")),
        },
        "performance": {
            "generation_time": _num_or_none(perf.get("generation_time"), float),
            "memory_usage_mb": _num_or_none(perf.get("memory_usage_mb"), float),
        },
        "extensions": {
            "org.aigc-provenance.upgraded-from": {
                "shape": "zimage-webui-sidecar",
                "version": doc.get("version"),
            }
        },
    }


@upgrade_step("1", "2")
def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: the same record (version 2 only lets import records leave pixels unbound)."""
    return {**doc, "schema": SCHEMA_IDS["2"]}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _to_utc_rfc3339(text: str) -> str | None:
    """RFC 3339 UTC form of an ISO timestamp; naive times are taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
