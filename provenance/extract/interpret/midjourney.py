"""Midjourney (web downloads; third-party notes, no real file examined): PNG ``Description`` =
the prompt, its ``--flags`` and ``Job ID: <uuid>``; ``Author`` = the user name.

The prompt is the text before the first flag. ``--no`` is the negative prompt, ``--seed`` the
seed, ``--v``/``--version``/``--niji`` the model version; every flag is kept in
``extra["flags"]``.
"""

from __future__ import annotations

import re
from typing import Any

from provenance.extract.interpret._base import Context, Found

__all__ = ["parse_description", "read"]

_JOB = re.compile(r"\s*Job ID:\s*(\S+)\s*\Z")
_FLAG_START = re.compile(r"(?:^|\s)--[A-Za-z]")
_FLAG = re.compile(r"--([A-Za-z][\w-]*)((?:\s+(?!--)\S+)*)")


def parse_description(text: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Generation fields and extras from a Midjourney Description, or None if it is not one."""
    job = _JOB.search(text)
    if job is None:
        return None
    body = text[: job.start()]
    start = _FLAG_START.search(body)
    prompt = body[: start.start()] if start else body
    flags: dict[str, Any] = {}
    if start:
        for match in _FLAG.finditer(body, start.start()):
            flags[match.group(1).lower()] = match.group(2).strip() or True
    generation: dict[str, Any] = {"prompt": prompt.strip()}
    if isinstance(flags.get("no"), str):
        generation["negative_prompt"] = flags["no"]
    if "seed" in flags:
        generation["seed"] = flags["seed"]
    extra: dict[str, Any] = {"job_id": job.group(1), "flags": flags}
    return generation, extra


def read(ctx: Context) -> Found | None:
    for location, text in ctx.items("Description"):
        if (ctx.text("Software") or "").startswith("NovelAI"):
            return None
        parsed = parse_description(text)
        if parsed is None:
            continue
        generation, extra = parsed
        flags = extra["flags"]
        version: str | None = None
        for name in ("v", "version"):
            if isinstance(flags.get(name), str):
                version = flags[name]
        if isinstance(flags.get("niji"), str):
            version = f"niji {flags['niji']}"
        author = ctx.text("Author")
        if author is not None:
            extra["author"] = author
        return Found("midjourney", version, generation, extra, location)
    return None
