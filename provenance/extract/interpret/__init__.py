"""Decide which tool wrote a file's metadata and what the generation parameters were.

:func:`interpret` turns what a container reader found (:class:`ContainerMetadata`) into one
normalized :class:`Extraction`. Every interpreter below is tried, in this order (unique keys
first, then JSON ``parameters``, then ComfyUI graphs, then infotext, then hidden payloads —
the order mature readers converge on):

1. ours (``AIGCProvenance`` envelope, or our readable keys)
2. InvokeAI (``invokeai_metadata``, ``sd-metadata``, ``Dream``)
3. Fooocus (``fooocus_scheme``, or EXIF ``MakerNote`` + ``Software`` = ``Fooocus …``)
4. TensorArt (``generation_data``)
5. Stability Matrix (``smproj``, ``parameters-json``)
6. NovelAI (``Software`` = ``NovelAI`` + ``Comment``, or its EXIF ``UserComment`` JSON)
7. Draw Things (XMP ``CreatorTool``)
8. Easy Diffusion (``use_stable_diffusion_model``)
9. SwarmUI (``sui_image_params``)
10. JSON ``parameters`` (Fooocus, RuinedFooocus, Hugging Face Spaces, unknown JSON)
11. ComfyUI (API ``prompt`` graph; ``workflow``; EXIF ``prompt:``/``workflow:``)
12. A1111 infotext (``parameters``, ``UserComment``): A1111, Forge, reForge, SD.Next, Civitai …
13. Midjourney (``Description`` with ``Job ID:``)
14. NovelAI stealth payload, then infotext stealth payload (``*:stealth``)

The first interpreter that names a tool gives the tool and the generation fields; the later
ones that also recognise something fill the fields it left empty, and every field on which they
disagree is listed in ``extra["conflicts"]`` (the raw values stay in ``raw``). Labels (IPTC,
TC260, C2PA) are read from every file. A file with only a C2PA manifest gets the tool name
``"c2pa"``; a file with nothing gets ``None``.

``extra`` holds what the tool recorded beyond the eleven generation keys, under the tool's own
names (e.g. ``"Clip skip"``, ``"loras"``), plus these keys of our own:

* ``source``: the location the fields were read from;
* ``filled_from``: field -> location, for fields taken from a later interpreter;
* ``conflicts``: field -> ``[{"source", "value"}]``, the other values found for a field;
* ``novelai_signature``: ``valid`` / ``invalid`` / ``absent`` / ``unchecked`` (NovelAI files),
  with ``novelai_signature_detail`` giving the status of each copy of the signed Comment.

Nothing here raises on odd input: an interpreter that fails adds a sentence to
``raw["problems"]`` and the others carry on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provenance.extract.interpret import (
    a1111,
    comfyui,
    drawthings,
    easydiffusion,
    fooocus,
    invokeai,
    json_parameters,
    midjourney,
    novelai,
    ours,
    stability_matrix,
    swarmui,
    tensorart,
)
from provenance.extract.interpret._base import Context, Found, as_text, normalize
from provenance.extract.interpret.labels import read_labels
from provenance.extract.model import GENERATION_KEYS, ContainerMetadata, Extraction, Label

__all__ = ["INTERPRETERS", "interpret"]

Interpreter = Callable[[Context], Found | None]

#: Every interpreter, in the order they are consulted.
INTERPRETERS: tuple[tuple[str, Interpreter], ...] = (
    ("ours", ours.read),
    ("invokeai", invokeai.read),
    ("fooocus", fooocus.read),
    ("tensorart", tensorart.read),
    ("stability-matrix", stability_matrix.read),
    ("novelai", novelai.read_text),
    ("drawthings", drawthings.read),
    ("easydiffusion", easydiffusion.read),
    ("swarmui", swarmui.read),
    ("json-parameters", json_parameters.read),
    ("comfyui", comfyui.read),
    ("a1111", a1111.read),
    ("midjourney", midjourney.read),
    ("novelai-stealth", novelai.read_stealth),
    ("a1111-stealth", a1111.read_stealth),
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return bool(a == b)


def interpret(meta: ContainerMetadata, data: bytes | memoryview | None = None) -> Extraction:
    """The normalized view of one file's metadata. Never raises.

    ``data`` (the file's bytes) is only needed to check NovelAI's signature, which covers the
    pixels; without it ``extra["novelai_signature"]`` is ``"unchecked"``.
    """
    ctx = Context(meta, data)
    problems: list[str] = []
    found: list[tuple[str, Found]] = []
    for name, reader in INTERPRETERS:
        try:
            result = reader(ctx)
        except Exception as exc:  # a bug in one interpreter must not hide the others
            problems.append(f"{name} interpreter failed: {type(exc).__name__}: {exc}")
            continue
        if result is not None:
            found.append((name, result))
            problems.extend(result.problems)

    labels: list[Label] = []
    try:
        labels, label_problems = read_labels(ctx)
        problems.extend(label_problems)
    except Exception as exc:
        problems.append(f"label reader failed: {type(exc).__name__}: {exc}")

    try:
        tool, generation, extra = _combine(meta, [f for _, f in found])
    except Exception as exc:
        problems.append(f"combining the interpreters' results failed: {type(exc).__name__}: {exc}")
        tool = {"name": None, "version": None}
        generation, extra = dict.fromkeys(GENERATION_KEYS), {}

    if tool["name"] == "novelai" or any(name.startswith("novelai") for name, _ in found):
        try:
            status, detail = novelai.signature_status(ctx)
            extra["novelai_signature"] = status
            if detail:
                extra["novelai_signature_detail"] = detail
        except Exception as exc:
            problems.append(f"NovelAI signature check failed: {type(exc).__name__}: {exc}")

    raw = meta.raw()
    if problems:
        raw["problems"] = [*raw.get("problems", []), *problems]
    return Extraction(tool=tool, generation=generation, raw=raw, labels=labels, extra=extra)


def _combine(
    meta: ContainerMetadata, found: list[Found]
) -> tuple[dict[str, str | None], dict[str, Any], dict[str, Any]]:
    """Tool, generation and extra from the first interpreter that names a tool, and the rest."""
    primary = next((f for f in found if f.tool is not None), found[0] if found else None)
    if primary is None:
        tool = "c2pa" if meta.c2pa else None
        return {"name": tool, "version": None}, dict.fromkeys(GENERATION_KEYS), {}
    generation = normalize(primary.generation, GENERATION_KEYS)
    extra = dict(primary.extra)
    _merge_others(primary, [f for f in found if f is not primary], generation, extra)
    return {"name": primary.tool, "version": as_text(primary.version)}, generation, extra


def _merge_others(
    primary: Found, others: list[Found], generation: dict[str, Any], extra: dict[str, Any]
) -> None:
    """Fill empty fields from the other interpreters and list where they disagree."""
    conflicts: dict[str, list[dict[str, Any]]] = {}
    filled: dict[str, str] = {}
    for other in others:
        values = normalize(other.generation, GENERATION_KEYS)
        for key, value in values.items():
            if value is None:
                continue
            if generation[key] is None:
                generation[key] = value
                filled[key] = other.source
            elif not _same(generation[key], value):
                conflicts.setdefault(key, []).append({"source": other.source, "value": value})
    if filled:
        extra["filled_from"] = filled
    if conflicts:
        extra["conflicts"] = conflicts
    if primary.source:
        extra.setdefault("source", primary.source)
