"""The protocol's results as people read them: a Markdown table, a figure, and the course's quality bar.

Each takes the summary of :func:`~fewshot_lib.evaluate.protocol.summarize` (one entry per
(variant, T): the number of videos, each metric's mean and standard error ``*_sem``):

* :func:`format_table`: one row per T, one column per (metric, variant), mean ± standard error,
  as in the paper's Table 1 (Zakharov et al. 2019, Sec. 4.1);
* :func:`plot_summary`: each metric against T for each variant;
* :func:`quality_bar`: the claims the course checks (more shots help; fine-tuning helps), each ✓, tie or ✗
  from a paired comparison over the videos (it takes the rows, not the summary).

:func:`write_json` is how the measurement commands (``fewshot model-card``, ``fewshot identity-leak``) write
their results, after :func:`~fewshot_lib.errors.output_path` has refused an existing file: never half a file.

Introduced in notebook 08; ``fewshot evaluate`` writes all three.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..atomic import atomic_write
from .protocol import BASELINES, VARIANTS


def _lookup(summary, variant: str, T: int) -> dict[str, Any] | None:
    return next((s for s in summary if s["variant"] == variant and s["T"] == T), None)


def format_table(summary: Sequence[dict[str, Any]], metrics: Sequence[str] = ("SSIM", "PSNR", "CSIM", "LPIPS")) -> str:
    """A Markdown table: one row per T, one column per (metric, variant); mean ± standard error."""
    variants = list(dict.fromkeys(s["variant"] for s in summary))
    metrics = [m for m in metrics if any(m in s for s in summary)]
    header = ["T"] + [f"{m} {v}" for m in metrics for v in variants]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for T in sorted({s["T"] for s in summary}):
        cells = [str(T)]
        for metric in metrics:
            for variant in variants:
                s = _lookup(summary, variant, T)
                digits = 2 if metric == "PSNR" else 3
                found = s is not None and metric in s
                cells.append(f"{s[metric]:.{digits}f} ± {s[metric + '_sem']:.{digits}f}" if found else "—")
        lines.append("| " + " | ".join(cells) + " |")
    videos = {s["videos"] for s in summary}
    lines.append(f"\n(mean ± standard error over {'/'.join(map(str, sorted(videos)))} videos; "
                 "SSIM, CSIM: higher is better; PSNR in dB: higher is better; LPIPS: lower is better)")
    return "\n".join(lines)


def plot_summary(summary: Sequence[dict[str, Any]], metrics: Sequence[str] = ("SSIM", "PSNR", "CSIM")):
    """One panel per metric: the metric against T (log scale) for each variant, with standard errors."""
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if any(m in s for s in summary)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for variant in dict.fromkeys(s["variant"] for s in summary):
            points = sorted((s["T"], s[metric], s[f"{metric}_sem"]) for s in summary
                            if s["variant"] == variant and metric in s)
            T, mean, sem = zip(*points)
            style = "--" if variant in BASELINES else "-"
            ax.errorbar(T, mean, yerr=sem, marker="o", linestyle=style, capsize=3, label=variant)
        ax.set(xscale="log", xlabel="T (few-shot frames)", title=metric)
        ax.minorticks_off()
        ax.set_xticks(sorted({s["T"] for s in summary}), [str(t) for t in sorted({s["T"] for s in summary})])
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


CONFIDENCE = 2.0
"""A claim's verdict needs its mean paired difference to exceed this many standard errors (≈ 95 %)."""


def _paired(rows: Sequence[dict[str, Any]], a: tuple[str, int], b: tuple[str, int], metric: str):
    """Per-video differences ``metric(a) − metric(b)`` over the videos that have both: (mean, standard error, n)."""
    by = {key: {r["video"]: r[metric] for r in rows if (r["variant"], r["T"]) == key and metric in r} for key in (a, b)}
    videos = sorted(set(by[a]) & set(by[b]))
    d = np.array([by[a][v] - by[b][v] for v in videos], dtype=np.float64)
    if len(d) == 0:
        return None
    sem = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("inf")
    return float(d.mean()), sem, len(d)


def quality_bar(rows: Sequence[dict[str, Any]], metric: str = "SSIM",
                confidence: float = CONFIDENCE) -> dict[str, str]:
    """The course's claims, each judged ``"✓"``, ``"tie"`` or ``"✗"`` on the rows of :func:`self_reenactment`.

    Claims: each variant's ``metric`` rises from each T to the next ("T=8 beats T=1 (V)"; from T = 8 upwards
    not falling is enough: "T=32 at least as good as T=8 (V)"), and fine-tuning beats feed-forward at every
    T ("FT beats FF at T=t"). Each is a **paired** comparison over the videos (the same test frames on both
    sides): the mean d̄ of the per-video differences against its standard error s. "Beats": ✓ when
    d̄ > ``confidence``·s, ✗ when d̄ < −``confidence``·s, else "tie" (a gain of 0.001 is not a win). "At least
    as good": ✗ only when d̄ < −``confidence``·s. With one video there is no standard error: every verdict is
    "tie" unless the claim is "at least as good".
    """
    shots = sorted({r["T"] for r in rows})
    checks = {}

    def judge(name: str, a: tuple[str, int], b: tuple[str, int], strict: bool) -> None:
        found = _paired(rows, a, b, metric)
        if found is None:
            return
        mean, sem, _ = found
        if mean < -confidence * sem:
            checks[name] = "✗"
        elif not strict or mean > confidence * sem:
            checks[name] = "✓"
        else:
            checks[name] = "tie"

    for variant in VARIANTS:
        for a, b in zip(shots, shots[1:]):
            strict = a < 8
            judge(f"T={b} {'beats' if strict else 'at least as good as'} T={a} ({variant})", (variant, b), (variant, a),
                  strict)
    for T in shots:
        judge(f"FT beats FF at T={T}", ("FT", T), ("FF", T), strict=True)
    return checks


# ------------------------------------------------------------------------------------ result files
def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` (folders made as needed), atomically."""
    path = Path(path)
    with atomic_write(path) as f:
        f.write(json.dumps(data, indent=2).encode())
    return path
