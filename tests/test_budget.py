"""Budget limits and the bisection back-off."""
import pytest

from retouch.budget import Budget, back_off


def test_breaches_names_each_broken_measure():
    budget = Budget()
    flat = {"identity": 0.5, "drift": 0.001, "skin_de_mean": 3.0, "skin_de_p95": 1.0, "texture": 0.95,
            "spill": 0.0}
    assert budget.breaches(flat) == ["identity", "skin_de_mean"]
    assert budget.breaches({"identity": 0.99, "texture": 1.0}) == []


def test_lost_face_counts_as_broken():
    assert Budget().breaches({"identity": None, "drift": None}) == ["identity", "drift"]


def test_back_off_finds_highest_strength_within_budget():
    calls = []

    def evaluate(strength):
        calls.append(strength)
        return strength, (["identity"] if strength > 0.37 else [])

    found = back_off(evaluate, 1.0, tries=8)
    assert found.bound_by == ["identity"]
    assert 0.33 < found.strength <= 0.37
    assert found.outcome == found.strength
    assert len(calls) == 9


def test_back_off_keeps_requested_when_within_budget():
    found = back_off(lambda s: (s, []), 0.6)
    assert (found.strength, found.bound_by, found.tries) == (0.6, [], 1)


def test_back_off_drops_step_that_always_breaks():
    found = back_off(lambda s: (s, ["texture"]), 0.8)
    assert found.strength == 0.0 and found.outcome is None and found.bound_by == ["texture"]


@pytest.mark.parametrize("name", ["identity", "texture"])
def test_limits_table_lists_minimums(name):
    kind, limit = Budget().table()[name]
    assert kind == "min" and limit == Budget()[name]


def test_the_budget_accepts_exactly_the_budgeted_measures():
    from retouch.measure import MEASURES
    from retouch.params import ParamError
    budgeted = {name for name, entry in MEASURES.items() if entry.limit is not None}
    assert set(Budget().limits) == budgeted
    assert Budget.of({"identity": 0.95}, "p.toml:3: budget")["identity"] == 0.95
    with pytest.raises(ParamError, match=r"p\.toml:3: budget: 'changed_area' is not a measure with a budget"):
        Budget.of({"changed_area": 0.1}, "p.toml:3: budget")
    with pytest.raises(ParamError, match=r"budget\.identity_min: 1\.5 is outside"):
        Budget.of({"identity_min": 1.5}, "budget", aliases={"identity_min": "identity"})


def test_worst_follows_each_measures_direction_and_skips_unknown_measures():
    from retouch.measure import worst
    metrics = {"faces": [{"identity": 0.95, "skin_de_mean": 1.0, "old_measure": 3},
                         {"identity": 0.91, "skin_de_mean": 0.5}], "frame": {"spill": 0.001}}
    assert worst(metrics) == {"identity": 0.91, "skin_de_mean": 1.0, "spill": 0.001}
