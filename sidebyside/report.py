"""What a side-by-side run reports: results.json, the picture of the samples, and for --runs
the outcomes over the runs (each program's mean and spread, the paired differences, the
equivalence test) with a picture of both programs' loss curves.
"""
import json
import os

import numpy as np
from scipy import stats

from common.grid import merge, save_grid

ALPHA = 0.05  # each one-sided test of TOST: a 90% confidence interval


def write_results(results, output_dir):
    """results.json: every compared value and the verdict, for tests and scripts to read."""
    with open(os.path.join(output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)


def write_picture(program, model, workdir, output_dir):
    """side_by_side.png: the original's samples (left) beside the port's (right), same latents;
    returns (its path, the largest difference between the two programs' samples)."""
    latents = np.load(os.path.join(workdir, "latents.npy"))
    theirs = np.load(os.path.join(workdir, "samples.npy"))
    mine = np.asarray(program.samples(model, latents))
    low, high = program.VALUE_RANGE
    side = int(np.ceil(np.sqrt(len(mine))))
    grids = [merge(np.clip(images, low, high), (side, side)) for images in (theirs, mine)]
    gap = np.full((grids[0].shape[0], 8, grids[0].shape[2]), high, grids[0].dtype)
    path = os.path.join(output_dir, "side_by_side.png")
    save_grid(np.concatenate([grids[0], gap, grids[1]], axis=1)[None], path, (1, 1),
              value_range=(low, high))
    return path, float(np.max(np.abs(theirs - mine)))


def print_losses(rows, every=1, floors=True):
    """The table of losses per step (every `every` steps, and every diverged row); `floors`
    False leaves out the float32 floor (statistical mode has none: dropout masks differ). With
    a float64 reference: its value, the original's distance from it, the port runs'."""
    reference = floors and "float64" in rows[0]
    print(f"\n{'step':>5s} | {'loss':<22s} | {'original':>14s} | {'port':>14s} | rel. diff"
          + (" | float32 floor" if floors else "")
          + (f" | {'float64':>14s} | orig. - f64 | port - f64" if reference else ""))
    for row in rows:
        if row["step"] % every == 0 or row["step"] == 1 or row["diverged"]:
            print(f"{row['step']:5d} | {row['loss']:<22s} | {row['original']:14.8f} | "
                  f"{row['port']:14.8f} | {row['rel']:.2e}"
                  + (f"  | {row['floor']:.2e}" if floors else "")
                  + (f"      | {row['float64']:14.8f} | {row['original_error']:.2e}    | "
                     f"{row['float32_error']:.2e}" if reference else "")
                  + ("  <-" if row["diverged"] else ""))


def print_first_evaluation(evaluation, ratio):
    if not evaluation:
        return
    print("\nfirst evaluation, before any update: |original - float64|, "
          "|port - float64| (relative)")
    for name, (original, port, exact, error) in evaluation.items():
        print(f"  {name:<34s} {relative(original, exact):.2e}  "
              f"{error / max(abs(exact), 1e-30):.2e}")
    print(f"the original's float32 rounding there: {ratio:.1f}x the port's"
          + (f"; the floor adds runs from weights moved by {ratio:.1f} rounding steps"
             if ratio > 1 else ""))


def print_variables(rows):
    """Prints the variables; returns the name of the first beyond its tolerance (or None)."""
    reference = rows and "original_error" in rows[0]
    print(f"\nafter the last step, {len(rows)} variables: largest |port - original| / scale; "
          "L2 of port - original / L2 of the original's change; the same for the float32 floor"
          + ("; L2 of original - float64 and the largest of the port runs' (same scale)"
             if reference else ""))
    for row in rows:
        print(f"  {row['name']:<56s} {row['max_rel']:.2e}  {row['l2']:.2e}  {row['floor']:.2e}"
              + (f"  {row['original_error']:.2e}  {row['float32_error']:.2e}" if reference
                 else "") + ("  <-" if row["diverged"] else ""))
    return next((row["name"] for row in rows if row["diverged"]), None)


def relative(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def equivalence(scores, margin=None):
    """Outcomes over runs: `scores`, one {"original": s, "port": s} per run (each run a fresh
    original and the port from its weights, so the pairs share their start).

    Each program's mean and standard deviation; the paired differences port - original, their
    mean and 90% confidence interval (Student's t); and two one-sided tests (TOST, each at
    ALPHA = 0.05) against the margin: by default the original's own run-to-run standard
    deviation, the spread a rerun of the tutorial itself shows. Equivalent (exit status 0) when
    the interval lies inside (-margin, margin); a difference shown (1) when it excludes 0 and
    is not inside; else undecided (3), with the number of runs that would decide at the spread
    seen."""
    original = np.array([run["original"] for run in scores], np.float64)
    port = np.array([run["port"] for run in scores], np.float64)
    n = len(scores)
    if n < 2:
        raise ValueError("an equivalence test needs two runs or more")
    differences = port - original
    mean, sd = float(np.mean(differences)), float(np.std(differences, ddof=1))
    t = float(stats.t.ppf(1 - ALPHA, n - 1))
    low, high = mean - t * sd / np.sqrt(n), mean + t * sd / np.sqrt(n)
    margin = float(margin if margin is not None else np.std(original, ddof=1))
    summary = {
        "original": {"mean": float(np.mean(original)), "std": float(np.std(original, ddof=1))},
        "port": {"mean": float(np.mean(port)), "std": float(np.std(port, ddof=1))},
        "difference": {"mean": mean, "std": sd, "ci90": [float(low), float(high)]},
        "margin": margin, "runs_needed": None}
    if -margin < low and high < margin:
        summary.update(verdict="equivalent", exit_status=0)
    elif low > 0 or high < 0:
        summary.update(verdict="different", exit_status=1)
    else:
        summary.update(verdict="undecided", exit_status=3)
        room = margin - abs(mean)
        summary["runs_needed"] = (int(np.ceil((stats.norm.ppf(1 - ALPHA) * sd / room) ** 2))
                                  if room > 0 else None)
    return summary


def reported_scores(scores):
    """{name: {side: {mean, std}}} over the runs of each score reported beside the tested one
    (a run's scores entry that is itself {"original": s, "port": s}: class accuracy, SSIM)."""
    names = [name for name, value in scores[0].items() if isinstance(value, dict)]
    return {name: {side: {"mean": float(np.mean([run[name][side] for run in scores])),
                          "std": float(np.std([run[name][side] for run in scores], ddof=1))}
                   for side in ("original", "port")} for name in names}


def print_equivalence(summary):
    o, p, d = summary["original"], summary["port"], summary["difference"]
    print(f"\n{summary['metric']} over the runs: original {o['mean']:.2f} +- {o['std']:.2f}, "
          f"port {p['mean']:.2f} +- {p['std']:.2f}")
    for name, sides in summary["reported"].items():
        print(f"{name.replace('_', ' ')} over the runs (reported): original "
              f"{sides['original']['mean']:.4f} +- {sides['original']['std']:.4f}, port "
              f"{sides['port']['mean']:.4f} +- {sides['port']['std']:.4f}")
    print(f"port - original: {d['mean']:+.2f} +- {d['std']:.2f}, 90% interval "
          f"[{d['ci90'][0]:+.2f}, {d['ci90'][1]:+.2f}]; margin +-{summary['margin']:.2f}")
    verdict = {"equivalent": "equivalent: the interval lies inside the margin",
               "different": "different: the interval excludes 0 and leaves the margin",
               "undecided": "undecided: the interval holds 0 but leaves the margin"}
    print(verdict[summary["verdict"]] + (
        f" (about {summary['runs_needed']} runs would decide at this spread)"
        if summary["runs_needed"] else ""))
    print(f"wrote {summary['picture']}")


def loss_curves(runs, path):
    """runs.png: each loss over the steps, the mean over the runs and a band of one standard
    deviation, the original's and the port's overlaid."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(dict.fromkeys(row["loss"] for row in runs[0]["losses"]))
    figure, axes = plt.subplots(len(names), 1, figsize=(7, 2.2 * len(names)), squeeze=False)
    for axis, name in zip(axes[:, 0], names):
        steps = [row["step"] for row in runs[0]["losses"] if row["loss"] == name]
        for side, colour in (("original", "tab:blue"), ("port", "tab:orange")):
            curves = np.array([[row[side] for row in run["losses"] if row["loss"] == name]
                               for run in runs])
            mean, sd = curves.mean(axis=0), curves.std(axis=0)
            # a loss printed at a few steps only (carpedm20's [Sample]) gets markers
            axis.errorbar(steps, mean, yerr=sd, color=colour, fmt="o", capsize=3,
                          label=f"{side} (mean of {len(runs)})") if len(steps) < 5 else (
                axis.plot(steps, mean, color=colour, label=f"{side} (mean of {len(runs)})"),
                axis.fill_between(steps, mean - sd, mean + sd, color=colour, alpha=0.25))
        axis.set_ylabel(name)
    axes[0, 0].legend()
    axes[-1, 0].set_xlabel("step")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
