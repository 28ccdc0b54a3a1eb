"""How the default budget was chosen: the natural preset, measured on the public-domain portraits,
must sit inside every limit with a margin (so normal retouching is never backed off), while the
known-bad changes in test_measure.py (blur, warp, tone shift) fall outside."""
import pytest

from retouch import presets
from retouch.pipeline import retouch

from portraits import faces, photo


@pytest.fixture(scope="module", params=["astronaut", "grace_hopper"])
def natural(request):
    preset = presets.load("natural")
    result = retouch(photo(request.param), preset, faces=faces(request.param))
    return result.as_dict()["summary"], preset.budget, result


def test_natural_preset_is_never_backed_off(natural):
    """Every step is applied as asked, or has nothing to do here (astronaut has no temporary marks and
    her backdrop no specks): none is backed off or dropped."""
    _, _, result = natural
    assert [s.status for s in result.steps if s.status != "skipped"] == ["applied"] * sum(
        s.status != "skipped" for s in result.steps)
    assert all(s.note == "nothing to change" for s in result.steps if s.status == "skipped")
    assert sum(s.status == "applied" for s in result.steps) >= 4


def test_natural_preset_sits_inside_the_budget_with_a_margin(natural):
    summary, budget, _ = natural
    assert summary["identity"] >= budget["identity"] + 0.05
    assert summary["texture"] >= budget["texture"] + 0.15
    assert summary["drift"] <= budget["drift"] * 0.6
    assert summary["skin_de_mean"] <= budget["skin_de_mean"] * 0.85
    assert summary["skin_de_p95"] <= budget["skin_de_p95"] * 0.85
    assert summary["spill"] <= budget["spill"]
