"""Building v1 records, and the human-readable text every record is shown as.

A *draft* is a partial v1 record with what the producer knows (model, generation, system,
performance, task, extensions, warnings). :func:`build_record` completes it with the record id,
time, software, content binding and AI-content labels, and validates the result.

:func:`readable_fields` is the single definition of the text chunks written next to the signed
record (the keys the Z-Image-Turbo WebUI writes, plus the A1111 ``parameters``); the verifier
compares what a file shows against it.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provenance import schema
from provenance._version import SOFTWARE_NAME, __version__
from provenance.errors import RecordInputError, SchemaError
from provenance.infotext import format_number, make_infotext
from provenance.signing.keyring import utc_now

__all__ = [
    "DIGITAL_SOURCE_TRAINED",
    "ENVELOPE_KEYWORD",
    "READABLE_KEYWORDS",
    "XMP_KEYWORD",
    "Attestation",
    "ContentBinding",
    "build_record",
    "check_prompt_text",
    "draft_from_attestation",
    "draft_from_file",
    "new_record_id",
    "normalize_prompt",
    "readable_fields",
]

DIGITAL_SOURCE_TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ENVELOPE_KEYWORD = "AIGCProvenance"
XMP_KEYWORD = "XML:com.adobe.xmp"
READABLE_KEYWORDS = (
    "Software",
    "DateTime",
    "Prompt",
    "NegativePrompt",
    "CFGScale",
    "Steps",
    "Seed",
    "Resolution",
    "parameters",
)


def new_record_id() -> str:
    """A UUIDv7 (time-ordered) as a string: sorts by creation time, unique without a server."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


@dataclass(frozen=True)
class ContentBinding:
    """What binds a record to one encoded image (see :mod:`provenance.binding`).

    ``pixel_digest`` and ``phash`` are None only for an import record that binds the original
    file by its bytes alone (``data_digest`` over the whole file; schema version 2).
    """

    format: str
    width: int
    height: int
    mode: str
    pixel_digest: str | None
    data_digest: str
    render_digest: str
    phash: str | None

    def to_record(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "pixel_digest": None
            if self.pixel_digest is None
            else {"alg": "sha256", "value": self.pixel_digest},
            "data_digest": {"alg": "blake3", "value": self.data_digest},
            "render_digest": {"alg": "sha256", "value": self.render_digest},
            "phash": self.phash,
        }


@dataclass(frozen=True)
class Attestation:
    """Facts a person states about an image made elsewhere (``aigc-prov sign``)."""

    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    model: str = "unknown"
    sampler: str | None = None
    width: int | None = None
    height: int | None = None


#: Characters PNG text readers and XML 1.0 (hence XMP) cannot carry: C0 controls other than tab
#: and line feed (carriage returns become line feeds in XML), U+FFFE/U+FFFF, lone surrogates.
_UNCARRIABLE = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
MAX_PROMPT_CHARS = 100_000


def check_prompt_text(text: str, what: str = "prompt") -> None:
    """Refuse a prompt the record's text chunks and XMP could not carry faithfully."""
    if len(text) > MAX_PROMPT_CHARS:
        raise RecordInputError(
            f"the {what} is {len(text)} characters long; at most {MAX_PROMPT_CHARS} are kept"
        )
    found = _UNCARRIABLE.search(text)
    if found is None:
        return
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        raise RecordInputError(
            f"the {what} is not valid text: it holds an undecodable byte (not UTF-8?)"
        )
    if code == 0x0D:
        raise RecordInputError(f"the {what} holds a carriage return; use line feeds (\\n)")
    raise RecordInputError(
        f"the {what} holds the control character U+{code:04X}, which PNG text and XMP cannot "
        "carry; remove it"
    )


