"""Adding an edit is one module: a module dropped into the edits package's path is found by the package
scan, listed by `retouch edits`, runs in a preset, shows in the record with its own words, and its
params version migrates old records — with no other file touched."""
import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

from retouch import cli, edits, presets, record
from retouch.pipeline import retouch

from portraits import faces, photo

MODULE = '''
"""Test-only edit: warms the skin a little (a throwaway module, written by the test)."""
from dataclasses import dataclass

import numpy as np

from retouch.params import Param, param
from retouch.edits import Change, Edit, register


@dataclass(frozen=True)
class Params:
    warmth: float = param(0.05, 0.0, 0.2, hard_max=0.1, doc="how much red is added to the skin")


def apply(photo, faces, params):
    """Adds `warmth` to the red channel over each face's skin."""
    if not len(faces):
        return Change.nothing(photo)
    face = faces.items[0]
    region = face.regions["skin"]
    x0, y0, x1, y1 = region.box
    pixels = photo.pixels[y0:y1, x0:x1].copy()
    pixels[..., 0] = np.minimum(pixels[..., 0] + params.warmth, 1.0)
    return Change(region.box, pixels, region.mask.astype(np.float32))


def migrate(version, values):
    """Version 1 called warmth `heat`."""
    values = dict(values)
    if version < 2 and "heat" in values:
        values["warmth"] = values.pop("heat")
    return values


register(Edit("warmer", Params, apply, Param(1.0, 0.0, 1.0, doc="share of the warmth applied"), True,
              "warm the skin a little (test only)", words="skin warmed", order=35, version=2,
              migrate=migrate))
'''


@pytest.fixture
def warmer(tmp_path, monkeypatch):
    """The throwaway edit module in a temporary folder on the edits package's path."""
    (tmp_path / "warmer.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    monkeypatch.setattr(edits, "__path__", [*edits.__path__, str(tmp_path)])
    yield "warmer"
    edits.REGISTRY.pop("warmer", None)
    sys.modules.pop("retouch.edits.warmer", None)


def test_a_new_module_is_listed_by_retouch_edits(warmer):
    listed = CliRunner().invoke(cli.main, ["edits", "--json"])
    assert listed.exit_code == 0, listed.output
    table = json.loads(listed.output)
    assert table["warmer"]["params"]["warmth"]["hard_max"] == 0.1
    assert list(table).index("warmer") == list(table).index("light") + 1     # its declared order


def test_a_new_module_runs_in_a_preset_and_shows_in_the_record(warmer):
    preset = presets.parse('schema = 2\n[[steps]]\nedit = "warmer"\nstrength = 1.0\n', name="warm",
                           source="warm.toml")
    result = retouch(photo("astronaut"), preset, faces=faces("astronaut"))
    assert result.steps[0].edit == "warmer" and result.steps[0].applied > 0
    entry = record.build(result.as_dict(), input_path="a.png", input_sha256="0" * 64, output_path="b.png",
                         preset_summary=preset.summary())
    assert entry["description"].startswith("Skin warmed")
    assert entry["preset"]["versions"] == {"warmer": 2}


def test_a_renamed_parameter_still_opens_from_an_old_record(warmer):
    old = {"preset": {"settings": {"steps": [{"edit": "warmer", "strength": 0.5, "params": {"heat": 0.08}}]},
                      "versions": {"warmer": 1}}}
    settings = record.settings_of(old)
    assert settings == {"warmer": {"strength": 0.5, "params": {"warmth": 0.08}}}
    assert edits.get("warmer").params(settings["warmer"]["params"]).warmth == 0.08
    assert edits.get("warmer").params({"heat": 0.08}, version=1).warmth == 0.08
