"""One figure style for the project (style.md, "Figures").

Agg backend, the Okabe–Ito colour-blind-safe palette, mathtext labels, single-column width
(3.4 in) by default, and `save` writing PNG (200 dpi) and PDF side by side.

    from dln_theory import plotting
    fig, axes = plotting.figure(ncols=2)
    axes[0].plot(x, y, color=plotting.color(0))
    plotting.save(fig, "figures/kernel_rich")
"""

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

#: Okabe & Ito (2008) palette without black: orange, sky blue, bluish green, yellow, blue,
#: vermillion, reddish purple. Distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
#: Order in which series take colours: the yellow is moved last (weak contrast on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: Grey used for reference lines (min-ℓ1, min-ℓ2 levels, thresholds).
REFERENCE = "0.45"

COLUMN_WIDTH = 3.4  # inches: one column of a two-column paper
FULL_WIDTH = 7.0  # inches: both columns

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 6.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "mathtext.fontset": "cm",
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "figure.dpi": 100,
    "pdf.fonttype": 42,
}

matplotlib.rcParams.update(STYLE)
# fontTools logs harmless warnings about the DejaVu fonts' timestamps when embedding them in PDFs.
logging.getLogger("fontTools").setLevel(logging.ERROR)


def color(i: int) -> str:
    """The i-th series colour (cycles)."""
    return PALETTE[i % len(PALETTE)]


def marker(i: int) -> str:
    """The i-th series marker (cycles): pair with `color` so series differ in two ways."""
    return MARKERS[i % len(MARKERS)]


def figure(nrows: int = 1, ncols: int = 1, width: float | None = None, aspect: float = 0.75,
           **kwargs):
    """A figure with a grid of axes sized for print.

    Args:
        nrows, ncols: the axes grid; the returned ``axes`` is a flat array when it has > 1 entry.
        width: inches; default one column (3.4 in) for one panel, both columns (7 in) otherwise.
        aspect: panel height / panel width.
    """
    if width is None:
        width = COLUMN_WIDTH if ncols == 1 else FULL_WIDTH
    height = width / ncols * aspect * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kwargs)
    return fig, (np.ravel(axes) if nrows * ncols > 1 else axes)


def panel_label(ax, label: str) -> None:
    """A bold "(a)"-style label in the upper-left corner, outside the data area."""
    ax.set_title(f"({label})", loc="left", fontweight="bold")


def reference_line(ax, y, label=None, style="--", **kwargs):
    """A horizontal grey reference level (e.g. the min-ℓ1 test error)."""
    return ax.axhline(y, color=kwargs.pop("color", REFERENCE), ls=style, lw=0.9, label=label, **kwargs)


def log_ticks(axis, subs=(1.0, 2.0, 5.0)) -> None:
    """Label a log axis at 1, 2, 5 × 10^k in plain numbers (for ranges of about one decade)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def placeholder(ax, text: str) -> None:
    """Fill ``ax`` with a centred message (figures whose data are not available)."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)


def save(fig, path_stem, dpi: int = 200) -> list[Path]:
    """Write ``<path_stem>.png`` (``dpi``) and ``<path_stem>.pdf``; close the figure.

    Returns the two paths. Parent folders are created.
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.pdf"]
    fig.savefig(paths[0], dpi=dpi)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths
