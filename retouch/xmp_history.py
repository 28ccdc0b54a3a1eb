"""A host's XMP packet kept, with what retouch did added to it: for files retouched in place (Edit-In).

Lightroom Classic and Capture One hand an external editor a TIFF that carries their XMP: keywords, caption,
rating, develop settings, and the file's history (`xmpMM:History`). `merged(host, ours, ...)` keeps all of
that and adds what retouch did:

- one `xmpMM:History` event: stEvt:action "edited", softwareAgent "retouch VERSION", when, changed "/"
  (the pixels), parameters (the preset and what was done, in the record's plain words), and a new
  instanceID, which also becomes the file's `xmpMM:InstanceID`, as Adobe's applications do on every save;
- `xmp:ModifyDate` and `xmp:MetadataDate` set to the time of the edit;
- the record's own properties (retouch namespace: preset, steps, measures, input sha256) and the IPTC
  digital source type, in an rdf:Description of their own, replacing those of an earlier retouch.

The host's caption (`dc:description`) and creator tool are never replaced by ours. A host packet that does
not parse as XMP is not guessed at: the file then gets our packet with the history event alone, and the
caller is told (ValueError names the problem). `events(packet)` lists the history events retouch added,
so a file already retouched is recognised wherever it travels, with or without its JSON record.
"""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from . import __version__
from .record import NAMESPACE as RETOUCH

X = "adobe:ns:meta/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XMP = "http://ns.adobe.com/xap/1.0/"
XMP_MM = "http://ns.adobe.com/xap/1.0/mm/"
ST_EVT = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
DC = "http://purl.org/dc/elements/1.1/"
AGENT = "retouch"
PACKET_MAX_BYTES = 16 << 20       # XMP in a TIFF is kilobytes (a develop history: a few hundred kB at most)
_PREFIXES = {"x": X, "rdf": RDF, "xmp": XMP, "xmpMM": XMP_MM, "stEvt": ST_EVT, "Iptc4xmpExt": IPTC_EXT,
             "dc": DC, "retouch": RETOUCH}
_OURS_ONLY = {f"{{{XMP}}}CreatorTool", f"{{{DC}}}description"}     # the host's are kept; ours never added
_REPLACED = {f"{{{XMP}}}ModifyDate", f"{{{XMP}}}MetadataDate", f"{{{XMP_MM}}}InstanceID",
             f"{{{IPTC_EXT}}}DigitalSourceType"}
_HEADER = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_TRAILER = '\n<?xpacket end="w"?>'


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _parse(packet: bytes) -> ET.Element:
    """The packet's rdf:RDF element, its namespace prefixes registered so they are written back as they
    were; ValueError naming the problem when it is not XMP."""
    if len(packet) > PACKET_MAX_BYTES:
        raise ValueError(f"XMP packet of {len(packet):,} bytes is larger than {PACKET_MAX_BYTES:,}")
    parser = ET.XMLPullParser(events=("start-ns", "end"))
    try:
        parser.feed(packet.decode("utf-8", "replace").lstrip("\ufeff"))
        parser.close()
    except ET.ParseError as error:
        raise ValueError(f"XMP packet is not well-formed XML ({error})") from None
    root = None
    for event, value in parser.read_events():
        if event == "end":
            root = value                       # the last element to end is the root
        elif value[0] and not value[0].startswith("ns") and value[1] not in _PREFIXES.values():
            ET.register_namespace(*value)
    rdf = root if root.tag == _q(RDF, "RDF") else root.find(_q(RDF, "RDF"))
    if rdf is None:
        raise ValueError("XMP packet has no rdf:RDF element")
    return rdf


def _field(item: ET.Element, name: str) -> str | None:
    """A ResourceEvent field of a history item: an attribute or a child element of the rdf:li, or of an
    rdf:Description inside it (all three are valid RDF)."""
    for node in (item, item.find(_q(RDF, "Description"))):
        if node is None:
            continue
        if _q(ST_EVT, name) in node.attrib:
            return node.get(_q(ST_EVT, name))
        child = node.find(_q(ST_EVT, name))
        if child is not None:
            return child.text or ""
    return None


