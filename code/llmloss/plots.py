"""One figure style for the whole book: labelled axes, no Chinese characters,
PNG output."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
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
    """Apply the book's figure style to matplotlib's global settings."""
    mpl.rcParams.update(STYLE)


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.4, height: float = 3.6):
    """A styled figure with a grid of axes: ``fig, axes = new_figure(2)``."""
    if ncols < 1 or nrows < 1:
        raise ValueError(f"ncols and nrows must be >= 1, got ncols={ncols}, nrows={nrows}")
    use_book_style()
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained")