def normalize_prompt(text: str, what: str = "prompt") -> str:
    """``text`` with Windows or old-Mac line ends made line feeds, then checked."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    check_prompt_text(text, what)
    return text


def draft_from_attestation(att: Attestation) -> dict[str, Any]:
    if not att.prompt.strip():
        raise RecordInputError("the prompt is empty; say what the image was made from")
    att = replace(
        att,
        prompt=normalize_prompt(att.prompt),
        negative_prompt=normalize_prompt(att.negative_prompt, "negative prompt"),
    )
    return {
        "task": {
            "type": "attest",
            "parent_record_id": None,
            "input_digest": None,
            "mask_digest": None,
        },
        "model": {"name": att.model, "revision": None},
        "generation": {
            "prompt": att.prompt,
            "negative_prompt": att.negative_prompt,
            "width": att.width,
            "height": att.height,
            "num_inference_steps": att.steps,
            "cfg_scale": att.cfg_scale,
            "seed": att.seed,
            "num_images": 1,
            "sampler": att.sampler,
        },
    }


def draft_from_file(path: Path) -> dict[str, Any]:
    """A draft from a record file: one of our records (or sidecars), or a WebUI sidecar."""
    try:
        doc = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise RecordInputError(f"cannot read record file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise RecordInputError(f"record file {path} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RecordInputError(f"record file {path} does not hold a JSON object")
    doc.pop("envelope", None)  # one of our sidecars: the record plus its envelope
    try:
        upgraded = schema.upgrade(doc)
    except SchemaError as exc:
        raise RecordInputError(f"record file {path}: {exc}") from None
    keep = ("created_at", "model", "generation", "system", "performance", "extensions", "warnings")
    draft = {k: upgraded[k] for k in keep if upgraded.get(k) is not None}
    draft["task"] = {
        "type": "attest",
        "parent_record_id": None,
        "input_digest": None,
        "mask_digest": None,
    }
    return draft


def build_record(
    draft: Mapping[str, Any],
    content: ContentBinding,
    *,
    producer: str,
    record_id: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """Complete ``draft`` into a record of the current schema version and validate it (raises
    :class:`SchemaError`)."""
    rid = record_id or new_record_id()
    gen = dict(draft.get("generation") or {})
    gen.setdefault("negative_prompt", "")
    gen.setdefault("num_images", 1)
    if gen.get("width") is None or gen.get("height") is None:  # unknown: the image's own size
        gen["width"], gen["height"] = content.width, content.height
    for key in ("num_inference_steps", "cfg_scale", "seed"):
        gen.setdefault(key, None)
    record: dict[str, Any] = {
        "schema": schema.SCHEMA_IDS[schema.CURRENT_VERSION],
        "version": "1.0",  # the WebUI sidecar's layout version, which ours extends
        "record_id": rid,
        "created_at": created_at or draft.get("created_at") or utc_now(),
        "software": {"name": SOFTWARE_NAME, "version": __version__},
        "task": dict(
            draft.get("task")
            or {
                "type": "attest",
                "parent_record_id": None,
                "input_digest": None,
                "mask_digest": None,
            }
        ),
        "model": dict(draft.get("model") or {"name": "unknown", "revision": None}),
        "generation": gen,
        "system": dict(
            draft.get("system") or {"torch_version": None, "cuda_available": None, "gpu": None}
        ),
        "performance": dict(
            draft.get("performance") or {"generation_time": None, "memory_usage_mb": None}
        ),
        "content": content.to_record(),
        "labels": {
            "digital_source_type": DIGITAL_SOURCE_TRAINED,
            "aigc": {  # GB 45438-2025 implicit label fields, in the standard's order
                "Label": "1",
                "ContentProducer": producer,
                "ProduceID": rid,
                "ReservedCode1": "",
                "ContentPropagator": "",
                "PropagateID": "",
                "ReservedCode2": "",
            },
        },
        "extensions": dict(draft.get("extensions") or {}),
    }
    if draft.get("warnings"):
        record["warnings"] = list(draft["warnings"])
    check_prompt_text(gen["prompt"])
    check_prompt_text(gen["negative_prompt"], "negative prompt")
    schema.validate(record)
    return record


def readable_fields(record: Mapping[str, Any]) -> dict[str, str]:
    """The human-readable text chunks for ``record``, keyword -> text, in writing order.

    Unknown values (e.g. no seed for an attested image) are left out rather than invented.
    """
    gen = record["generation"]
    width = gen.get("width") or record["content"]["width"]
    height = gen.get("height") or record["content"]["height"]
    fields = {
        "Software": f"{record['software']['name']} {record['software']['version']}",
        "DateTime": record["created_at"],
        "Prompt": gen["prompt"],
        "NegativePrompt": gen["negative_prompt"],
        "CFGScale": None if gen["cfg_scale"] is None else format_number(gen["cfg_scale"]),
        "Steps": None if gen["num_inference_steps"] is None else str(gen["num_inference_steps"]),
        "Seed": None if gen["seed"] is None else str(gen["seed"]),
        "Resolution": f"{width}x{height}",
        "parameters": make_infotext(record),
    }
    return {k: v for k, v in fields.items() if v is not None}
