"""`make test`: the suite as PROCESSES pytest processes at once (2 on a machine of 2 or more
cores), each on its share of the test files: one process keeps about 1.3 of 2 cores busy
(measured over a minute of the side-by-side tests: the originals run on one thread per op,
and the tests' small models step mostly in Python). Files go to the least loaded process,
longest first, by SECONDS. The first process prints as it runs; the others' output follows
when each ends. Exit status: the first non-zero one among the processes (pytest's own: 1 for
failures), 5 when none collected a test; the tests' tmp_path folders are kept where one
failed.

    python tests/parallel.py [pytest arguments]   (PROCESSES=1: one plain pytest run)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Rough seconds per file on the project's Intel Xeon (2 cores, one process, 2026-12-06), only
# to balance the processes; a file not listed counts DEFAULT.
SECONDS = {
    "test_sidebyside.py": 740, "test_reliability.py": 330, "test_resume.py": 215,
    "test_flags.py": 190, "test_distribution.py": 125, "test_serve.py": 90,
    "test_evaluation.py": 77, "test_pix2pix.py": 62, "test_dcgan.py": 59,
    "test_import_acgan_ogan.py": 57, "test_bench.py": 57, "test_import_pix2pix.py": 46,
    "test_import_dcgan.py": 38, "test_ogan.py": 25, "test_precision_strategy.py": 21,
    "test_float64.py": 20, "test_acgan.py": 15, "test_old_frameworks.py": 13,
}
DEFAULT = 5


def seconds(path):
    return SECONDS.get(os.path.basename(path), DEFAULT)


def shares(files, count):
    """`files` in `count` lists of about equal seconds (greedy, longest first), none empty."""
    loads = [[0, []] for _ in range(count)]
    for path in sorted(files, key=seconds, reverse=True):
        load = min(loads, key=lambda entry: entry[0])
        load[0] += seconds(path)
        load[1].append(path)
    return [sorted(share) for _, share in loads if share]


def combined_status(statuses):
    """The run's exit status from its processes': the first failure's; 5 (pytest's "collected
    nothing") only when every process collected nothing, since -k can leave one without tests."""
    if set(statuses) == {5}:
        return 5
    return next((status for status in statuses if status not in (0, 5)), 0)


def main(argv):
    count = int(os.environ.get("PROCESSES", min(2, os.cpu_count() or 1)))
    files = sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    base = tempfile.mkdtemp(prefix="gan-tests-")
    started, processes = time.time(), []
    for k, share in enumerate(shares(files, max(1, count))):
        # each its own --basetemp: two pytest processes never number tmp_path folders together
        command = [sys.executable, "-m", "pytest", *argv, f"--basetemp={base}/{k}", *share]
        log = None if k == 0 else open(os.path.join(base, f"{k}.log"), "w+")
        processes.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log))
    statuses = []
    try:
        for process, log in processes:
            statuses.append(process.wait())
            if log is not None:
                log.seek(0)
                print(f"\n---- pytest process {len(statuses)} of {len(processes)} ----",
                      flush=True)
                sys.stdout.write(log.read())
                log.close()
    except KeyboardInterrupt:  # Ctrl-C reached the pytest processes too: let them end
        for process, _ in processes:
            process.wait()
        return 130
    status = combined_status(statuses)
    print(f"\n{len(processes)} pytest processes in {time.time() - started:.0f} s, exit "
          f"statuses {statuses}" + (f"; their tmp_path folders are in {base}" if status else ""),
          flush=True)
    if not status:
        shutil.rmtree(base, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
