"""XMP packets: the AI-content labels in the form other tools read.

Written: ``Iptc4xmpExt:DigitalSourceType`` (IPTC URI), ``TC260:AIGC`` (GB 45438-2025 implicit label
JSON, namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/``), ``dc:description`` (the prompt),
``xmp:CreatorTool``, ``xmp:CreateDate`` and our record id. JPEG and WebP exports add the signed
envelope (``aigcprov:Envelope``), or, when the record is too large for one APP1 segment, where the
full record is (``aigcprov:FullRecord``, the sidecar's file name) and the SHA-256 of its bytes
(``aigcprov:RecordSHA256``) instead. Read with defusedxml: a packet with a
DOCTYPE or entities is refused, never expanded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from provenance.errors import ContainerError

__all__ = ["NS", "XmpFields", "expected_xmp_fields", "make_xmp", "parse_xmp"]

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "TC260": "http://www.tc260.org.cn/ns/AIGC/1.0/",
    "aigcprov": "urn:aigc-provenance:ns:xmp:1/",
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_XMP_CHARS = 1 << 20
#: TC260 AIGC label fields in the order GB 45438-2025 practice guides list them.
AIGC_FIELDS = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)


for _prefix, _uri in NS.items():
    register_namespace(_prefix, _uri)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


@dataclass(frozen=True)
class XmpFields:
    """The fields of an XMP packet this project writes and checks (None when absent)."""

    digital_source_type: str | None
    aigc: dict[str, Any] | None
    aigc_raw: str | None
    description: str | None
    creator_tool: str | None
    create_date: str | None
    record_id: str | None
    #: Everything in the packet beyond the single description this project writes: other
    #: descriptions, properties, duplicates, other languages (what a strict check refuses).
    unexpected: tuple[str, ...] = ()
    #: Export files only: the signed envelope (JSON), or the sidecar holding the full record and
    #: the SHA-256 (hex) of the record's bytes.
    envelope: str | None = None
    full_record: str | None = None
    record_sha256: str | None = None


def expected_xmp_fields(record: Mapping[str, Any]) -> XmpFields:
    label = record["labels"]["aigc"]
    aigc = {k: label[k] for k in AIGC_FIELDS if k in label}
    return XmpFields(
        digital_source_type=record["labels"]["digital_source_type"],
        aigc=aigc,
        aigc_raw=json.dumps(aigc, ensure_ascii=False, separators=(",", ":")),
        description=record["generation"]["prompt"],
        creator_tool=f"{record['software']['name']} {record['software']['version']}",
        create_date=record["created_at"],
        record_id=record["record_id"],
    )


def make_xmp(
    record: Mapping[str, Any],
    *,
    envelope: str | None = None,
    full_record: tuple[str, str] | None = None,
) -> str:
    """The XMP packet for a v1 record (UTF-8 text, with xpacket wrapper).

    ``envelope`` embeds the signed envelope (JPEG/WebP exports); ``full_record`` = (sidecar file
    name, SHA-256 of the record bytes) says instead where the record is, and then the prompt
    (``dc:description``) is left out too.
    """
    fields = expected_xmp_fields(record)
    meta = Element(_q("x", "xmpmeta"))
    rdf = SubElement(meta, _q("rdf", "RDF"))
    desc = SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    SubElement(desc, _q("Iptc4xmpExt", "DigitalSourceType")).text = fields.digital_source_type
    SubElement(desc, _q("TC260", "AIGC")).text = fields.aigc_raw
    SubElement(desc, _q("xmp", "CreatorTool")).text = fields.creator_tool
    SubElement(desc, _q("xmp", "CreateDate")).text = fields.create_date
    SubElement(desc, _q("aigcprov", "RecordID")).text = fields.record_id
    if full_record is not None:
        SubElement(desc, _q("aigcprov", "FullRecord")).text = full_record[0]
        SubElement(desc, _q("aigcprov", "RecordSHA256")).text = full_record[1]
    else:
        alt = SubElement(SubElement(desc, _q("dc", "description")), _q("rdf", "Alt"))
        SubElement(alt, _q("rdf", "li"), {_XML_LANG: "x-default"}).text = fields.description
    if envelope is not None:
        SubElement(desc, _q("aigcprov", "Envelope")).text = envelope
    body = tostring(meta, encoding="unicode")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + body
        + '\n<?xpacket end="w"?>'
    )


def parse_xmp(packet: str) -> XmpFields:
    """Read our fields from an XMP packet. Raises :class:`ContainerError` if it is unsafe or bad."""
    if len(packet) > MAX_XMP_CHARS:
        raise ContainerError(f"XMP packet is larger than {MAX_XMP_CHARS} characters")
    try:
        root = SafeET.fromstring(
            packet, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ContainerError(
            f"XMP packet refused: {type(exc).__name__} (DOCTYPE or entities)"
        ) from None
    except SafeET.ParseError as exc:
        raise ContainerError(f"XMP packet is not well-formed XML ({exc})") from None

    def find(prefix: str, name: str) -> str | None:
        # Properties may be elements or attributes of any rdf:Description.
        for description in root.iter(_q("rdf", "Description")):
            attr = description.get(_q(prefix, name))
            if attr is not None:
                return attr
            element = description.find(_q(prefix, name))
            if element is not None:
                if len(element):
                    li = element.find(f".//{_q('rdf', 'li')}")
                    return li.text or "" if li is not None else None
                return element.text or ""
        return None

    aigc_raw = find("TC260", "AIGC")
    aigc: dict[str, Any] | None = None
    if aigc_raw is not None:
        try:
            parsed = json.loads(aigc_raw)
            aigc = parsed if isinstance(parsed, dict) else None
        except ValueError:
            aigc = None
    return XmpFields(
        digital_source_type=find("Iptc4xmpExt", "DigitalSourceType"),
        aigc=aigc,
        aigc_raw=aigc_raw,
        description=find("dc", "description"),
        creator_tool=find("xmp", "CreatorTool"),
        create_date=find("xmp", "CreateDate"),
        record_id=find("aigcprov", "RecordID"),
        unexpected=tuple(_unexpected(root)),
        envelope=find("aigcprov", "Envelope"),
        full_record=find("aigcprov", "FullRecord"),
        record_sha256=find("aigcprov", "RecordSHA256"),
    )


_OURS = {
    _q("Iptc4xmpExt", "DigitalSourceType"),
    _q("TC260", "AIGC"),
    _q("xmp", "CreatorTool"),
    _q("xmp", "CreateDate"),
    _q("aigcprov", "RecordID"),
    _q("dc", "description"),
    _q("aigcprov", "Envelope"),
    _q("aigcprov", "FullRecord"),
    _q("aigcprov", "RecordSHA256"),
}


def _local(tag: str) -> str:
    for prefix, uri in NS.items():
        if tag.startswith(f"{{{uri}}}"):
            return f"{prefix}:{tag[len(uri) + 2 :]}"
    return tag


def _unexpected(root: Any) -> list[str]:
    """What a packet holds beyond the one description this project writes."""
    found: list[str] = []
    descriptions = list(root.iter(_q("rdf", "Description")))
    if len(descriptions) != 1:
        found.append(f"{len(descriptions)} rdf:Description elements")
    seen: set[str] = set()
    for description in descriptions:
        for attr in description.attrib:
            if attr != _q("rdf", "about"):
                found.append(f"attribute {_local(attr)}")
        for child in description:
            name = _local(child.tag)
            if child.tag not in _OURS:
                found.append(f"property {name}")
            elif child.tag in seen:
                found.append(f"second {name}")
            seen.add(child.tag)
            if child.tag == _q("dc", "description"):
                items = list(child.iter(_q("rdf", "li")))
                langs = [li.get(_XML_LANG) for li in items]
                if langs != ["x-default"]:
                    found.append(f"dc:description languages {langs}")
            elif len(child):
                found.append(f"structured {name}")
    return found
