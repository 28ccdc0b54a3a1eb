"""The edit record: what was done to a photo, as a JSON sidecar and an XMP packet.

Every output says what was done to it: tool and version, preset and its hash, each step's requested and
applied strength, every measure, the input's sha256, and the IPTC digital source type
"algorithmicallyEnhanced". The XMP packet is embedded in the output where the format allows and also
written as a sidecar (`NAME.EXT.xmp`, darktable's convention) next to the JSON (`NAME.EXT.retouch.json`).
Review decisions (GUI, client gallery) are stored in the JSON record.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from . import __version__, files
from .staging import write_bytes_atomic

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicallyEnhanced"
NAMESPACE = "http://ns.retouch-photo.org/record/1.0/"
DECISIONS = ("approved", "rejected", "needs changes")
COMMENT_MAX = 5000          # characters in a review comment: a few paragraphs, never a pasted file
RECORD_MAX_BYTES = 64 << 20  # an edit record is a few kB; anything far bigger is not one


def edit_words(name: str) -> str:
    """The plain words an edit declares for clients (its name when it is not installed here)."""
    from . import edits
    edit = edits.load_all().get(name)
    return edit.words if edit is not None and edit.words else name


def edit_versions(preset_summary: dict) -> dict[str, int]:
    """The params version of each edit of a preset's summary (so old records can be migrated)."""
    from . import edits
    known = edits.load_all()
    return {step["edit"]: known[step["edit"]].version for step in preset_summary.get("steps", [])
            if step.get("edit") in known}


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


RECORD_SUFFIX = ".retouch.json"


def sidecar_paths(output: str | Path) -> tuple[Path, Path]:
    """(JSON record path, XMP sidecar path) for an output file."""
    output = Path(output)
    return output.with_name(output.name + RECORD_SUFFIX), output.with_name(output.name + ".xmp")


def output_of(record_path: str | Path) -> Path:
    """The output file a JSON record (NAME.EXT.retouch.json) belongs to."""
    record_path = Path(record_path)
    return record_path.with_name(record_path.name[:-len(RECORD_SUFFIX)])


def find_outputs(folder: str | Path, *, recursive: bool = False) -> list[Path]:
    """Every output in `folder` (and its subfolders with `recursive`, hidden ones left out: they hold
    outputs replaced by a batch) that has a JSON record beside it, sorted by path."""
    folder = Path(folder)
    records = folder.rglob("*" + RECORD_SUFFIX) if recursive else folder.glob("*" + RECORD_SUFFIX)
    shown = (path for path in records
             if not any(part.startswith(".") for part in path.relative_to(folder).parent.parts))
    return sorted((output_of(path) for path in shown), key=lambda path: path.relative_to(folder).as_posix())


def original_of(entry: dict, output: str | Path) -> Path | None:
    """The original a record names (None when it names none); a relative path is tried from the current
    folder, then from the output's folder."""
    named = (entry.get("input") or {}).get("path") if isinstance(entry, dict) else None
    if not isinstance(named, str) or not named:
        return None
    path = Path(named)
    if path.is_absolute() or path.exists():
        return path
    return Path(output).parent / path


def settings_of(entry: dict | None) -> dict[str, dict]:
    """The steps an output was made with: {edit: {"strength": s, "params": {...}}} in pipeline order,
    with params saved by an older version of an edit migrated to today's names (the record keeps each
    edit's params version). JSON turned the params' tuples into lists; they are turned back so the
    Params validate the same. Edits not installed here keep their params as saved."""
    if not entry:
        return {}
    from . import edits
    settings = entry.get("preset", {}).get("settings", {})
    versions = entry.get("preset", {}).get("versions", {})
    known = edits.load_all()
    found = {}
    for step in settings.get("steps", []):
        if "edit" not in step:
            continue
        params = {key: _tuples(value) for key, value in step.get("params", {}).items()}
        edit = known.get(step["edit"])
        saved = versions.get(step["edit"], 1)
        if edit is not None and saved != edit.version:
            params = edit.migrate(saved, params)
        found[step["edit"]] = {"strength": step.get("strength"), "params": params}
    return found


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def build(result_dict: dict, *, input_path: str | Path, input_sha256: str, output_path: str | Path,
          preset_summary: dict) -> dict:
    """The record of one retouched output, from `Result.as_dict()` and the file facts."""
    return {
        "tool": "retouch", "version": __version__, "created": now(),
        "digital_source_type": DIGITAL_SOURCE_TYPE,
        "input": {"path": str(input_path), "sha256": input_sha256},
        "output": {"path": Path(output_path).name},
        "preset": {"name": result_dict["preset"], "digest": result_dict["preset_digest"],
                   "settings": preset_summary, "versions": edit_versions(preset_summary)},
        "faces": result_dict["faces"],
        "steps": result_dict["steps"],
        "metrics": result_dict["metrics"],
        "summary": result_dict["summary"],
        "budget": result_dict["budget"],
        "warnings": result_dict["warnings"],
        "description": describe(result_dict["steps"], result_dict["summary"], result_dict["budget"]),
        "review": {"decision": None, "comment": "", "source": None, "time": None},
    }


PERMANENT_WORDS = {"mole": "moles", "birthmark": "birthmarks", "freckle": "freckles"}


def mark_counts(step: dict) -> dict[str, int]:
    """How many of a step's recorded marks (details["marks"]) were healed, kept and lightened."""
    actions = [entry.get("action", "") for entry in step.get("details", {}).get("marks", [])]
    return {"healed": sum(a.startswith("healed") for a in actions), "kept": sum(a.startswith("kept") for a in actions),
            "lightened": actions.count("lightened")}


