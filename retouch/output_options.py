"""How results are written: the declared output options (format, JPEG quality, name suffix).

Declared once here (a light module: the command line builds its --format and --quality options from these
declarations without importing the image stack); presets validate their [output] table against them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .params import choice, param

FORMATS = ("jpeg", "tiff", "png", "same")


@dataclass(frozen=True)
class Output:
    """How results are written."""

    format: str = choice("same", FORMATS, doc="file format of the outputs (same: the input's own, with its bit "
                         "depth and alpha; RAW becomes a 16-bit TIFF)")
    quality: int = param(92, 1, 100, doc="JPEG quality", kind=int)
    suffix: str = ""
