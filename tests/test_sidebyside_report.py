"""sidebyside's statistics over runs (the equivalence test on numbers worked by hand) and its
printed summaries."""
import pytest

from sidebyside import report


def runs(original, port):
    return [{"original": o, "port": p} for o, p in zip(original, port)]


def test_equivalent_when_the_interval_lies_inside_the_margin():
    # differences 0.1, -0.1, 0.0, 0.05, -0.05: mean 0, sd 0.079; t(0.95, 4) = 2.132, so the
    # 90% interval is +-0.0754, inside the original's own spread (sd of 10, 12, 14, 11, 13 =
    # 1.58)
    summary = report.equivalence(runs([10, 12, 14, 11, 13],
                                      [10.1, 11.9, 14.0, 11.05, 12.95]))
    assert summary["verdict"] == "equivalent" and summary["exit_status"] == 0
    assert summary["margin"] == pytest.approx(1.5811, abs=1e-4)
    assert summary["difference"]["ci90"] == pytest.approx([-0.0754, 0.0754], abs=1e-4)


def test_different_when_the_interval_excludes_zero_and_leaves_the_margin():
    summary = report.equivalence(runs([10, 10.2, 9.8, 10.1], [15, 15.3, 14.9, 15.1]))
    assert summary["verdict"] == "different" and summary["exit_status"] == 1


def test_undecided_says_how_many_runs_would_decide():
    # differences 1, -1, 2, -2 (mean 0, sd 1.826) against a margin of 1.5: the interval
    # (+-2.15) holds 0 and leaves the margin; at this spread (1.645 x 1.826 / 1.5)^2 = 4.01
    # -> 5 runs would decide
    summary = report.equivalence(runs([10, 10, 10, 10], [11, 9, 12, 8]), margin=1.5)
    assert summary["verdict"] == "undecided" and summary["exit_status"] == 3
    assert summary["runs_needed"] == 5


def test_one_run_cannot_be_tested():
    with pytest.raises(ValueError):
        report.equivalence(runs([1], [2]))


def test_a_long_runs_batch_sizes_are_cut_and_counted():
    from sidebyside.programs.ogan import listed
    assert listed([8, 8, 4]) == "[8, 8, 4]"
    assert listed([8, 8, 4] * 10, shown=6) == \
        "[8, 8, 4, 8, 8, 4, ...] (30 batches: 10 of 4, 20 of 8)"
