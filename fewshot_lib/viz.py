"""Figures the notebooks share (the method diagram, image grids, training curves)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

# (label, x, y, colour) of each box in the method diagram, in axes units (0..16 x 0..9).
_BOXES = {
    "frames": ("K frames + sketches\n$(x_k, y_k)$", 1.9, 7.0, "#dde8f7"),
    "E": ("Embedder $E$\n$\\hat e = \\frac{1}{K}\\sum_k E(x_k, y_k)$", 5.6, 7.0, "#f7d9c4"),
    "P": ("$\\hat\\psi = P\\,\\hat e$\n(AdaIN params)", 9.6, 7.0, "#f7ecc4"),
    "sketch": ("target sketch $y_t$", 5.6, 4.0, "#dde8f7"),
    "G": ("Generator $G(y_t, \\hat\\psi)$\nAdaIN decoder", 9.6, 4.0, "#d4efd0"),
    "D": ("Discriminator $D$\n$r = v^\\top(W_i + w_0) + b$", 13.9, 4.0, "#e9d5f2"),
    "target": ("real frame $x_t$", 13.9, 7.0, "#dde8f7"),
    "meta": ("Stage 1 · meta-learning on many videos:\nE, G, P, D and W trained together", 4.0, 1.2, "#eeeeee"),
    "ft": ("Stage 2 · fine-tuning on T frames of a new person:\n$\\psi' = P\\,\\hat e_{new}$, $w' = w_0 + \\hat e_{new}$, E dropped", 12.0, 1.2, "#eeeeee"),
}
_ARROWS = [("frames", "E"), ("E", "P"), ("P", "G"), ("sketch", "G"), ("G", "D"), ("target", "D"), ("meta", "ft")]


def draw_method_overview(ax=None):
    """The paper's method on one figure: E → ψ̂ = P·ê → G(y, ψ̂) → D, and the two training stages."""
    if ax is None:
        _, ax = plt.subplots(figsize=(13, 7))
    ax.set(xlim=(0, 16), ylim=(0, 9))
    ax.axis("off")
    for label, x, y, colour in _BOXES.values():
        width = 6.6 if "Stage" in label else 3.3
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.8), width, 1.6, boxstyle="round,pad=0.1",
                                    facecolor=colour, edgecolor="#555555"))
        ax.text(x, y, label, ha="center", va="center", fontsize=10)
    for start, end in _ARROWS:
        (_, x0, y0, _), (_, x1, y1, _) = _BOXES[start], _BOXES[end]
        horizontal = abs(y1 - y0) < 0.1
        dx = 0 if not horizontal else (1.75 if "Stage" not in _BOXES[start][0] else 3.4)
        dy = 0 if horizontal else 0.9
        ax.add_patch(FancyArrowPatch((x0 + dx, y0 - dy * (y1 < y0)), (x1 - dx, y1 + dy * (y1 < y0)),
                                     arrowstyle="-|>", mutation_scale=18, color="#333333"))
    ax.set_title("Few-shot talking heads (Zakharov et al., ICCV 2019)", fontsize=13)
    return ax


def draw_episodic_training(ax=None):
    """Meta-learning as episodes: training mimics the test-time task many times over, then two ways to adapt.

    Top row: training episodes, each K frames and a target of one video (the "task" of one person). Bottom
    row: a new person at test time, adapted either by one forward pass of E (feed-forward, *amortised*
    adaptation) or by gradient steps from the meta-learned weights (fine-tuning, *optimisation-based*).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(13, 5.4))
    ax.set(xlim=(0, 16), ylim=(-0.3, 7))
    ax.axis("off")
    boxes = [  # (label, x, y, width, colour)
        ("episode of video 1\nK frames → target", 2.0, 5.6, 3.2, "#dde8f7"),
        ("episode of video 2\nK frames → target", 5.6, 5.6, 3.2, "#dde8f7"),
        ("… millions of episodes,\nthousands of people", 9.2, 5.6, 3.2, "#dde8f7"),
        ("meta-learned\nE, G, P, D", 13.6, 5.6, 2.8, "#f7d9c4"),
        ("new person:\nT frames (T = 1: a photo)", 2.6, 1.6, 4.0, "#d4efd0"),
        ("feed-forward (FF): ê = E(frames)\none pass · amortised adaptation", 8.6, 2.6, 5.6, "#f7ecc4"),
        ("fine-tuning (FT): gradient steps on\nthe T frames · optimisation-based", 8.6, 0.7, 5.6, "#f7ecc4"),
        ("a talking head\nof the new person", 13.9, 1.6, 2.6, "#e9d5f2"),
    ]
    for label, x, y, width, colour in boxes:
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.65), width, 1.3, boxstyle="round,pad=0.1",
                                    facecolor=colour, edgecolor="#555555"))
        ax.text(x, y, label, ha="center", va="center", fontsize=9.5)
    arrows = [((3.6, 5.6), (4.0, 5.6)), ((7.2, 5.6), (7.6, 5.6)), ((10.8, 5.6), (12.2, 5.6)),
              ((4.6, 1.9), (5.8, 2.5)), ((4.6, 1.3), (5.8, 0.8)), ((11.4, 2.5), (12.6, 1.9)),
              ((11.4, 0.8), (12.6, 1.3)), ((13.6, 4.9), (13.6, 2.3))]
    for start, end in arrows:
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16, color="#333333"))
    ax.text(0.2, 6.75, "meta-learning: every episode is a small few-shot task", fontsize=10.5, weight="bold")
    ax.text(0.2, 3.55, "test time: adapt to a person never seen", fontsize=10.5, weight="bold")
    return ax


def to_image(x):
    """A tensor image in [-1, 1] (3, H, W) → numpy uint8 (H, W, 3), for plotting."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def sample_grid(batch: dict, columns=("target", "target_sketch", "x_hat"),
                titles=("target $x_t$", "sketch $y_t$", "generated $\\hat x$")):
    """One row per episode: the real target, its sketch, the generated frame (and more columns)."""
    rows = len(batch[columns[0]])
    fig, axes = plt.subplots(rows, len(columns), figsize=(1.8 * len(columns), 1.8 * rows), squeeze=False)
    for r in range(rows):
        for c, key in enumerate(columns):
            axes[r, c].imshow(to_image(batch[key][r]))
            axes[r, c].axis("off")
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=9)
    fig.tight_layout()
    return fig