def mark_words(step: dict) -> str:
    """What a step did to the face's marks, for clients: "4 spots healed, 2 moles kept" (the person's
    own marks named by kind; creases, pale marks and unclear marks are left unsaid)."""
    entries = step.get("details", {}).get("marks", [])
    healed = sum(entry.get("action", "").startswith("healed") for entry in entries)
    words = [f"{healed} spot{'s' if healed != 1 else ''} healed"] if healed else []
    for action in ("kept", "lightened"):
        counted: dict[str, int] = {}
        for entry in entries:
            kind = PERMANENT_WORDS.get(entry.get("kind"))
            if kind and entry.get("action", "").startswith(action):
                counted[kind] = counted.get(kind, 0) + 1
        words += [f"{count} {kind if count != 1 else kind[:-1]} {action}" for kind, count in counted.items()]
    return ", ".join(words)


def describe(steps: list[dict], summary: dict, budget: dict) -> str:
    """One plain-language sentence for clients: what was done (with what became of the face's marks)
    and the identity check."""
    done = [edit_words(s["edit"]) + (f" ({mark_words(s)})" if mark_words(s) else "")
            for s in steps if s["applied"] > 0]
    words = ", ".join(done) if done else "no changes needed"
    identity = summary.get("identity")
    if identity is None:
        check = "identity check: no face measured"
    elif identity >= budget.get("identity", budget.get("identity_min", 0.9)):   # schema-1 records too
        check = "identity check: same person"
    else:
        check = "identity check: FAILED, please review"
    return f"{words[0].upper()}{words[1:]}; {check}."


def _text(value) -> str:
    return "" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))


def _element(name: str) -> str:
    """XMP property name for a measure: skin_de_mean -> SkinDeMean."""
    return name.title().replace("_", "")


def xmp_packet(record: dict) -> bytes:
    """The record as an XMP packet (RDF/XML) any XMP reader parses."""
    steps = "".join(
        f'<rdf:li rdf:parseType="Resource"><retouch:Edit>{escape(s["edit"])}</retouch:Edit>'
        f'<retouch:Requested>{s["requested"]}</retouch:Requested>'
        f'<retouch:Applied>{s["applied"]}</retouch:Applied>'
        f'<retouch:Status>{escape(s["status"])}</retouch:Status>'
        f'<retouch:BoundBy>{escape(", ".join(s["bound_by"]))}</retouch:BoundBy>'
        + ("".join(f"<retouch:Marks{action.title()}>{count}</retouch:Marks{action.title()}>"
                   for action, count in mark_counts(s).items()) if "marks" in s.get("details", {}) else "")
        + '</rdf:li>'
        for s in record["steps"])
    measures = "".join(f"<retouch:{_element(name)}>{escape(_text(value))}</retouch:{_element(name)}>"
                       for name, value in record["summary"].items())
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about=""\n'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f' xmlns:retouch="{NAMESPACE}"\n'
        f' Iptc4xmpExt:DigitalSourceType={quoteattr(record["digital_source_type"])}\n'
        f' xmp:CreatorTool={quoteattr("retouch " + record["version"])}\n'
        f' xmp:ModifyDate={quoteattr(record["created"])}\n'
        f' retouch:Preset={quoteattr(record["preset"]["name"])}\n'
        f' retouch:PresetDigest={quoteattr(record["preset"]["digest"])}\n'
        f' retouch:InputSHA256={quoteattr(record["input"]["sha256"])}>\n'
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(record["description"])}'
        '</rdf:li></rdf:Alt></dc:description>\n'
        f'<retouch:Steps><rdf:Seq>{steps}</rdf:Seq></retouch:Steps>\n'
        f'<retouch:Measures rdf:parseType="Resource">{measures}</retouch:Measures>\n'
        '</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n'
        '<?xpacket end="w"?>')
    return packet.encode("utf-8")


def write(record: dict, output: str | Path) -> tuple[Path, Path]:
    """Write the JSON record and the XMP sidecar next to `output`, atomically."""
    json_path, xmp_path = sidecar_paths(output)
    write_bytes_atomic(xmp_path, xmp_packet(record))
    write_bytes_atomic(json_path, encode(record))
    return json_path, xmp_path


def read(output: str | Path) -> dict:
    """The JSON record of an output file: FileNotFoundError naming it if there is none, ValueError naming it
    if it is not a regular file holding a JSON object."""
    json_path, _ = sidecar_paths(output)
    try:
        record = files.load_json(json_path, limit=RECORD_MAX_BYTES, what="edit record")
    except FileNotFoundError:
        raise FileNotFoundError(f"{json_path}: no edit record next to {Path(output).name}") from None
    if not isinstance(record, dict):
        raise files.FileReadError(f"{json_path}: edit record is not a JSON object")
    return record


def reviewed(record: dict, output: str | Path, decision: str | None, comment: str = "", *, source: str,
             time: str | None = None) -> dict:
    """`record` with a review decision (approved / rejected / needs changes) and comment in it; ValueError
    naming `output` for an unknown decision or a comment longer than COMMENT_MAX characters."""
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"{output}: decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if len(comment) > COMMENT_MAX:
        raise ValueError(f"{output}: the comment is {len(comment):,} characters, more than the {COMMENT_MAX:,} "
                         "a comment may be")
    return record | {"review": {"decision": decision, "comment": comment, "source": source,
                                "time": time or now()}}


def encode(record: dict) -> bytes:
    """The JSON record's bytes, as written next to the output."""
    return json.dumps(record, indent=2).encode("utf-8")


def set_review(output: str | Path, decision: str | None, comment: str = "", *, source: str,
               time: str | None = None) -> dict:
    """Store a review decision (approved / rejected / needs changes) and comment in the record."""
    record = reviewed(read(output), output, decision, comment, source=source, time=time)
    json_path, _ = sidecar_paths(output)
    write_bytes_atomic(json_path, encode(record))
    return record
