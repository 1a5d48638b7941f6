"""tests/parallel.py, which `make test` runs: how it shares the files and reads the statuses."""
import parallel


def test_shares_balance_the_seconds_longest_first():
    files = [f"/t/test_{name}.py" for name in ("sidebyside", "reliability", "resume", "flags",
                                               "color", "grid")]
    first, second = parallel.shares(files, 2)
    assert "/t/test_sidebyside.py" in first and len(first) + len(second) == len(files)
    loads = [sum(map(parallel.seconds, share)) for share in (first, second)]
    assert abs(loads[0] - loads[1]) <= parallel.SECONDS["test_flags.py"]
    assert parallel.shares(files[:1], 2) == [files[:1]]  # no empty process


def test_a_failure_decides_the_status_and_nothing_collected_only_when_everywhere():
    assert parallel.combined_status([0, 0]) == 0
    assert parallel.combined_status([0, 1]) == 1
    assert parallel.combined_status([5, 0]) == 0  # -k left one process without tests
    assert parallel.combined_status([5, 2]) == 2
    assert parallel.combined_status([5, 5]) == 5
