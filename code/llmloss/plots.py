"""One figure style for the whole book: labelled axes, no Chinese characters,
PNG output at twice the pixel density (crisp on high-density screens and in
print, shown at the figure's size: at most 6.4 in wide)."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "figure.figsize": (6.4, 3.6),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    "font.family": "DejaVu Sans",
}


def use_book_style() -> None:
    """Apply the book's figure style to matplotlib's global settings.

    In a notebook it also makes the inline backend send 'retina' PNGs: twice
    the pixels, displayed at the figure's own size. A saved figure gets
    ``savefig.dpi`` (200).
    """
    mpl.rcParams.update(STYLE)
    _inline_retina()


def _inline_retina() -> None:
    """Select the inline backend's 'retina' format when running in IPython."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: nothing to select
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.4, height: float = 3.6):
    """A styled figure with a grid of axes: ``fig, axes = new_figure(2)``."""
    if ncols < 1 or nrows < 1:
        raise ValueError(f"ncols and nrows must be >= 1, got ncols={ncols}, nrows={nrows}")
    use_book_style()
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained")
