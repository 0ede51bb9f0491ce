"""AI-content labels: IPTC Digital Source Type and the GB 45438 (TC260) implicit label from XMP,
and the presence of a C2PA manifest.

* IPTC: ``Iptc4xmpExt:DigitalSourceType``, a URI such as
  ``http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia``.
* TC260: ``TC260:AIGC`` (namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/``) holding JSON
  (``Label``, ``ContentProducer``, ``ProduceID`` ...); a bare ``AIGC`` text chunk is read too.
  A value that is not a JSON object is reported as its text, with a problem.
* C2PA: one label per manifest location the container reader found (``png:caBX``,
  ``jpeg:app11``, ``webp:c2pa``); the manifest itself is not validated here.
"""

from __future__ import annotations

from provenance.extract.interpret._base import Context, load_json
from provenance.extract.interpret._xmp import packets
from provenance.extract.model import Label

__all__ = ["AI_SOURCE_TYPES", "read_labels"]

#: IPTC digital source types that say a model made (part of) the content.
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"}
)


def read_labels(ctx: Context) -> tuple[list[Label], list[str]]:
    """The labels found, and problems met on the way."""
    labels: list[Label] = []
    problems: list[str] = []
    for packet in packets(ctx):
        if packet.problem:
            problems.append(packet.problem)
            continue
        for uri in packet.values("Iptc4xmpExt", "DigitalSourceType"):
            if uri.strip():
                labels.append(Label("iptc", uri.strip(), packet.location))
        for text in packet.values("TC260", "AIGC"):
            labels.append(_tc260(text, packet.location, problems))
    for location, text in ctx.items("AIGC"):
        labels.append(_tc260(text, location, problems))
    for location in ctx.meta.c2pa:
        labels.append(Label("c2pa", location, location))
    return labels, problems


def _tc260(text: str, location: str, problems: list[str]) -> Label:
    value = load_json(text)
    if isinstance(value, dict):
        return Label("tc260", value, location)
    problems.append(f"TC260 AIGC label at {location} is not a JSON object")
    return Label("tc260", text, location)
