"""Content Credentials (C2PA): every output signed with the studio's identity, and any file's checked.

Signing. `prepare(identity, entry, source, target)` turns an edit record into what signs its output: a
C2PA manifest naming the original as the `parentOf` ingredient (its sha256 in the ingredient's
metadata; read as a stream where c2pa knows its format, so credentials the original already carries,
a camera's say, stay linked), a `c2pa.opened` action for it, one `c2pa.edited` action per step that
changed the photo (the edit, its plain words, requested and applied strength, the measures that held it
back, IPTC digital source type algorithmicallyEnhanced), the final measures against the original with
their limits (assertion MEASURES_LABEL, every measure of the record's summary), and claim_generator_info
naming retouch and its version. The output is signed where it is staged (staging.staged), before anything is
renamed into place, so a crash never leaves an output that a later step would sign; the record's
sha256 of the output is taken after signing. c2pa is set up offline: no timestamp authority, no OCSP, no
remote manifests, no thumbnails (a client's file should not carry a picture of the unretouched photo).

Checking. `verify(path)` reads a file's manifest with c2pa, trusting the studio's own roots
(credentials.trust_anchors) and any given, and says who signed it and whether that signer is trusted,
what was done step by step, the measures, and whether the file was changed after signing. It reads any
C2PA manifest, not only ours.
"""
from __future__ import annotations

import errno
import io as _io
import json
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path

import c2pa

from . import __version__, credentials, files
from .credentials import Credentials, CredentialsError
from .errors import DiskFull
from .io import PhotoError
from .record import DIGITAL_SOURCE_TYPE, edit_words

MEASURES_LABEL = "org.retouch-photo.measures"   # our assertion: the measures against the original
STEP_KEY = "org.retouch-photo.step"             # in a c2pa.edited action's parameters: our step
SHA256_KEY = "org.retouch-photo.sha256"         # in the ingredient's metadata: the original's sha256
INGREDIENT = "original"
_OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
            "builder": {"thumbnail": {"enabled": False}}}
_MIME = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "png": "image/png",
         "tif": "image/tiff", "tiff": "image/tiff", "webp": "image/webp", "dng": "image/dng"}
# Validation codes saying the signed bytes no longer match: the file was changed after signing.
_CHANGED = frozenset({"assertion.dataHash.mismatch", "assertion.boxesHash.mismatch",
                      "assertion.bmffHash.mismatch", "assertion.collectionHash.mismatch"})
_UNTRUSTED, _TRUSTED = "signingCredential.untrusted", "signingCredential.trusted"


def _context(anchors: bytes = b"") -> c2pa.Context:
    """c2pa's settings: offline (_OFFLINE), trusting `anchors` (PEM roots) besides its own list."""
    trust = {"trust": {"user_anchors": anchors.decode("ascii")}} if anchors.strip() else {}
    return c2pa.Context(c2pa.Settings.from_dict({**_OFFLINE, **trust}))


def mime_type(path: str | Path) -> str:
    """The MIME type c2pa is told for a file, from its suffix."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return _MIME.get(suffix) or mimetypes.guess_type(f"x.{suffix}")[0] or "application/octet-stream"


def _signer(identity: Credentials) -> c2pa.Signer:
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=identity.alg.encode("ascii"), sign_cert=identity.chain,
                                                     private_key=identity.key, ta_url=None))


# ------------------------------------------------------------------------------------------- manifest

def _measures(entry: dict) -> list[dict]:
    """Every measure of the record's summary with its limit, label and direction (generic over the table)."""
    from .measure import MEASURES
    rows = []
    for name, value in entry.get("summary", {}).items():
        known = MEASURES.get(name)
        limit = entry.get("budget", {}).get(name)
        rows.append({"name": name, "label": known.label if known else name, "value": value, "limit": limit,
                     "better": known.better if known else None,
                     "within": None if known is None or limit is None else known.within(value, limit)})
    return rows