def _items(rdf: ET.Element) -> list[ET.Element]:
    """Every event of the packet's xmpMM:History, oldest first."""
    return [item for history in rdf.iter(_q(XMP_MM, "History")) for item in history.iter(_q(RDF, "li"))]


def history(packet: bytes | None) -> list[dict[str, str]]:
    """Every event of the packet's xmpMM:History (action, when, softwareAgent, parameters; "" where
    absent), oldest first; none for a packet without history or one that does not parse."""
    if not packet:
        return []
    try:
        rdf = _parse(packet)
    except ValueError:
        return []
    return [{name: _field(item, name) or "" for name in ("action", "when", "softwareAgent", "parameters")}
            for item in _items(rdf)]


def events(packet: bytes | None) -> list[dict[str, str]]:
    """The history events retouch added to `packet` (see history), oldest first."""
    return [event for event in history(packet)
            if event["softwareAgent"].split(" ")[0] == AGENT and event["action"] == "edited"]


def _history(rdf: ET.Element, description: ET.Element) -> ET.Element:
    """The rdf:Seq of the packet's xmpMM:History (made in `description` when there is none)."""
    for history in rdf.iter(_q(XMP_MM, "History")):
        seq = history.find(_q(RDF, "Seq"))
        if seq is not None:
            return seq
    return ET.SubElement(ET.SubElement(description, _q(XMP_MM, "History")), _q(RDF, "Seq"))


def _without(description: ET.Element, names: set[str], namespace: str) -> None:
    """Remove from an rdf:Description the properties named in `names` or in `namespace`, as attributes or
    as child elements."""
    for key in [key for key in description.attrib if key in names or key.startswith(f"{{{namespace}}}")]:
        del description.attrib[key]
    for child in [child for child in description if child.tag in names or child.tag.startswith(f"{{{namespace}}}")]:
        description.remove(child)


def merged(host: bytes | None, ours: bytes, *, when: str, parameters: str) -> bytes:
    """The packet to embed in a file retouched in place: the host's packet (or none) with our record's
    properties and one history event added (see the module doc). `ours` is record.xmp_packet's.
    ValueError when `host` is given but is not XMP (see the module doc: then call it with host=None)."""
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    rdf = _parse(host) if host else ET.Element(_q(RDF, "RDF"))
    ours_description = _parse(ours).find(_q(RDF, "Description"))
    for description in rdf.findall(_q(RDF, "Description")):
        _without(description, _REPLACED, RETOUCH)
        if len(description) == 0 and set(description.attrib) <= {_q(RDF, "about")}:
            rdf.remove(description)           # an earlier retouch's description, now empty
    for name in _OURS_ONLY:
        ours_description.attrib.pop(name, None)
        for child in ours_description.findall(name):
            ours_description.remove(child)
    instance = f"xmp.iid:{uuid.uuid4()}"
    ours_description.set(_q(XMP, "ModifyDate"), when)
    ours_description.set(_q(XMP, "MetadataDate"), when)
    ours_description.set(_q(XMP_MM, "InstanceID"), instance)
    rdf.append(ours_description)
    ET.SubElement(_history(rdf, ours_description), _q(RDF, "li"), {
        _q(ST_EVT, "action"): "edited", _q(ST_EVT, "instanceID"): instance, _q(ST_EVT, "when"): when,
        _q(ST_EVT, "softwareAgent"): f"{AGENT} {__version__}", _q(ST_EVT, "changed"): "/",
        _q(ST_EVT, "parameters"): parameters})
    meta = ET.Element(_q(X, "xmpmeta"))
    meta.append(rdf)
    return (_HEADER + ET.tostring(meta, encoding="unicode") + _TRAILER).encode("utf-8")
