"""The edit registry: one module per edit, each declaring a frozen Params dataclass and one pure function.

An edit function takes (photo, faces, params) and returns a Change: the fully edited pixels of a box of
the frame and the soft mask (0..1) of what it touched there. Edits never blend by strength, measure,
or read files: the pipeline alone applies strength and blending, so an edit is always shown at 100%.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..params import Param, ParamError, build, declarations, settings
from ..photo import Box, Faces, Photo


@dataclass
class Change:
    """An edit's output: `pixels` (float32 hxwx3) and `mask` (float32 hxw) covering `box` of the frame.

    Outside `box` the edit changed nothing. `mask` marks where the edit acted; the pipeline's spill
    measure checks that nothing outside it moved. `details` says what the edit decided, for the record
    (JSON-serialisable): each key holds a list of entries, e.g. one per mark found or one per face.
    """

    box: Box
    pixels: np.ndarray
    mask: np.ndarray
    details: dict[str, list] = field(default_factory=dict)

    @classmethod
    def nothing(cls, photo: Photo) -> "Change":
        """An empty change (e.g. no face found)."""
        return cls((0, 0, 0, 0), np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32))

    @property
    def empty(self) -> bool:
        return self.mask.size == 0 or not np.any(self.mask > 0)

    def tight(self) -> "Change":
        """The same change over the smallest box holding every pixel its mask touches (edits work on
        generous crops; blending and measuring then skip the untouched margin)."""
        rows, columns = np.flatnonzero(self.mask.any(axis=1)), np.flatnonzero(self.mask.any(axis=0))
        if rows.size == 0:
            return self
        top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
        if (top, left, bottom, right) == (0, 0, *self.mask.shape):
            return self
        x0, y0 = self.box[:2]
        return Change((x0 + int(left), y0 + int(top), x0 + int(right), y0 + int(bottom)),
                      self.pixels[top:bottom, left:right], self.mask[top:bottom, left:right], self.details)


def _no_migration(version: int, values: Mapping[str, Any]) -> dict[str, Any]:
    return dict(values)


@dataclass(frozen=True)
class Edit:
    """A registered edit and every fact about it, declared once in its own module.

    `words` are the plain words a client reads in records and the gallery ("blemishes removed");
    `needs_face` says what it works on (faces, or the whole person: background work), and `hair_edge`
    whether that person's matte must be exact along the hair (a replaced background shows every strand;
    work kept a band away from the person does not need it, and is spared the matting); `order` places it
    in the pipeline's default order (lower first); `version` is its Params' version, stored in each
    record, and `migrate(version, values)` turns params saved by an older version into today's names."""

    name: str
    params_type: type
    apply: Callable[[Photo, Faces, Any], Change]
    strength: Param
    needs_face: bool
    doc: str
    words: str = ""
    hair_edge: bool = False
    order: int = 100
    version: int = 1
    migrate: Callable[[int, Mapping[str, Any]], dict[str, Any]] = _no_migration

    def params(self, values: dict[str, Any] | None = None, where: str | None = None, *,
               version: int | None = None) -> Any:
        """Validated Params from a mapping (ParamError names the edit, parameter, value and range).

        Values saved by an older `version` of the edit are migrated first; a newer one is an error."""
        values = dict(values or {})
        if version is not None and version != self.version:
            if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= self.version:
                raise ParamError(f"{where or self.name}: params version {version!r} is not one this retouch "
                                 f"knows (1..{self.version})")
            values = self.migrate(version, values)
        return build(self.params_type, values, where or self.name)

    def check_strength(self, value: Any, where: str | None = None) -> float:
        return self.strength.check(value, f"{where or self.name}.strength")

    @property
    def declarations(self) -> dict[str, Param]:
        """The numeric parameters' declarations (sliders), by name."""
        return declarations(self.params_type)

    @property
    def settings(self) -> dict[str, Any]:
        """The other declared parameters (a choice, a colour, a list of points), by name."""
        return settings(self.params_type)


REGISTRY: dict[str, Edit] = {}


def register(edit: Edit) -> Edit:
    """Add an edit to the registry (each edit module calls this once at import)."""
    REGISTRY[edit.name] = edit
    return edit


def get(name: str) -> Edit:
    """The registered edit called `name`; ParamError lists the known edits otherwise."""
    load_all()
    if name not in REGISTRY:
        raise ParamError(f"unknown edit {name!r} (known: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def edit_modules() -> list[str]:
    """The edit modules of this package: every module whose name does not start with '_' (helpers)."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def load_all() -> dict[str, Edit]:
    """Import every edit module so the registry is complete, in the edits' default order."""
    for module in edit_modules():
        importlib.import_module(f"{__name__}.{module}")
    return dict(sorted(REGISTRY.items(), key=lambda item: (item[1].order, item[0])))
