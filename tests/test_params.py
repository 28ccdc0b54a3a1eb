"""Parameter declarations: ranges and hard maxima are enforced with clear errors, never clamped."""
from dataclasses import dataclass

import pytest

from retouch.params import Param, ParamError, build, declarations, param, validate


@dataclass(frozen=True)
class Example:
    amount: float = param(0.5, 0.0, 1.0, hard_max=0.8, doc="how much")
    radius: int = param(3, 1, 10, doc="pixels", kind=int)
    mode: str = "soft"


def test_defaults_and_declarations():
    assert Example().amount == 0.5
    assert set(declarations(Example)) == {"amount", "radius"}
    assert declarations(Example)["amount"].limit == 0.8


@pytest.mark.parametrize("value, fragment", [
    (1.5, "outside the range 0..1"),
    (-0.1, "outside the range"),
    (0.9, "above the hard maximum 0.8"),
    ("abc", "not a number"),
    (float("nan"), "outside the range"),
    (True, "not a number"),
])
def test_out_of_range_values_name_edit_param_value_and_range(value, fragment):
    with pytest.raises(ParamError) as error:
        build(Example, {"amount": value}, "skin")
    message = str(error.value)
    assert "skin.amount" in message and fragment in message and repr(value) in message


def test_value_at_hard_max_is_allowed_and_strings_convert():
    assert build(Example, {"amount": "0.8", "radius": "4"}, "x") == Example(0.8, 4, "soft")


def test_unknown_parameter_is_an_error_listing_known_ones():
    with pytest.raises(ParamError, match=r"unknown parameter 'amout'.*amount"):
        build(Example, {"amout": 0.3}, "skin")


def test_lowering_hard_max_works_raising_does_not():
    declared = declarations(Example)["amount"]
    assert declared.with_hard_max(0.5, "preset").limit == 0.5
    with pytest.raises(ParamError, match="above the hard maximum"):
        declared.with_hard_max(0.9, "preset")


def test_validate_catches_instances_built_in_code():
    with pytest.raises(ParamError):
        validate(Example(amount=2.0), "skin")


def test_bad_declaration_is_rejected():
    with pytest.raises(ValueError):
        Param(2.0, 0.0, 1.0)


def test_declared_kinds_validate_through_the_same_path_with_one_line_errors():
    from dataclasses import dataclass
    from retouch.params import build, choice, colour, points, settings

    @dataclass(frozen=True)
    class Kinds:
        mode: str = choice("color", ("color", "gradient"), doc="what goes behind")
        tint: str = colour("grey", doc="backdrop colour", names={"grey": "#808080"})
        marks: tuple = points("marks to keep")
        spots: tuple = points("spots to heal", radius=True)

    assert set(settings(Kinds)) == {"mode", "tint", "marks", "spots"}
    made = build(Kinds, {"mode": "Gradient", "tint": "#ABC", "marks": "1,2;3,4", "spots": [[5, 6, 2]]}, "test")
    assert (made.mode, made.tint, made.marks, made.spots) == ("gradient", "#aabbcc", ((1.0, 2.0), (3.0, 4.0)),
                                                               ((5.0, 6.0, 2.0),))
    assert Kinds().tint == "#808080"
    for values, message in [({"mode": "image"}, r"test\.mode: 'image' is not one of color, gradient"),
                            ({"tint": "mauve"}, r"test\.tint: 'mauve' is not a colour"),
                            ({"marks": "1,2,3"}, r"test\.marks: point \(1\.0, 2\.0, 3\.0\) is not allowed"),
                            ({"spots": "1,2,0"}, r"test\.spots: point .* radius > 0"),
                            ({"marks": "1,nan"}, r"test\.marks: point .* not allowed")]:
        with pytest.raises(ParamError, match=message) as error:
            build(Kinds, values, "test")
        assert "\n" not in str(error.value)
