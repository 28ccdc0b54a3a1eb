"""Presets: TOML files -> validated, hashed steps, budget and output options.

Schema (version 2)::

    schema = 2
    description = "one line"
    [output]            format = "jpeg"|"tiff"|"png"|"same", quality = 1..100, suffix = "..."
    [budget]            a limit for any budgeted measure (measure.MEASURES), e.g. identity = 0.92
    [limits]            lower hard maxima: "skin" = 0.4 (strength) or "skin.amount" = 0.6 (parameter)
    [[steps]]           edit = "skin", strength = 0.5, [steps.params] amount = 0.5

Unknown keys, unknown edits and out-of-range values are PresetErrors naming the file, line and key. A
preset may lower a hard maximum, never raise it. Built-in presets live in the repo's presets/ folder,
installed with the package as `retouch/builtin_presets` (a link to presets/ in the repo).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import edits, files
from .budget import Budget
from .output_options import Output
from .params import Param, ParamError, build

SCHEMA = 2
# Schema 1 named budget limits after the measure plus its side; schema 2 names the measure alone.
_SCHEMA_1_BUDGET = {"identity_min": "identity", "drift_max": "drift", "skin_de_mean_max": "skin_de_mean",
                    "skin_de_p95_max": "skin_de_p95", "texture_min": "texture", "spill_max": "spill"}
DEFAULT = "natural"
PRESET_MAX_BYTES = 1 << 20     # a preset is a page of TOML


class PresetError(ParamError):
    """A preset that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class Step:
    """One edit of a preset: the edit's name, requested strength, validated Params and limits."""

    edit: str
    strength: float
    params: Any
    strength_limit: Param
    param_limits: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    steps: tuple[Step, ...]
    budget: Budget
    output: Output
    source: str
    digest: str

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.edit == name), None)

    def summary(self) -> dict:
        """Effective settings, JSON-ready (what `retouch presets show` prints and what is hashed)."""
        return {
            "name": self.name, "description": self.description,
            "steps": [{"edit": s.edit, "strength": s.strength,
                       "strength_max": s.strength_limit.limit,
                       "params": _jsonable(dataclasses.asdict(s.params))} for s in self.steps],
            "budget": self.budget.as_dict(),
            "output": {"format": self.output.format, "quality": self.output.quality,
                       "suffix": self.output.suffix},
        }


def _jsonable(values: Mapping[str, Any]) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}


def builtin_dir() -> Path:
    """The folder of the presets installed with the package."""
    return Path(__file__).resolve().parent / "builtin_presets"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def _line_of(text: str, key: str, after: int = 0) -> int | None:
    """1-based line of the first `key =` (or `[key]`) at or after line `after`; None if not found."""
    pattern = re.compile(rf'^\s*(?:"?{re.escape(key)}"?\s*=|\[+\s*{re.escape(key)}\s*\]+)')
    for number, line in enumerate(text.splitlines()[after:], start=after + 1):
        if pattern.match(line):
            return number
    return None


class _Where:
    """Builds error locations 'file:line: key' for one preset file."""

    def __init__(self, source: str, text: str):
        self.source, self.text = source, text

    def __call__(self, key: str, *, after: int = 0) -> str:
        line = _line_of(self.text, key.split(".")[-1], after)
        return f"{self.source}:{line}: {key}" if line else f"{self.source}: {key}"

    def step_start(self, index: int) -> int:
        headers = [n for n, l in enumerate(self.text.splitlines()) if l.strip() == "[[steps]]"]
        return headers[index] if index < len(headers) else 0


def _table(value: Any, where: str) -> Mapping[str, Any]:
    """`value` if it is a TOML table, else PresetError "file:line: key: expected a table"."""
    if not isinstance(value, Mapping):
        raise PresetError(f"{where}: expected a table, not {type(value).__name__} {value!r:.40}")
    return value


