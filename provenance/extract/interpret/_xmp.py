"""Reading properties out of XMP packets for the interpreters (lenient; never raises).

A property may be an attribute of an ``rdf:Description``, an element with text, an element with
``rdf:resource``, or an element holding an ``rdf:Alt``/``rdf:Seq``/``rdf:Bag`` whose first
``rdf:li`` is the value. Packets with a DOCTYPE or entities are refused (defusedxml).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from provenance.extract.interpret._base import Context

__all__ = ["NS", "XmpPacket", "packets"]

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "TC260": "http://www.tc260.org.cn/ns/AIGC/1.0/",
}
MAX_XMP_CHARS = 4 << 20


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


class XmpPacket:
    """One parsed packet; ``root`` is None when it could not be read (see ``problem``)."""

    def __init__(self, location: str, text: str) -> None:
        self.location = location
        self.problem: str | None = None
        self.root: Any = None
        if len(text) > MAX_XMP_CHARS:
            self.problem = f"XMP packet at {location} is larger than {MAX_XMP_CHARS} characters"
            return
        try:
            self.root = SafeET.fromstring(
                text.strip().encode("utf-8"),
                forbid_dtd=True,
                forbid_entities=True,
                forbid_external=True,
            )
        except DefusedXmlException as exc:
            self.problem = f"XMP packet at {location} refused ({type(exc).__name__})"
        except (SafeET.ParseError, ValueError) as exc:
            self.problem = f"XMP packet at {location} is not well-formed XML ({exc})"

    def values(self, prefix: str, name: str) -> list[str]:
        """Every value of a property, in document order."""
        if self.root is None:
            return []
        tag = _q(prefix, name)
        found: list[str] = []
        for description in self.root.iter(_q("rdf", "Description")):
            attr = description.get(tag)
            if attr is not None:
                found.append(attr)
        for element in self.root.iter(tag):
            resource = element.get(_q("rdf", "resource"))
            if resource is not None:
                found.append(resource)
            elif len(element):
                li = element.find(f".//{_q('rdf', 'li')}")
                if li is not None:
                    found.append(li.text or "")
            else:
                found.append(element.text or "")
        return found

    def value(self, prefix: str, name: str) -> str | None:
        values = self.values(prefix, name)
        return values[0] if values else None


def packets(ctx: Context) -> Iterator[XmpPacket]:
    """Every XMP packet of the file: ``meta.xmp`` and any ``XML:com.adobe.xmp``/``xmp`` value."""
    fmt = ctx.meta.format or "file"
    seen: set[str] = set()
    for index, text in enumerate(ctx.meta.xmp):
        seen.add(text)
        yield XmpPacket(f"{fmt}:xmp" + (f"#{index + 1}" if index else ""), text)
    for key in ("XML:com.adobe.xmp", "xmp"):
        for location, text in ctx.items(key):
            if text not in seen:
                seen.add(text)
                yield XmpPacket(location, text)
