"""The chain of edits behind a record: each record names its parent, the catalog holds them."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provenance.catalog.store import Catalog

__all__ = ["LineageStep", "lineage"]

MAX_DEPTH = 1000


@dataclass(frozen=True)
class LineageStep:
    record_id: str
    found: bool
    task: str | None = None
    prompt: str | None = None
    created_at: str | None = None
    file_path: str | None = None
    input_digest: str | None = None
    parent_record_id: str | None = None
    pixel_digest: str | None = None
    note: str | None = None  # why the chain cannot be trusted here, if it cannot

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "found": self.found,
            "task": self.task,
            "prompt": self.prompt,
            "created_at": self.created_at,
            "file": self.file_path,
            "input_digest": self.input_digest,
            "parent_record_id": self.parent_record_id,
            "pixel_digest": self.pixel_digest,
            "note": self.note,
        }


def _step(record: dict[str, Any], file_path: str | None) -> LineageStep:
    task = record.get("task") or {}
    digest = task.get("input_digest") or {}
    content = record.get("content") or {}
    pixels = content.get("pixel_digest") or {}
    return LineageStep(
        record_id=str(record["record_id"]),
        found=True,
        task=task.get("type"),
        prompt=(record.get("generation") or {}).get("prompt"),
        created_at=record.get("created_at"),
        file_path=file_path,
        input_digest=digest.get("value") if isinstance(digest, dict) else None,
        parent_record_id=task.get("parent_record_id"),
        pixel_digest=pixels.get("value") if isinstance(pixels, dict) else None,
    )


def lineage(
    catalog: Catalog | None, record_id: str, first: dict[str, Any] | None = None
) -> list[LineageStep]:
    """The record and its ancestors, newest first. ``first`` is the starting record when it
    comes from a file rather than the catalog.

    Each link is checked: a parent's pixel digest must equal its child's recorded input digest
    (otherwise the step's ``note`` says so and the walk stops: the ids name an unrelated image). A
    parent missing from the catalog ends the chain with a step whose ``found`` is false; a cycle
    ends it with a note.
    """
    steps: list[LineageStep] = []
    seen: set[str] = set()
    current: str | None = record_id
    record = first
    child: LineageStep | None = None
    while current is not None and len(steps) < MAX_DEPTH:
        if current in seen:
            steps.append(LineageStep(record_id=current, found=True, note="cycle: already shown"))
            break
        seen.add(current)
        file_path = None
        if record is None or str(record.get("record_id")) != current:
            row = catalog.get(current) if catalog is not None else None
            if row is None:
                steps.append(LineageStep(record_id=current, found=False))
                break
            record = json.loads(row.record_bytes)
            file_path = row.file_path
        elif catalog is not None:
            row = catalog.get(current)
            file_path = row.file_path if row is not None else None
        step = _step(record, file_path)
        if child is not None and child.input_digest != step.pixel_digest:
            steps.append(
                replace(
                    step,
                    note="not this edit's input: its pixels differ from the input digest the "
                    "edit recorded",
                )
            )
            break
        steps.append(step)
        child = step
        current, record = step.parent_record_id, None
    return steps
