"""NovelAI: text chunks (``Software`` = ``NovelAI``, ``Description``, ``Source``, ``Comment``
JSON), WebP EXIF (``UserComment`` = JSON holding those keys), and the alpha-channel stealth
payload (gzip JSON of the same keys), with NovelAI's Ed25519 signature.

The ``Comment`` JSON carries ``prompt``, ``uc`` (negative), ``steps``, ``scale`` (guidance),
``seed``, ``sampler``, ``noise_schedule``, ``width``/``height`` (newer images) and
``signed_hash``. ``Source`` is the model family and a short hash (``NovelAI Diffusion V4.5
C02D4F98``): the model is the family, the hash goes to ``model_hash``.

Signature (NovelAI's ``nai_sig.py``): ``signed_hash`` is a base64 Ed25519 signature over the RGB
pixel bytes (rows top to bottom, alpha dropped) followed by ``json.dumps`` of the Comment object
without ``signed_hash`` (Python's default separators, ASCII escapes, key order kept), checked with
NovelAI's published key. :func:`signature_status` says ``valid``, ``invalid`` (any copy fails),
``absent`` (no ``signed_hash``) or ``unchecked`` (no pixels to check against).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import warnings
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image

from provenance.extract.interpret._base import Context, Found, as_text, leftovers, load_json

__all__ = ["NOVELAI_VERIFY_KEY", "comments", "read_stealth", "read_text", "signature_status"]

#: NovelAI's published verify key (base64 Ed25519 public key, from ``nai_sig.py``).
NOVELAI_VERIFY_KEY = "Y2JcQAOhLwzwSDUJPNgL04nS0Tbqm7cSRc4xk0vRMic="
MAX_PIXELS = 40_000_000

_COMMENT_MARKERS = ("uc", "scale", "v4_prompt", "noise_schedule", "signed_hash", "request_type")
_COMMENT_FIELDS = {
    "prompt": "prompt",
    "negative_prompt": "uc",
    "seed": "seed",
    "steps": "steps",
    "cfg_scale": "scale",
    "sampler": "sampler",
    "scheduler": "noise_schedule",
    "width": "width",
    "height": "height",
}
_SOURCE_HASH = re.compile(r"^(.*\S)\s+([0-9A-Fa-f]{8})$")


def _comment_object(text: Any) -> dict[str, Any] | None:
    obj = load_json(text) if isinstance(text, str) else None
    if isinstance(obj, dict) and isinstance(obj.get("Comment"), str):  # a wrapped copy
        obj = load_json(obj["Comment"])
    if isinstance(obj, dict) and any(k in obj for k in _COMMENT_MARKERS):
        return obj
    return None


def _payload(location: str, fields: dict[str, Any]) -> Found | None:
    """A Found from the NovelAI keys (Title, Description, Software, Source, Comment ...)."""
    comment = _comment_object(fields.get("Comment"))
    if comment is None:
        return None
    generation: dict[str, Any] = {}
    used: set[str] = {"signed_hash"}
    for target, name in _COMMENT_FIELDS.items():
        if name in comment:
            generation[target] = comment[name]
            used.add(name)
    if generation.get("prompt") is None:
        generation["prompt"] = _caption(comment.get("v4_prompt")) or as_text(
            fields.get("Description")
        )
    if generation.get("negative_prompt") is None:
        generation["negative_prompt"] = _caption(comment.get("v4_negative_prompt"))
    source = as_text(fields.get("Source"))
    if source:
        match = _SOURCE_HASH.match(source.strip())
        generation["model"] = match.group(1) if match else source.strip()
        generation["model_hash"] = match.group(2) if match else None
    extra = leftovers(comment, used)
    for key in ("Title", "Source", "Generation time", "Software"):
        if isinstance(fields.get(key), str):
            extra[key] = fields[key]
    return Found("novelai", None, generation, extra, location)


def _caption(value: Any) -> str | None:
    if isinstance(value, dict):
        caption = value.get("caption")
        if isinstance(caption, dict):
            return as_text(caption.get("base_caption"))
    return None


def _exif_fields(ctx: Context) -> tuple[str, dict[str, Any]] | None:
    """WebP EXIF: UserComment JSON {"Comment", "Description", ...} (NovelAI writes ASCII)."""
    for location, text in ctx.items("UserComment"):
        obj = ctx.json(text)
        if isinstance(obj, dict) and _comment_object(obj.get("Comment")) is not None:
            return location, obj
    return None


def read_text(ctx: Context) -> Found | None:
    """NovelAI's text chunks, or its WebP EXIF copy."""
    software = (ctx.text("Software") or "").strip()
    if software == "NovelAI" or software.startswith("NovelAI"):
        item = ctx.item("Comment")
        if item is not None:
            keys = ("Title", "Description", "Software", "Source", "Generation time", "Comment")
            fields = {k: ctx.text(k) for k in keys if ctx.text(k) is not None}
            found = _payload(item[0], fields)
            if found is not None:
                return found
    exif = _exif_fields(ctx)
    if exif is not None:
        return _payload(*exif)
    return None


def read_stealth(ctx: Context) -> Found | None:
    """The stealth payload: gzip JSON of the text chunks (minus Title)."""
    for location, text in ctx.items("stealth"):
        obj = ctx.json(text)
        if isinstance(obj, dict):
            found = _payload(location, obj)
            if found is not None:
                return found
    return None


def comments(ctx: Context) -> list[tuple[str, str]]:
    """Every NovelAI Comment string in the file, with where it was found."""
    found: list[tuple[str, str]] = []
    software = (ctx.text("Software") or "").strip()
    for location, text in ctx.items("Comment"):
        if software.startswith("NovelAI") and _comment_object(text) is not None:
            found.append((location, text))
    for key in ("UserComment", "stealth"):
        for location, text in ctx.items(key):
            obj = ctx.json(text)
            comment = obj.get("Comment") if isinstance(obj, dict) else None
            if isinstance(comment, str) and _comment_object(comment) is not None:
                found.append((location, comment))
    return found


def _rgb_bytes(data: bytes | memoryview) -> bytes | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                return image.convert("RGB").tobytes()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None


def verify_comment(comment_text: str, rgb: bytes, key: str = NOVELAI_VERIFY_KEY) -> bool | None:
    """True/False for a Comment with ``signed_hash``; None when it has none."""
    try:
        comment = json.loads(comment_text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(comment, dict) or not isinstance(comment.get("signed_hash"), str):
        return None
    try:
        signature = base64.b64decode(comment.pop("signed_hash"), validate=True)
    except (binascii.Error, ValueError):
        return False
    message = rgb + json.dumps(comment).encode("utf-8")
    public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key))
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def signature_status(ctx: Context) -> tuple[str, dict[str, str]]:
    """Overall status and the status of each Comment copy (location -> status)."""
    copies = comments(ctx)
    signed = [(loc, text) for loc, text in copies if '"signed_hash"' in text]
    if not signed:
        return "absent", {}
    rgb = _rgb_bytes(ctx.data) if ctx.data is not None else None
    if rgb is None:
        return "unchecked", {loc: "unchecked" for loc, _ in signed}
    detail: dict[str, str] = {}
    for location, text in signed:
        result = verify_comment(text, rgb)
        detail[location] = "absent" if result is None else ("valid" if result else "invalid")
    statuses = set(detail.values())
    if "invalid" in statuses:
        return "invalid", detail
    if "valid" in statuses:
        return "valid", detail
    return "absent", detail