# The y-axis label of each logged quantity: its name and what it is measured in. The losses are
# λ-weighted sums and means of differences between images, features or embeddings: pure numbers.
LOG_LABELS = {
    "L_CNT": "$\\mathcal{L}_{CNT}$, λ-weighted L1 (unitless)",
    "L_ADV": "$\\mathcal{L}_{ADV}$ (unitless)",
    "L_MCH": "$\\mathcal{L}_{MCH}$, λ × L1 over N (unitless)",
    "L_DSC": "$\\mathcal{L}_{DSC}$, hinge (unitless)",
    "loss_G": "E/G loss, all terms (unitless)",
    "D_real": "score r of real $x_t$ (unitless)",
    "D_fake": "score r of $\\hat x$ (unitless)",
}
STEP_LABEL = "training step (iterations)"


def smooth(values, window: int = 11) -> np.ndarray:
    """A centred rolling mean of a curve: the trend of noisy values, e.g. the losses of a GAN run.

    Each value becomes the mean of the ``window`` values centred on it (``window // 2`` before, as many after;
    an even ``window`` is widened by one so that it stays centred; ``window=1`` returns the values). Near the two
    ends only the values that exist are averaged (fewer of them; no padding), so the result has the input's
    length and never leaves the range of the data. Unlike an exponential moving average, a centred mean does not
    lag: the trend is drawn over the steps it summarises. One NaN spoils only the ``window`` values around it.

    >>> smooth([0, 0, 0, 3, 3, 3], window=3).tolist()
    [0.0, 0.0, 1.0, 2.0, 3.0, 3.0]
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"smooth needs a 1-D sequence of values, got shape {values.shape}")
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a whole number of steps >= 1, got {window!r}")
    half, n = int(window) // 2, len(values)
    if n == 0:
        return values
    kernel = np.ones(2 * half + 1)
    totals = np.convolve(values, kernel)[half:half + n]                 # sums over the centred windows
    counts = np.convolve(np.ones(n), kernel)[half:half + n]             # how many values each window holds
    return totals / counts


def default_window(points: int) -> int:
    """The smoothing window :func:`plot_losses` uses for ``points`` logged values: about a tenth, odd, >= 1."""
    return max(1, points // 10) | 1


def plot_smoothed(ax, x, values, window: int = 11, label: str | None = None, color=None, linestyle="-"):
    """Draw ``values`` against ``x`` on ``ax``: the raw values faint, their :func:`smooth` trend bold, one colour.

    Returns the bold line (its label, if given, is the one a legend shows).
    """
    values = np.asarray(values, dtype=float)
    raw, = ax.plot(x, values, linestyle, color=color, alpha=0.25, lw=0.8)
    trend, = ax.plot(x, smooth(values, window), linestyle, color=raw.get_color(), lw=2, label=label)
    return trend


def plot_losses(rows: list[dict], keys=("L_CNT", "L_ADV", "L_MCH", "L_DSC"), window: int | None = None):
    """Training curves from the logged rows: one panel per loss term present.

    Each panel shows the logged values faint and their centred rolling mean (:func:`smooth`) over ``window``
    logged rows bold (default :func:`default_window`: about a tenth of the rows). The x axis is the training step,
    the y axis names the term and its unit (:data:`LOG_LABELS`).
    """
    keys = [k for k in keys if k in rows[0]]
    window = default_window(len(rows)) if window is None else window
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 2.8), squeeze=False)
    steps = [row["step"] for row in rows]
    for ax, key in zip(axes[0], keys):
        plot_smoothed(ax, steps, [row[key] for row in rows], window, label=f"rolling mean of {window}")
        ax.set(title=key, xlabel=STEP_LABEL, ylabel=LOG_LABELS.get(key, key))
        ax.yaxis.label.set_fontsize(8)
    axes[0, 0].plot([], [], color="C0", alpha=0.25, lw=0.8, label="each logged step")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
