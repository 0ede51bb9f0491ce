"""AUTOMATIC1111 "infotext" and the tools that write it: A1111, Forge, reForge, SD.Next,
Stability Matrix, Civitai, Fooocus (a1111 scheme) and ComfyUI's A1111-style save nodes.

:func:`parse_infotext` follows the webui's ``parse_generation_parameters``:

1. strip the text and split it on ``\\n``; the last line is the parameter line only when the
   webui's key/value pattern finds at least three pairs in it;
2. every line before the first one starting (after spaces) with ``Negative prompt:`` is the
   prompt, that line without its label and all later lines are the negative prompt;
3. pairs are ``Key: value`` separated by ``,``; a value in double quotes is a JSON string.

Two differences, both lenient: prompts keep the exact text (the webui strips every line, which
loses trailing spaces inside a prompt), and values written as unquoted JSON (``Hashes: {...}``,
``Civitai resources: [...]``, which the webui's pattern splits into bogus pairs) are read as
JSON. When the last line is not a parameter line but an earlier line starting with ``Steps:`` is,
the lines after it are kept in ``extra["infotext_trailing"]`` instead of being taken as prompt.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from provenance.extract.interpret._base import Context, Found, as_size, load_json

__all__ = ["Infotext", "found_from_infotext", "parse_infotext", "read", "read_stealth", "tool_of"]

#: The webui's ``re_param``: a key (word char, then word chars, spaces, ``-``, ``/``), ``:``,
#: then a JSON string or anything up to the next comma.
RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_AFTER_JSON = re.compile(r"\s*(?:,|$)")
_NEGATIVE = "Negative prompt:"
_FORGE = re.compile(r"f\d")
_REFORGE = re.compile(r"-v\d")
_DECODER = json.JSONDecoder()

#: Generation keys and the parameter names that hold them (matched ignoring case).
_PARAM_KEYS = {
    "steps": ("Steps",),
    "sampler": ("Sampler",),
    "cfg_scale": ("CFG scale", "Guidance Scale", "CFG"),
    "seed": ("Seed",),
    "model": ("Model",),
    "model_hash": ("Model hash",),
    "scheduler": ("Schedule type", "Scheduler"),
}
_PARAM_KEYS_LOWER = {target: [n.lower() for n in names] for target, names in _PARAM_KEYS.items()}


@dataclass
class Infotext:
    prompt: str
    negative_prompt: str | None  # None when there is no "Negative prompt:" line
    params: dict[str, Any] = field(default_factory=dict)  # str values, or JSON for unquoted JSON
    has_params: bool = False
    trailing: list[str] = field(default_factory=list)


def param_pairs(line: str) -> list[tuple[str, Any]]:
    """The ``Key: value`` pairs of a parameter line, in order (see the module docstring)."""
    if "{" not in line and "[" not in line:  # no JSON value: the webui's own matches
        return [(key, _unquoted(value)) for key, value in RE_PARAM.findall(line)]
    return _pairs_by_search(line)


def _pairs_by_search(line: str) -> list[tuple[str, Any]]:
    """:func:`param_pairs` match by match, reading a value that starts with ``{`` or ``[`` as
    JSON when it is."""
    pairs: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(line):
        match = RE_PARAM.search(line, pos)
        if match is None:
            break
        key, value = match.group(1), match.group(2)
        if value[:1] in ("{", "["):
            parsed = _json_at(line, match.start(2))
            if parsed is not None:
                obj, end = parsed
                pairs.append((key, obj))
                pos = end
                continue
        pairs.append((key, _unquoted(value)))
        pos = max(match.end(), pos + 1)
    return pairs


def _unquoted(value: str) -> Any:
    """A value in double quotes read as the JSON string it is; anything else as written."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        with contextlib.suppress(ValueError):  # else the webui keeps the text as written
            return json.loads(value)
    return value


def _json_at(line: str, start: int) -> tuple[Any, int] | None:
    """A JSON value starting at ``start`` and followed by ``,`` or the end; (value, next pos)."""
    try:
        obj, end = _DECODER.raw_decode(line, start)
    except (ValueError, RecursionError):
        return None
    after = _AFTER_JSON.match(line, end)
    return (obj, after.end()) if after else None


def _param_line_pairs(line: str) -> list[tuple[str, Any]] | None:
    """The line's pairs when it is a parameter line (three pairs by the webui's pattern or by
    :func:`param_pairs`), else None."""
    pairs = param_pairs(line)
    if len(pairs) >= 3 or len(RE_PARAM.findall(line)) >= 3:
        return pairs
    return None


def parse_infotext(text: str) -> Infotext:
    """Split an infotext into prompt, negative prompt and parameters (never raises)."""
    lines = text.strip().split("\n")
    pairs = _param_line_pairs(lines[-1])
    trailing: list[str] = []
    if pairs is not None:
        lines.pop()
    else:
        for index in range(len(lines) - 2, -1, -1):
            line = lines[index]
            if line.lstrip().startswith("Steps:"):
                pairs = _param_line_pairs(line)
                if pairs is not None:
                    trailing, lines = lines[index + 1 :], lines[:index]
                    break
    prompt_lines: list[str] = []
    negative_lines: list[str] | None = None
    for line in lines:
        if line.strip().startswith(_NEGATIVE):
            rest = line[line.index(_NEGATIVE) + len(_NEGATIVE) :]
            rest = rest[1:] if rest.startswith(" ") else rest
            negative_lines = [*(negative_lines or []), rest]
        elif negative_lines is not None:
            negative_lines.append(line)
        else:
            prompt_lines.append(line)
    return Infotext(
        prompt="\n".join(prompt_lines),
        negative_prompt=None if negative_lines is None else "\n".join(negative_lines),
        params=dict(pairs or ()),  # a repeated key: the last one wins, as in the webui
        has_params=pairs is not None,
        trailing=trailing,
    )


def tool_of(params: dict[str, Any]) -> tuple[str, str | None]:
    """Which A1111-family tool wrote these parameters, and its version."""
    version = params.get("Version")
    version = version.strip() if isinstance(version, str) else None
    app = params.get("App")
    if isinstance(app, str) and "sd.next" in app.lower():
        return "sdnext", version
    if any(k.startswith("Civitai") for k in params):
        return "civitai", None
    if version:
        if version == "ComfyUI":
            return "comfyui", None
        if version.lower().startswith("fooocus"):
            return "fooocus", version
        if _FORGE.match(version):
            # reForge: "f1.0.0v2-v1.10.1RC-latest-…"; Forge: "f2.0.1v1.10.1-previous-…"
            return ("reforge" if _REFORGE.search(version) else "forge"), version
        if version.lower() in ("neo", "classic") or version.lower().startswith("neo"):
            return "forge", version
    return "a1111", version


def found_from_infotext(info: Infotext, source: str, tool: str | None = None) -> Found:
    """A :class:`Found` from parsed infotext; the tool is ``tool``, else ``Version:``/``App:``."""
    name, version = tool_of(info.params)
    generation: dict[str, Any] = {"prompt": info.prompt, "negative_prompt": info.negative_prompt}
    lowered = {k.lower(): k for k in info.params}
    used: set[str] = set()
    for target, names in _PARAM_KEYS_LOWER.items():
        for candidate in names:
            key = lowered.get(candidate)
            if key is not None:
                generation[target] = info.params[key]
                used.add(key)
                break
    size_key = lowered.get("size")
    if size_key is not None:
        size = as_size(info.params[size_key])
        if size is not None:
            generation["width"], generation["height"] = size
            used.add(size_key)
    for key in ("Version", "App"):
        if key in info.params and isinstance(info.params[key], str):
            used.add(key)
    extra = {k: v for k, v in info.params.items() if k not in used}
    if info.trailing:
        extra["infotext_trailing"] = info.trailing
    return Found(tool or name, version, generation, extra, source)


def _looks_like_infotext(info: Infotext) -> bool:
    return info.has_params or info.negative_prompt is not None


def read(ctx: Context) -> Found | None:
    """Infotext in ``parameters`` (PNG) or ``UserComment`` (JPEG/WebP EXIF)."""
    for key in ("parameters", "UserComment"):
        for location, text in ctx.items(key):
            if not text.strip() or load_json(text) is not None:
                continue
            info = parse_infotext(text)
            # A bare text in ``parameters`` is still a prompt (unless it is broken JSON); a
            # UserComment needs the infotext layout.
            bare_ok = key == "parameters" and text.lstrip()[:1] not in ("{", "[")
            if bare_ok or _looks_like_infotext(info):
                return found_from_infotext(info, location)
    return None


def read_stealth(ctx: Context) -> Found | None:
    """Infotext hidden in the alpha channel (Forge's ``stealth_pngcomp``)."""
    for location, text in ctx.items("stealth"):
        if load_json(text) is not None:
            continue
        info = parse_infotext(text)
        if _looks_like_infotext(info):
            return found_from_infotext(info, location)
    return None