def manifest(entry: dict, *, title: str) -> dict:
    """The C2PA manifest definition of an output from its edit record (see the module doc)."""
    ours = ("edit", "requested", "applied", "bound_by")
    edited = [{"action": "c2pa.edited", "description": edit_words(step["edit"]),
               "softwareAgent": {"name": "retouch", "version": __version__},
               "digitalSourceType": DIGITAL_SOURCE_TYPE,
               "parameters": {STEP_KEY: {key: step[key] for key in ours}}}
              for step in entry["steps"] if step["applied"] > 0]
    held = [{key: step[key] for key in ("edit", "requested", "applied", "status", "bound_by")}
            for step in entry["steps"] if step["applied"] <= 0]
    return {
        "title": title,
        "claim_generator_info": [{"name": "retouch", "version": __version__}],
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.opened", "digitalSourceType": DIGITAL_SOURCE_TYPE,
                 "parameters": {"ingredientIds": [INGREDIENT]}}, *edited]}},
            {"label": MEASURES_LABEL, "data": {
                "against": "the original (the parentOf ingredient)",
                "description": entry.get("description", ""),
                "preset": {key: entry["preset"][key] for key in ("name", "digest")},
                "measures": _measures(entry), "not_applied": held}},
        ],
    }


def _ingredient(entry: dict, original: Path) -> dict:
    return {"title": original.name, "relationship": "parentOf", "label": INGREDIENT,
            "format": mime_type(original), "metadata": {SHA256_KEY: entry["input"]["sha256"]}}


@dataclass(frozen=True)
class Signing:
    """What signs one output: the identity, the manifest, and the original (its parentOf ingredient)."""

    identity: Credentials
    manifest: dict
    ingredient: dict
    original: Path
    target: Path

    def __call__(self, path: Path) -> None:
        """Sign the file at `path` (the output, staged and not yet in place) where it lies; PhotoError
        naming the output if c2pa refuses."""
        fmt = self.original.suffix.lower().lstrip(".")
        readable = fmt in c2pa.Reader.get_supported_mime_types() and self.original.is_file()
        definition = self.manifest if readable else {**self.manifest, "ingredients": [self.ingredient]}
        signed = files.temporary_for(path)          # beside it, swept like any temporary if we are killed
        try:
            with c2pa.Builder(definition, _context()) as builder:
                if readable:        # read by c2pa: credentials the original carries stay linked
                    with open(self.original, "rb") as stream:
                        builder.add_ingredient(self.ingredient, fmt, stream)
                with open(path, "rb") as source, open(signed, "x+b") as dest:
                    builder.sign(_signer(self.identity), mime_type(self.target), source, dest)
                    dest.flush()
                    os.fsync(dest.fileno())
            os.replace(signed, path)
        except OSError as error:
            kind = DiskFull if error.errno in (errno.ENOSPC, errno.EDQUOT) else PhotoError
            raise kind(f"{self.target}: could not be signed ({error.strerror or error})") from error
        except c2pa.C2paError as error:
            raise PhotoError(f"{self.target}: could not be signed ({error})") from None
        finally:
            signed.unlink(missing_ok=True)


def resolve(sign: Credentials | bool) -> Credentials | None:
    """The identity to sign with: True means the studio's when one is set up (credentials.load: None
    without one, CredentialsError when it cannot be used), False means none."""
    if sign is True:
        return credentials.load()
    return sign or None


def prepare(identity: Credentials | None, entry: dict, source: str | Path, target: str | Path
            ) -> tuple[dict, Signing | None]:
    """The record of `target` with who signs it noted ("credentials": None when it is left unsigned), and
    what signs it (None: left unsigned)."""
    if identity is None:
        return entry | {"credentials": None}, None
    source, target = Path(source), Path(target)
    entry = entry | {"credentials": {"standard": "C2PA", "signed_by": identity.name,
                                     "certificate_sha256": identity.fingerprint}}
    signing = Signing(identity, manifest(entry, title=target.name), _ingredient(entry, source), source, target)
    return entry, signing


