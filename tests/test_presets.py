"""Presets: validated TOML with errors naming file, line and key; limits only ever lowered."""
import subprocess
import sys
import textwrap

import pytest

from retouch import presets
from retouch.presets import PresetError

BUILTIN = presets.builtin_names()


def test_the_four_studio_presets_ship():
    assert {"natural", "corporate", "actor", "editorial"} <= set(BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_preset_loads_with_a_description(name):
    preset = presets.load(name)
    assert preset.description and preset.steps and len(preset.digest) == 64


def _write(tmp_path, text, name="mine.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_user_preset_from_a_path(tmp_path):
    path = _write(tmp_path, """
        schema = 1
        description = "mine"
        [[steps]]
        edit = "skin"
        strength = 0.2
    """)
    preset = presets.load(str(path))
    assert preset.name == "mine" and preset.steps[0].strength == 0.2


@pytest.mark.parametrize("body, fragment", [
    ('schema = 1\ncolour = "red"\n', "unknown key 'colour'"),
    ('schema = 3\n', "schema 3 is not supported"),
    ('schema = 1\n[[steps]]\nedit = "warp"\n', "unknown edit 'warp'"),
    ('schema = 1\n[[steps]]\nedit = "skin"\nstrength = 5\n', "outside the range"),
    ('schema = 1\n[[steps]]\nedit = "skin"\nstrenght = 0.2\n', "unknown key 'strenght'"),
    ('schema = 1\n[[steps]]\nedit = "skin"\n[steps.params]\nnope = 1\n', "unknown parameter 'nope'"),
    ('schema = 1\n[budget]\nidentity_min = 1.5\n', "identity_min"),
    ('schema = 1\n[output]\nformat = "gif"\n', "'gif' is not one of"),
    ('schema = 1\n[limits]\nskin = 1.01\n', "limits.skin"),
    ('schema = 1\nsteps = [\n', "not valid TOML"),
])
def test_bad_presets_name_the_file_and_the_problem(tmp_path, body, fragment):
    path = _write(tmp_path, body)
    with pytest.raises(PresetError) as error:
        presets.load(str(path))
    assert str(path) in str(error.value) and fragment in str(error.value)


def test_error_names_the_line(tmp_path):
    path = _write(tmp_path, 'schema = 1\n\n[[steps]]\nedit = "skin"\n\n[[steps]]\nedit = "light"\nstrength = 7\n')
    with pytest.raises(PresetError, match=rf"{path}:8: steps\[2\]\.strength"):
        presets.load(str(path))


def test_a_preset_may_lower_a_hard_maximum_but_not_raise_it(tmp_path):
    from retouch import edits
    ceiling = edits.get("skin").strength.limit
    lowered = _write(tmp_path, f'schema = 1\n[limits]\nskin = {ceiling / 2}\n[[steps]]\nedit = "skin"\n'
                               f'strength = {ceiling / 2}\n', "low.toml")
    assert presets.load(str(lowered)).steps[0].strength_limit.limit == ceiling / 2
    over = _write(tmp_path, f'schema = 1\n[limits]\nskin = {ceiling / 2}\n[[steps]]\nedit = "skin"\n'
                            f'strength = {ceiling * 0.75}\n', "over.toml")
    with pytest.raises(PresetError, match="above the hard maximum"):
        presets.load(str(over))
    # A command-line change is held to the preset's lowered limit too.
    with pytest.raises(PresetError.__mro__[1], match="above the hard maximum"):
        presets.with_changes(presets.load(str(lowered)), settings={"skin.strength": ceiling * 0.75})


def test_with_changes_only_and_settings():
    base = presets.load("natural")
    changed = presets.with_changes(base, only=("skin",), settings={"skin.strength": 0.1})
    assert [s.edit for s in changed.steps] == ["skin"] and changed.steps[0].strength == 0.1
    assert changed.digest != base.digest
    assert presets.with_changes(base).digest == base.digest


def test_unknown_preset_name_lists_the_builtins():
    with pytest.raises(PresetError, match="no preset named 'nope'.*natural"):
        presets.load("nope")


def test_presets_are_installed_with_the_package(tmp_path):
    """Outside the checkout, the package still finds its presets (they are package data)."""
    code = "from retouch import presets; print(presets.load('natural').name)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.stdout.strip() == "natural", out.stderr


def test_a_schema_1_preset_reads_its_budget_under_the_measure_names():
    preset = presets.parse('schema = 1\n[budget]\nidentity_min = 0.95\nspill_max = 0.001\n', name="old",
                           source="old.toml")
    assert preset.budget["identity"] == 0.95 and preset.budget["spill"] == 0.001
