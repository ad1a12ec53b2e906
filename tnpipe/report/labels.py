"""Point labels that cannot overlap: a column of labels beside the axes, joined to their
points by leader lines.

Why not nudge labels among the points: adjustText (the usual library) is not a dependency
of tnpipe, and any repulsion inside the data area can still cover another point or the
legend. A label column outside the axes never covers a point, and stacking labels at a
fixed minimum spacing (a 1-D spread, sorted by the points' heights so that leader lines
rarely cross) is deterministic and guarantees no two labels overlap.
"""

from __future__ import annotations

from collections.abc import Sequence


def spread(targets: Sequence[float], gap: float, lo: float = 0.0, hi: float = 1.0) -> list[float]:
    """Positions as close to `targets` as possible, each at least `gap` from the next, in
    [lo, hi] when they fit (n * gap <= hi - lo); returned in the order of `targets`.

    Two passes over the sorted targets: push up to make room, then push down from `hi`."""
    order = sorted(range(len(targets)), key=lambda i: (targets[i], i))
    pos = [min(max(targets[i], lo), hi) for i in order]
    for k in range(1, len(pos)):
        pos[k] = max(pos[k], pos[k - 1] + gap)
    if pos and pos[-1] > hi:
        pos[-1] = hi
        for k in range(len(pos) - 2, -1, -1):
            pos[k] = min(pos[k], pos[k + 1] - gap)
    if pos and pos[0] < lo:   # more labels than fit: spread them evenly over the whole column
        step = (hi - lo) / max(1, len(pos) - 1)
        pos = [lo + k * step for k in range(len(pos))]
    out = [0.0] * len(pos)
    for k, i in enumerate(order):
        out[i] = pos[k]
    return out


def darker(colour, factor: float = 0.7) -> tuple[float, float, float]:
    """The colour at `factor` of its brightness: pale palette colours (olive, cyan) stay
    readable as 7-point text on white."""
    from matplotlib.colors import to_rgb

    return tuple(factor * c for c in to_rgb(colour))


def label_column(ax, points: Sequence[tuple[float, float, str, object]], fontsize: float = 7.5,
                 x_text: float = 1.03) -> list:
    """Label each (x, y, text, colour) data point of `ax` in a column right of the axes.

    Call after the axes' limits are final: the points are placed through its transforms."""
    if not points:
        return []
    fig = ax.figure
    fig.canvas.draw_idle()
    height_pt = ax.get_window_extent().height * 72.0 / fig.dpi
    gap = 1.45 * fontsize / height_pt                    # one text line, in axes fraction
    to_axes = ax.transData + ax.transAxes.inverted()
    targets = [float(to_axes.transform((x, y))[1]) for x, y, _, _ in points]
    ys = spread(targets, gap, lo=0.5 * gap, hi=1.0 - 0.5 * gap)
    texts = []
    for (x, y, text, colour), ly in zip(points, ys, strict=True):
        texts.append(ax.annotate(
            text, xy=(x, y), xycoords="data", xytext=(x_text, ly), textcoords="axes fraction",
            fontsize=fontsize, va="center", ha="left", color=darker(colour), annotation_clip=False,
            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6, "alpha": 0.7,
                        "shrinkA": 0, "shrinkB": 3, "connectionstyle": "arc3"}))
    return texts
