"""The record schemas (v1; v2, the current one): offline, a WebUI superset, every problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from provenance import SchemaError, SignedImage, UnknownSchemaVersion, schema
from provenance.record import draft_from_file

MakeSigned = Callable[..., SignedImage]

# A sidecar as the Z-Image-Turbo WebUI writes it (the older shape, "version 0").
WEBUI_SIDECAR = {
    "version": "1.0",
    "model": {"name": "Tongyi-MAI/Z-Image-Turbo", "revision": "main"},
    "generation": {
        "prompt": "一只橘猫坐在窗台上，高清照片",
        "negative_prompt": "",
        "width": 1024,
        "height": 1024,
        "num_inference_steps": 8,
        "cfg_scale": 0.0,
        "seed": 1234567,
        "num_images": 1,
    },
    "system": {"torch_version": "2.9.1+cu128", "cuda_available": True, "gpu": "NVIDIA RTX 4090"},
    "performance": {"generation_time": 1.84, "memory_usage_mb": 15872.5},
    "created_at": "2026-03-14T10:22:31.512345",
}


def test_schema_is_loaded_from_the_package_with_a_urn_id() -> None:
    for version in ("1", "2"):
        doc = schema.load_schema(version)
        assert doc["$id"] == f"urn:aigc-provenance:schema:record:{version}"
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema.CURRENT_VERSION == "2"


def test_signed_record_is_valid_and_keeps_the_webui_paths(make_signed: MakeSigned) -> None:
    record = make_signed().record
    schema.validate(record)
    for path in (
        "version",
        "model.name",
        "model.revision",
        "generation.prompt",
        "generation.negative_prompt",
        "generation.width",
        "generation.height",
        "generation.num_inference_steps",
        "generation.cfg_scale",
        "generation.seed",
        "generation.num_images",
        "system.torch_version",
        "system.cuda_available",
        "system.gpu",
        "performance.generation_time",
        "performance.memory_usage_mb",
        "created_at",
    ):
        node = record
        for part in path.split("."):
            assert part in node, path
            node = node[part]


def test_every_problem_is_reported_with_its_json_path(make_signed: MakeSigned) -> None:
    record = make_signed().record
    record["generation"]["seed"] = -5
    record["content"]["phash"] = "xyz"
    record["unexpected"] = 1
    del record["created_at"]
    with pytest.raises(SchemaError) as info:
        schema.validate(record)
    paths = {path for path, _ in info.value.problems}
    assert {"$.generation.seed", "$.content.phash", "$"} <= paths
    messages = " ".join(m for _, m in info.value.problems)
    assert "'created_at' is a required property" in messages
    assert "Additional properties are not allowed ('unexpected'" in messages
    assert len(info.value.problems) >= 4


def test_webui_sidecar_upgrades_by_registered_step() -> None:
    assert schema.detect_version(WEBUI_SIDECAR) == "0"
    upgraded = schema.upgrade(WEBUI_SIDECAR)  # 0 -> 1 -> 2
    assert upgraded["schema"] == schema.SCHEMA_IDS["2"]
    assert upgraded["version"] == "1.0"  # the WebUI layout version: unchanged
    assert upgraded["generation"]["prompt"] == WEBUI_SIDECAR["generation"]["prompt"]
    assert upgraded["generation"]["seed"] == 1234567
    assert upgraded["system"]["gpu"] == "NVIDIA RTX 4090"
    assert upgraded["created_at"] == "2026-03-14T10:22:31.512345Z"
    assert upgraded["extensions"]["org.aigc-provenance.upgraded-from"]["shape"] == (
        "zimage-webui-sidecar"
    )


def test_webui_sidecar_becomes_a_valid_signed_record(tmp_path: Path, key, policy) -> None:  # type: ignore[no-untyped-def]
    from provenance import finalize, verify
    from tests.conftest import sample_image

    sidecar = tmp_path / "webui.json"
    sidecar.write_text(json.dumps(WEBUI_SIDECAR, ensure_ascii=False), "utf-8")
    result = finalize(sample_image(), draft_from_file(sidecar), key, tmp_path / "out.png")
    report = verify(result.path, policy=policy)
    assert report.status.value == "verified"
    assert report.record is not None
    assert report.record["performance"] == WEBUI_SIDECAR["performance"]
    assert report.record["model"]["name"] == "Tongyi-MAI/Z-Image-Turbo"


def test_current_version_passes_through_unchanged(make_signed: MakeSigned) -> None:
    record = make_signed().record
    assert schema.upgrade(record) == record


def test_unknown_versions_are_refused() -> None:
    with pytest.raises(UnknownSchemaVersion, match="unknown record schema version 'urn:x:9'"):
        schema.upgrade({"schema": "urn:x:9"})
    with pytest.raises(UnknownSchemaVersion, match="not a Z-Image-Turbo WebUI sidecar"):
        schema.detect_version({"hello": 1})
    with pytest.raises(UnknownSchemaVersion):
        schema.version_from_payload_type("application/json")


def test_payload_type_names_the_schema_version() -> None:
    assert schema.payload_type() == "application/vnd.aigc-provenance.record+json; version=2"
    assert schema.version_from_payload_type(schema.payload_type()) == "2"
    assert schema.version_from_payload_type(schema.payload_type("1")) == "1"


def _mutations(record: dict) -> list[dict]:  # type: ignore[type-arg]
    """Records that are invalid in one way each, to check both validators refuse them."""
    cases = []
    for path, value in [
        (("generation", "seed"), 9007199254740992),
        (("generation", "seed"), -1),
        (("generation", "num_inference_steps"), 0),
        (("generation", "cfg_scale"), "7"),
        (("content", "data_digest", "alg"), "sha256"),
        (("content", "pixel_digest", "value"), "ab"),
        (("created_at",), "2026-03-14 10:22:31"),
        (("record_id",), "not-a-uuid"),
        (("labels", "aigc", "Label"), "4"),
        (("extensions",), {"NoNamespace": 1}),
        (("task", "type"), "upscale"),
    ]:
        doc = json.loads(json.dumps(record))
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        cases.append(doc)
    extra = json.loads(json.dumps(record))
    extra["model"]["surprise"] = True
    cases.append(extra)
    return cases


def test_fast_and_reference_validators_agree(make_signed: MakeSigned) -> None:
    from jsonschema import Draft202012Validator

    record = make_signed().record
    reference = Draft202012Validator(schema.load_schema(schema.CURRENT_VERSION))
    assert reference.is_valid(record)
    assert schema.iter_problems(record) == []
    for case in _mutations(record):
        assert not reference.is_valid(case), case
        problems = schema.iter_problems(case)
        assert problems, case
        assert problems != [("$", "the record does not match the schema")], case


# --- version 2: import records may bind the file's bytes alone ---------------------------------


def _file_bound(record: dict, task: str = "import") -> dict:  # type: ignore[type-arg]
    doc = json.loads(json.dumps(record))
    doc["task"]["type"] = task
    doc["content"]["pixel_digest"] = None
    doc["content"]["phash"] = None
    return doc


def test_v2_lets_only_import_records_leave_the_pixels_unbound(make_signed: MakeSigned) -> None:
    record = make_signed().record
    schema.validate(_file_bound(record))
    with pytest.raises(SchemaError, match=r"\$\.content\.pixel_digest"):
        schema.validate(_file_bound(record, task="text-to-image"))
    half = _file_bound(record)
    half["content"]["phash"] = record["content"]["phash"]  # pixels unbound but a look given
    with pytest.raises(SchemaError, match=r"\$\.content"):
        schema.validate(half)
    with pytest.raises(SchemaError, match=r"\$\.content\.pixel_digest"):
        schema.validate(_file_bound(record), version="1")  # version 1 never allowed it


def test_v1_records_still_validate_verify_and_upgrade(
    tmp_path: Path,
    key,
    policy,  # type: ignore[no-untyped-def]
) -> None:
    """A file signed before version 2 (payload type version=1, schema record:1) still verifies."""
    import io

    import rfc8785
    from PIL import Image

    from provenance import verify
    from provenance.embed import insert_text_chunks
    from provenance.finalize import ENVELOPE_KEYWORD, sign_image
    from provenance.record import Attestation, draft_from_attestation, readable_fields
    from provenance.signing.signer import sign_payload
    from provenance.xmp import make_xmp
    from tests.conftest import sample_image

    current = sign_image(sample_image(), draft_from_attestation(Attestation(prompt="一只猫")), key)
    v1 = {**current.record, "schema": schema.SCHEMA_IDS["1"]}
    schema.validate(v1, version="1")
    record_bytes = rfc8785.dumps(v1)
    envelope = sign_payload(record_bytes, schema.payload_type("1"), key)
    with Image.open(io.BytesIO(current.png)) as image:  # the same pixels, encoded the same way
        image.load()
        plain = io.BytesIO()
        image.save(plain, format="PNG", compress_level=6)
    texts = [*readable_fields(v1).items(), (ENVELOPE_KEYWORD, envelope.to_json())]
    path = tmp_path / "v1.png"
    path.write_bytes(insert_text_chunks(plain.getvalue(), texts, xmp=make_xmp(v1)))
    report = verify(path, policy=policy)
    assert report.status.value == "verified", [f.message for f in report.findings]
    assert report.record is not None
    assert report.record["schema"] == schema.SCHEMA_IDS["2"]  # upgraded for display
    assert report.record_bytes == record_bytes  # the signed bytes themselves are untouched