def check_signs(identity: Credentials) -> None:
    """CredentialsError unless c2pa signs a small test image with `identity` (checked before it is kept)."""
    from PIL import Image
    image = _io.BytesIO()
    Image.new("RGB", (16, 16), (128, 128, 128)).save(image, format="PNG")
    definition = {"claim_generator_info": [{"name": "retouch", "version": __version__}],
                  "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                      {"action": "c2pa.created", "digitalSourceType":
                       "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"}]}}]}
    try:
        with c2pa.Builder(definition, _context()) as builder:
            image.seek(0)
            builder.sign(_signer(identity), "image/png", image, _io.BytesIO())
    except c2pa.C2paError as error:
        raise CredentialsError(f"{identity.cert_path}: this certificate cannot sign Content Credentials "
                               f"({error})") from None


# ------------------------------------------------------------------------------------------- checking

@dataclass(frozen=True)
class Verification:
    """What a file's Content Credentials say.

    state: "valid" (signature and contents check out), "changed" (signed, but the file was changed after
    signing), "invalid" (the manifest or its signature does not check out), or "none" (no manifest)."""

    file: Path
    state: str
    signer: str = ""
    trusted: bool = False
    generator: str = ""
    steps: tuple[str, ...] = ()
    done: tuple[str, ...] = ()      # the changes in plain words (no "opened")
    measures: tuple[str, ...] = ()
    description: str = ""
    problems: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 valid, 1 invalid or changed, 2 no credentials."""
        return {"valid": 0, "none": 2}.get(self.state, 1)

    @property
    def who(self) -> str:
        if not self.signer:
            return "an unnamed signer (unknown signer)"
        return f"{self.signer} (trusted)" if self.trusted else f"{self.signer} (unknown signer)"

    @property
    def verdict(self) -> str:
        return {"valid": "valid", "changed": "CHANGED after signing", "invalid": "INVALID",
                "none": "no Content Credentials"}[self.state]

    def lines(self) -> list[str]:
        """The report `retouch verify` prints for this file."""
        lines = [f"{self.file}: {self.verdict}"]
        if self.state == "none":
            return lines
        lines.append(f"  signed by: {self.who}" + (f", with {self.generator}" if self.generator else ""))
        lines += ["  what was done:", *(f"    {number}. {step}" for number, step in enumerate(self.steps, 1))]
        if self.measures:
            lines += ["  measures against the original:", *(f"    {line}" for line in self.measures)]
        lines.append("  pixels: " + ("CHANGED after signing: the file no longer matches its signature"
                                     if self.state == "changed" else "unchanged since signing"
                                     if self.state == "valid" else "cannot be vouched for"))
        lines += [f"  problem: {problem}" for problem in self.problems]
        return lines

    def note(self) -> str:
        """A short note for the client gallery: signed by whom, what was done."""
        if self.state == "none":
            return "Content Credentials: none (this file is not signed)."
        if self.state == "changed":
            return (f"Content Credentials: the file was changed after {self.who} signed it; the signature no "
                    "longer vouches for it.")
        if self.state == "invalid":
            return "Content Credentials: invalid; they do not vouch for this file."
        return (f"Content Credentials: signed by {self.who}, unchanged since. What was done: "
                f"{', '.join(self.done) or 'nothing'}.")

    def as_dict(self) -> dict:
        return {"file": str(self.file), "state": self.state, "signer": self.signer, "trusted": self.trusted,
                "generator": self.generator, "steps": list(self.steps), "done": list(self.done),
                "measures": list(self.measures),
                "description": self.description, "problems": list(self.problems),
                "exit_code": self.exit_code}


def _generator(active: dict) -> str:
    info = active.get("claim_generator_info") or []
    first = info[0] if info and isinstance(info[0], dict) else {}
    named = " ".join(str(first[key]) for key in ("name", "version") if first.get(key))
    return named or str(active.get("claim_generator", ""))


def _assertion(active: dict, label: str) -> dict:
    for assertion in active.get("assertions") or []:
        if re.sub(r"\.v\d+$", "", str(assertion.get("label", ""))) == label:   # c2pa.actions.v2 is c2pa.actions
            return assertion.get("data") or {}
    return {}


def _words(action: dict, ingredients: list[dict]) -> str:
    """One step in plain words: ours with strengths and what held them back, anyone else's by name."""
    from .measure import MEASURES
    kind = str(action.get("action", "?")).removeprefix("c2pa.")
    ours = (action.get("parameters") or {}).get(STEP_KEY)
    if kind == "opened":
        parent = next((i for i in ingredients if i.get("relationship") == "parentOf"), {})
        sha = (parent.get("metadata") or {}).get(SHA256_KEY)
        return f"opened {parent.get('title', 'the original')}" + (f" (sha256 {sha[:16]}\u2026)" if sha else "")
    if isinstance(ours, dict):
        held = [MEASURES[name].plain if name in MEASURES else name for name in ours.get("bound_by") or []]
        return (f"{kind}: {action.get('description') or ours.get('edit')} ({ours.get('edit')}), strength "
                f"{_strength(ours.get('requested'))} requested, {_strength(ours.get('applied'))} applied"
                + (f", held back to protect {' and '.join(held)}" if held else ""))
    agent = action.get("softwareAgent")
    agent = agent.get("name") if isinstance(agent, dict) else agent
    detail = ", ".join(str(part) for part in (action.get("description"), agent) if part)
    return kind + (f" ({detail})" if detail else "")


