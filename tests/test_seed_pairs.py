"""`seed_pairs`: the one definition of "model minus baseline, seed by seed" (report and card)."""

import pytest

from multimodal_sentiment.seed_pairs import metric_by_seed, seed_differences


def run(seed, accuracy, ece_after=None):
    record = {"seed": seed, "metrics": {"accuracy": accuracy}}
    if ece_after is not None:
        record["calibration"] = {"ece_before": 0.1, "ece_after": ece_after}
    return record


def test_differences_pair_only_the_seeds_both_have_in_seed_order():
    ours = [run(3, 0.73), run(1, 0.71), run(None, 0.99), run(4, 0.70)]
    baseline = [run(1, 0.70), run(3, 0.74), run(None, 0.10), run(2, 0.60)]
    differences = seed_differences(ours, baseline, "accuracy")
    assert list(differences) == [1, 3]  # seed 2 and 4 lack a partner; unseeded runs cannot be paired
    assert differences[1] == pytest.approx(1.0) and differences[3] == pytest.approx(-1.0)  # points


def test_ece_is_the_calibrated_fraction_and_uncalibrated_runs_are_left_out():
    runs = [run(1, 0.7, ece_after=0.03), run(2, 0.7)]
    assert metric_by_seed(runs, "ece") == {1: 0.03}
    assert metric_by_seed(runs, "accuracy") == {1: pytest.approx(70.0), 2: pytest.approx(70.0)}
    assert metric_by_seed(runs, "f1_macro") == {}
