"""Our own files: the signed envelope chunk (``AIGCProvenance``) and the human-readable keys
(``Software``, ``Prompt``, ``NegativePrompt``, ``CFGScale``, ``Steps``, ``Seed``,
``Resolution``) written next to it.

This only *reads* the record: the envelope's signature is checked by :mod:`provenance.verify`,
so ``extra["record_signature"]`` is ``"not checked here"``. A file whose envelope is gone but
whose readable keys name our software is still recognised, from those keys.

JPEG and WebP exports carry the envelope in their XMP packet (``aigcprov:Envelope``), or name the
sidecar that holds it (``aigcprov:FullRecord``, given as ``extra["full_record"]``); their readable
copy is the EXIF ``Software`` (and the A1111 ``UserComment``, read by the infotext interpreter).
"""

from __future__ import annotations

import json
from typing import Any

from provenance._version import SOFTWARE_NAME
from provenance.errors import ContainerError, EnvelopeError
from provenance.extract.interpret._base import Context, Found, as_size, as_text
from provenance.record import ENVELOPE_KEYWORD
from provenance.signing.envelope import Envelope
from provenance.xmp import XmpFields, parse_xmp

__all__ = ["read"]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _from_record(location: str, record: dict[str, Any]) -> Found:
    gen, model, software = (_obj(record.get(k)) for k in ("generation", "model", "software"))
    generation = {
        "prompt": gen.get("prompt"),
        "negative_prompt": gen.get("negative_prompt"),
        "seed": gen.get("seed"),
        "steps": gen.get("num_inference_steps"),
        "cfg_scale": gen.get("cfg_scale"),
        "sampler": gen.get("sampler"),
        "scheduler": model.get("scheduler"),
        "width": gen.get("width"),
        "height": gen.get("height"),
        "model": model.get("name"),
        "model_hash": model.get("weights_digest"),
    }
    extra: dict[str, Any] = {"record_signature": "not checked here"}
    for key in ("record_id", "schema", "version", "task", "created_at", "labels"):
        if key in record:
            extra[key] = record[key]
    for key in ("revision", "variant", "pipeline", "dtype"):
        if model.get(key) is not None:
            extra[f"model_{key}"] = model[key]
    return Found(SOFTWARE_NAME, as_text(software.get("version")), generation, extra, location)


def _from_readable(ctx: Context, software: str) -> Found:
    generation: dict[str, Any] = {
        "prompt": ctx.text("Prompt"),
        "negative_prompt": ctx.text("NegativePrompt"),
        "seed": ctx.text("Seed"),
        "steps": ctx.text("Steps"),
        "cfg_scale": ctx.text("CFGScale"),
    }
    size = as_size(ctx.text("Resolution"))
    if size is not None:
        generation["width"], generation["height"] = size
    version = software[len(SOFTWARE_NAME) :].strip() or None
    extra = {"record_signature": "no signed record"}
    location = ctx.item("Prompt") or ctx.item("Software")
    return Found(SOFTWARE_NAME, version, generation, extra, location[0] if location else "")


_OUR_XMP_NS = "urn:aigc-provenance:ns:xmp"


def _export_xmp(ctx: Context) -> list[tuple[str, XmpFields]]:
    """Our fields from the JPEG/WebP XMP packets that use our namespace."""
    found = []
    for location, text in ctx.all_texts():
        if location in ("jpeg:xmp", "webp:xmp") and _OUR_XMP_NS in text:
            try:
                found.append((location, parse_xmp(text)))
            except ContainerError:
                continue
    return found


def read(ctx: Context) -> Found | None:
    problems: list[str] = []
    exported = _export_xmp(ctx) if ctx.meta.format in ("jpeg", "webp") else []
    envelopes = ctx.items(ENVELOPE_KEYWORD)
    envelopes += [(loc, f.envelope) for loc, f in exported if f.envelope is not None]
    for location, text in envelopes:
        try:
            envelope = Envelope.from_json(text)
            record = json.loads(envelope.payload)
        except (EnvelopeError, ValueError, RecursionError) as exc:
            problems.append(f"our signed envelope at {location} could not be read ({exc})")
            continue
        if isinstance(record, dict):
            found = _from_record(location, record)
            found.problems.extend(problems)
            return found
        problems.append(f"our signed envelope at {location} does not hold a JSON object")
    software = (ctx.text("Software") or "").strip()
    if software.startswith(SOFTWARE_NAME) or problems or exported:
        found = _from_readable(ctx, software)
        found.problems.extend(problems)
        for _location, fields in exported:
            if fields.full_record is not None:
                found.extra["record_signature"] = "record in the sidecar (not checked here)"
                found.extra["full_record"] = fields.full_record
                found.extra["record_id"] = fields.record_id
        return found
    return None