def _strength(value) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "?"     # a manifest is anyone's data


def _measure_line(row: dict) -> str:
    from .measure import MEASURES
    known = MEASURES.get(row.get("name"))

    def shown(value) -> str:
        if not isinstance(value, (int, float)):
            return "n/a"
        return known.show(value) if known else f"{value:.4g}"
    line = f"{row.get('label') or row.get('name')}: {shown(row.get('value'))}"
    if row.get("limit") is not None:
        side = "\u2265" if row.get("better") == "higher" else "\u2264"
        kept = {True: ", kept", False: ", BROKEN", None: ""}[row.get("within")]
        line += f" (limit {side} {shown(row['limit'])}{kept})"
    return line


def verify(path: str | Path, *, anchors: bytes = b"") -> Verification:
    """What the Content Credentials of the file at `path` say (see Verification); the studio's own roots
    and `anchors` (PEM) are trusted. PhotoError naming the file if it cannot be read."""
    path = Path(path)
    trusted_roots = credentials.trust_anchors() + anchors
    try:
        with open(path, "rb") as stream:
            reader = c2pa.Reader.try_create(mime_type(path), stream, None, _context(trusted_roots))
            if reader is None:
                return Verification(path, "none")
            with reader:
                store = json.loads(reader.json())
    except OSError as error:
        raise PhotoError(f"{path}: cannot be read ({error.strerror or error})") from None
    except c2pa.C2paError as error:
        return Verification(path, "invalid", problems=(f"the manifest cannot be read ({error})",))
    active = (store.get("manifests") or {}).get(store.get("active_manifest"), {})
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [item for item in results.get("failure") or [] if item.get("code") != _UNTRUSTED]
    codes = {item.get("code") for item in failures}
    state = "changed" if codes & _CHANGED else "invalid" if failures else "valid"
    signature = active.get("signature_info") or {}
    ingredients = active.get("ingredients") or []
    actions = _assertion(active, "c2pa.actions").get("actions") or []
    ours = _assertion(active, MEASURES_LABEL)
    return Verification(
        path, state, signer=signature.get("common_name") or signature.get("issuer") or "",
        trusted=any(item.get("code") == _TRUSTED for item in results.get("success") or []),
        generator=_generator(active),
        steps=tuple(_words(action, ingredients) for action in actions),
        done=tuple(str(action.get("description") or action.get("action", "?")).removeprefix("c2pa.")
                   for action in actions if action.get("action") != "c2pa.opened"),
        measures=tuple(_measure_line(row) for row in ours.get("measures") or [] if isinstance(row, dict)),
        description=str(ours.get("description") or ""),
        problems=tuple(f"{item.get('code')}: {item.get('explanation', '')}".rstrip(": ") for item in failures))


def export_note() -> str:
    """What the app says about its exports' Content Credentials: whose signature they will carry."""
    try:
        identity = credentials.load()
    except CredentialsError as error:
        return f"Content Credentials: exports cannot be signed ({error})"
    if identity is None:
        return ("Content Credentials: exports are not signed (no studio credentials; "
                "`retouch credentials init` sets them up).")
    return (f"Content Credentials: exports are signed by {identity.name}, with each step below and the "
            "measures above.")
