"""Views of catalog rows shared by the command line and the HTTP service.

* :func:`row_summary`: one search result as ``aigc-prov search --json`` prints it and
  ``GET /v1/records`` returns it (the service adds the image and thumbnail URLs).
* :func:`parse_moment`: the dates ``--since``/``--until`` and ``since``/``until`` accept.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

__all__ = ["MOMENT_HINT", "parse_moment", "row_summary"]

#: How to write a date, for error messages.
MOMENT_HINT = "use 2026-05-01 or 2026-05-01T12:00:00Z"


def row_summary(row: Any) -> dict[str, Any]:
    """One catalogued record's searchable facts (a row of ``records``)."""
    return {
        "record_id": row.record_id,
        "task": row.task,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "prompt": row.prompt,
        "model": row.model_name,
        "seed": row.seed,
        "steps": row.steps,
        "cfg_scale": row.cfg_scale,
        "width": row.width,
        "height": row.height,
        "rating": row.rating,
        "signer_key_id": row.signer_key_id,
        "file": row.file_path,
    }


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """A date or time (RFC 3339 / ISO 8601; UTC when no offset is given).

    With ``end_of_day``, a bare date means the end of that day, so ``until=2026-05-01``
    includes the whole day. Raises :class:`ValueError` for anything else.
    """
    from provenance.catalog.store import parse_time  # SQLAlchemy: only when a date is given

    moment = parse_time(text)
    if end_of_day and "T" not in text and " " not in text.strip():
        moment = datetime.combine(moment.date(), time.max, moment.tzinfo)
    return moment
