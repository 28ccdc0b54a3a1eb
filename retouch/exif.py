"""EXIF blocks as retouch moves them between formats: the descriptive IFD0 tags, Orientation set upright,
the JPEG header, and EXIF appended to a TIFF written by tifffile (which cannot write EXIF IFDs).
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from .errors import PhotoError
from .photo import Photo

HEADER = b"Exif\x00\x00"
ORIENTATION = 274
# IFD0 tags that describe the photo rather than how a TIFF stores it; the only ones moved between
# a TIFF (or TIFF-based RAW) and EXIF blocks.
DESCRIPTIVE_TAGS = frozenset({
    270,    # ImageDescription
    271,    # Make
    272,    # Model
    274,    # Orientation
    305,    # Software
    306,    # DateTime
    315,    # Artist
    33432,  # Copyright
    34665,  # ExifIFD pointer
    34853,  # GPSInfo IFD pointer
})

def descriptive_exif(exif: Image.Exif) -> bytes | None:
    """The block of `exif` holding only the descriptive IFD0 tags (with EXIF/GPS IFDs), or None if empty.

    Used on TIFF IFD0s, whose tags are mostly about storage (strips, compression) and must not travel."""
    for tag in [tag for tag in exif if tag not in DESCRIPTIVE_TAGS]:
        del exif[tag]
    return exif.tobytes() if len(exif) else None


def upright(path: Path, exif: bytes) -> bytes:
    """`exif` (with its Exif header) with IFD0's Orientation set to 1; every other byte is unchanged."""
    body = exif.removeprefix(HEADER)
    order = "<" if body[:2] == b"II" else ">"
    try:
        (ifd0,) = struct.unpack_from(order + "I", body, 4)
        (count,) = struct.unpack_from(order + "H", body, ifd0)
        patched = bytearray(body)
        for entry in range(ifd0 + 2, ifd0 + 2 + 12 * count, 12):
            tag, kind = struct.unpack_from(order + "HH", body, entry)
            if tag == ORIENTATION and kind == 3:   # SHORT
                struct.pack_into(order + "H", patched, entry + 8, 1)
    except struct.error:
        raise PhotoError(f"{path}: the photo's EXIF block is malformed ({len(exif)} bytes)") from None
    return HEADER + bytes(patched)


def append_tiff_exif(fh: BinaryIO, exif: bytes) -> None:
    """Add the descriptive IFD0 tags of `exif`, with its EXIF and GPS IFDs, to the TIFF written in `fh`.

    tifffile cannot write EXIF IFDs, so the block is serialised by Pillow at the end of the file (its
    offsets absolute, as TIFF offsets are from the file's start) and the first IFD is rewritten after
    it with the extra entries merged in, sorted; the file header is repointed to it. The TIFF's own
    entries win over the block's. `fh` must be open for reading and writing.
    """
    fh.seek(0)
    header = fh.read(8)
    order = "<" if header[:2] == b"II" else ">"

    def aligned_end() -> int:
        """Seek to the end of the file, padded to a word boundary (TIFF offsets are even)."""
        size = fh.seek(0, os.SEEK_END)
        fh.write(b"\x00" * (size % 2))
        return size + size % 2

    def entries(offset: int) -> tuple[dict[int, bytes], bytes]:
        """The 12-byte entries of the IFD at `offset` by tag, and its next-IFD pointer."""
        fh.seek(offset)
        (count,) = struct.unpack(order + "H", fh.read(2))
        raw = fh.read(12 * count)
        found = {struct.unpack_from(order + "H", raw, i)[0]: raw[i:i + 12] for i in range(0, len(raw), 12)}
        return found, fh.read(4)

    block = Image.Exif()
    block.load(exif)
    descriptive_exif(block)
    block.endian = order
    block_at = aligned_end()
    fh.write(block.tobytes(block_at)[len(HEADER) + 8:])     # without the headers: its IFD0 first
    added, _ = entries(block_at)
    own, next_ifd = entries(struct.unpack(order + "I", header[4:8])[0])
    merged = {**added, **own}
    ifd0_at = aligned_end()
    fh.write(struct.pack(order + "H", len(merged)) + b"".join(merged[tag] for tag in sorted(merged)) + next_ifd)
    fh.seek(4)
    fh.write(struct.pack(order + "I", ifd0_at))


def with_exif_header(exif: bytes | None) -> bytes | None:
    """EXIF as JPEG carries it, with the "Exif\\0\\0" header (PNG's eXIf chunk has none)."""
    if not exif:
        return None
    return exif if exif.startswith(HEADER) else HEADER + exif


def upright_exif(photo: Photo) -> bytes | None:
    """The photo's EXIF block as it will be written (Orientation 1); PhotoError naming the photo's source
    file when the block is malformed. Checked before work is spent on a photo that could not be written."""
    return None if photo.exif is None else upright(photo.source or Path("photo"), photo.exif)
