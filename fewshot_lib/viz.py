"""Figures the notebooks share (the method diagram, image grids)."""
from __future__ import annotations

import matplotlib.pyplot as plt
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


def plot_losses(rows: list[dict], keys=("L_CNT", "L_ADV", "L_MCH", "L_DSC")):
    """Training curves from the logged rows (one panel per loss term present)."""
    keys = [k for k in keys if k in rows[0]]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.6), squeeze=False)
    steps = [row["step"] for row in rows]
    for ax, key in zip(axes[0], keys):
        ax.plot(steps, [row[key] for row in rows])
        ax.set(title=key, xlabel="step")
    fig.tight_layout()
    return fig
