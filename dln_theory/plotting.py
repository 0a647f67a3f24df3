"""One figure style for the project (style.md, "Figures").

The Okabe–Ito colour-blind-safe palette, mathtext labels, single-column width (3.4 in) by
default, and `save` writing PNG (200 dpi) and PDF side by side, byte for byte the same on every
run (no creation date in the PDF). Importing this module changes no global state: figures are
`matplotlib.figure.Figure` objects drawn by the Agg canvas (no pyplot, no backend switch), and the
style (`STYLE`) is in force only inside `style()`, which `figure`, `save` and
`dln_theory.figures.render` enter.

    from dln_theory import plotting
    with plotting.style():
        fig, axes = plotting.figure(ncols=2)
        axes[0].plot(x, y, color=plotting.color(0))
        plotting.save(fig, "figures/kernel_rich")
"""

import contextlib
import logging
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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

#: PDF metadata without the creation date, so a regenerated PDF is identical to the committed one.
PDF_METADATA = {"CreationDate": None}


@contextlib.contextmanager
def style():
    """Apply `STYLE` to the figures created and saved inside the block; restore rcParams after.

    fontTools' harmless warnings about the DejaVu fonts' timestamps (PDF embedding) are silenced
    inside the block only.
    """
    fonttools = logging.getLogger("fontTools")
    level = fonttools.level
    fonttools.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context(STYLE):
            yield
    finally:
        fonttools.setLevel(level)


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
    with style():
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, **kwargs)
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
    """Write ``<path_stem>.png`` (``dpi``) and ``<path_stem>.pdf`` in the project style.

    Returns the two paths. Parent folders are created. The PDF carries no creation date, so
    saving the same figure twice gives the same bytes.
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.pdf"]
    with style():
        fig.savefig(paths[0], dpi=dpi)
        fig.savefig(paths[1], metadata=PDF_METADATA)
    return paths