def _expect_keys(table: Mapping, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PresetError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _limits(table: Mapping[str, Any], where: _Where) -> dict[str, Any]:
    """[limits] -> {edit: {"strength": Param, params: {name: Param}}}, each only ever lowered."""
    lowered: dict[str, Any] = {}
    for key, value in table.items():
        edit_name, _, param_name = key.partition(".")
        try:
            edit = edits.get(edit_name)
        except ParamError as error:
            raise PresetError(f"{where('limits.' + key)}: {error}") from None
        entry = lowered.setdefault(edit_name, {"strength": edit.strength, "params": {}})
        label = where(f"limits.{key}")
        if not param_name or param_name == "strength":
            entry["strength"] = edit.strength.with_hard_max(value, label)
        elif param_name in edit.declarations:
            entry["params"][param_name] = edit.declarations[param_name].with_hard_max(value, label)
        else:
            raise PresetError(f"{label}: {edit_name} has no parameter {param_name!r} "
                              f"(known: {', '.join(edit.declarations)})")
    return lowered


def _step(raw: Mapping[str, Any], index: int, lowered: dict, where: _Where) -> Step:
    start = where.step_start(index)
    label = f"steps[{index + 1}]"
    _table(raw, f"{where('steps', after=start)}[{index + 1}]")
    _expect_keys(raw, {"edit", "strength", "params"}, f"{where.source}: {label}")
    if "edit" not in raw:
        raise PresetError(f"{where.source}: {label} has no 'edit'")
    if not isinstance(raw["edit"], str):
        raise PresetError(f"{where(label + '.edit', after=start)}: expected an edit's name, not {raw['edit']!r:.40}")
    try:
        edit = edits.get(raw["edit"])
    except ParamError as error:
        raise PresetError(f"{where(label + '.edit', after=start)}: {error}") from None
    limits = lowered.get(edit.name, {"strength": edit.strength, "params": {}})
    strength = limits["strength"].check(raw.get("strength", edit.strength.default),
                                        where(f"{label}.strength", after=start) + f" ({edit.name})")
    values = dict(_table(raw.get("params", {}), where(f"{label}.params", after=start)))
    for name, declaration in limits["params"].items():
        if name in values:
            declaration.check(values[name], where(f"{label}.params.{name}", after=start))
        else:
            values[name] = declaration.default
    params = build(edit.params_type, values, where(f"{label}.params", after=start) + f" ({edit.name})")
    return Step(edit.name, strength, params, limits["strength"], limits["params"])


def parse(text: str, *, name: str, source: str) -> Preset:
    """Validate a preset's TOML text; every problem is a PresetError naming `source`, line and key."""
    try:
        return _parse(text, name=name, source=source)
    except PresetError:
        raise
    except ParamError as error:
        raise PresetError(str(error)) from None


def _parse(text: str, *, name: str, source: str) -> Preset:
    where = _Where(source, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PresetError(f"{source}: not valid TOML: {error}") from None
    except RecursionError:
        raise PresetError(f"{source}: nested too deeply to be a preset") from None
    _expect_keys(data, {"schema", "description", "output", "budget", "limits", "steps"}, source)
    if data.get("schema") not in (1, SCHEMA):
        raise PresetError(f"{where('schema')}: schema {data.get('schema')!r} is not supported "
                          f"(this version reads schemas 1 and {SCHEMA})")
    lowered = _limits(_table(data.get("limits", {}), where("limits")), where)
    if not isinstance(data.get("steps", []), list):
        raise PresetError(f"{where('steps')}: expected an array of tables ([[steps]]), not "
                          f"{type(data['steps']).__name__}")
    steps = tuple(_step(raw, i, lowered, where) for i, raw in enumerate(data.get("steps", [])))
    seen = [s.edit for s in steps]
    if len(seen) != len(set(seen)):
        raise PresetError(f"{source}: an edit appears twice in steps ({', '.join(seen)})")
    budget = Budget.of(_table(data.get("budget", {}), where("budget")), where("budget"),
                       aliases=_SCHEMA_1_BUDGET if data["schema"] == 1 else None)
    output = build(Output, _table(data.get("output", {}), where("output")), where("output"))
    for key in ("format", "suffix"):
        if not isinstance(getattr(output, key), str):
            raise PresetError(f"{where('output.' + key)}: expected text, not {getattr(output, key)!r:.40}")
    if any(char in output.suffix for char in "/\\\0"):
        raise PresetError(f"{where('output.suffix')}: {output.suffix!r} must not contain a folder separator")
    preset = Preset(name, str(data.get("description", "")), steps, budget, output, source, "")
    return dataclasses.replace(preset, digest=digest(preset))


def digest(preset: Preset) -> str:
    """sha256 of the effective settings: two presets with the same digest give the same result."""
    canonical = json.dumps(preset.summary() | {"name": None, "description": None}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load(name_or_path: str | Path = DEFAULT) -> Preset:
    """A built-in preset by name, or a user's preset from a .toml path."""
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.exists():
        path = builtin_dir() / f"{name_or_path}.toml"
        if not path.exists():
            raise PresetError(f"no preset named {str(name_or_path)!r} "
                              f"(built in: {', '.join(builtin_names())}; or pass a .toml file)")
    try:
        text = files.read_text(path, limit=PRESET_MAX_BYTES, what="preset")
    except (FileNotFoundError, files.FileReadError) as error:
        raise PresetError(str(error)) from None
    return parse(text, name=path.stem, source=str(path))


def _default_step(name: str) -> Step:
    edit = edits.get(name)
    return Step(edit.name, edit.strength.default, edit.params(), edit.strength)


def with_changes(preset: Preset, *, only: tuple[str, ...] = (),
                 settings: Mapping[str, Any] | None = None) -> Preset:
    """The preset narrowed to the `only` edits (added at their defaults where the preset lacks them),
    with `settings` ("edit.param" or "edit.strength" -> value) applied within the preset's limits."""
    steps = list(preset.steps)
    if only:
        present = {s.edit for s in steps}
        steps = [s for s in steps if s.edit in only] + [_default_step(n) for n in only if n not in present]
    by_edit: dict[str, dict[str, Any]] = {}
    for key, value in (settings or {}).items():
        edit_name, dot, param_name = key.partition(".")
        if not dot or not param_name:
            raise ParamError(f"--set {key}={value}: expected EDIT.PARAM=VALUE")
        by_edit.setdefault(edit_name, {})[param_name] = value
    for edit_name, values in by_edit.items():
        index = next((i for i, s in enumerate(steps) if s.edit == edit_name), None)
        if index is None:
            steps.append(_default_step(edit_name))
            index = len(steps) - 1
        steps[index] = _changed_step(steps[index], values)
    changed = dataclasses.replace(preset, steps=tuple(steps))
    return dataclasses.replace(changed, digest=digest(changed))


def _changed_step(step: Step, values: Mapping[str, Any]) -> Step:
    values = dict(values)
    strength = step.strength
    if "strength" in values:
        strength = step.strength_limit.check(values.pop("strength"), f"{step.edit}.strength")
    for name, value in values.items():
        if name in step.param_limits:
            values[name] = step.param_limits[name].check(value, f"{step.edit}.{name}")
    merged = dataclasses.asdict(step.params) | values
    params = build(type(step.params), merged, step.edit)
    return dataclasses.replace(step, strength=strength, params=params)
