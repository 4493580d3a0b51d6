"""Figures of the governance report, rendered as embedded PNG data URIs.

Every figure is a :class:`matplotlib.figure.Figure` drawn with the Agg canvas (no pyplot
state, no display), saved as PNG without a timestamp or software tag so that the same inputs
give byte-identical images, and embedded as ``data:image/png;base64,...``.
"""

from __future__ import annotations

import base64
import io
import logging

import functools

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
# Fonts with Chinese glyphs, tried after DejaVu Sans for labels such as 关注 / 正常 (first installed wins).
CJK_FONTS = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", "SimHei", "Microsoft YaHei",
             "PingFang SC")


@functools.cache
def _font_rc() -> dict:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    # a list of families makes matplotlib fall back glyph by glyph (matplotlib >= 3.6)
    return {"font.family": ["DejaVu Sans", *[f for f in CJK_FONTS if f in installed]]}
BLUE, RED, GREY, GREEN = "#1f4e79", "#b22222", "#7f7f7f", "#2e7d32"


def _not_a_weight_fallback(record: logging.LogRecord) -> bool:
    # some CJK fonts ship one weight only (WenQuanYi Zen Hei: 500): matplotlib then warns "findfont: Failed to find
    # font weight normal ..., now using 500" for every label, and draws the glyphs in the weight it has
    return not str(record.msg).startswith("findfont: Failed to find font weight")


def _with_fonts(plot):
    """Draw a figure with the CJK-capable font list (labels may be Chinese category names)."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        log = logging.getLogger("matplotlib.font_manager")
        log.addFilter(_not_a_weight_fallback)
        try:
            with matplotlib.rc_context(_font_rc()):
                return plot(*args, **kwargs)
        finally:
            log.removeFilter(_not_a_weight_fallback)

    return wrapper


def new_figure(width: float = 6.4, height: float = 3.6) -> tuple[Figure, object]:
    """A figure with one axes and the Agg canvas attached."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def to_data_uri(fig: Figure, *, tight: bool = True) -> str:
    """PNG data URI of ``fig`` (deterministic bytes: no metadata).

    ``tight``: lay the figure out with ``tight_layout``; else crop the saved image to its content
    (``bbox_inches="tight"``; shap's figures carry their own layout).
    """
    buf = io.BytesIO()
    if tight:
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    else:
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def roc_curve_points(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct score threshold (higher score = riskier).

    :func:`sklearn.metrics.roc_curve` with every threshold kept (``drop_intermediate=False``).
    """
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(y, dtype="float64"), np.asarray(score, dtype="float64"),
                            drop_intermediate=False)
    return fpr, tpr


@_with_fonts
def roc_plot(curves: dict[str, tuple[np.ndarray, np.ndarray, float]]) -> str:
    """ROC curves ``{label: (y, pd, auc)}``."""
    fig, ax = new_figure(4.6, 4.2)
    colors = [BLUE, RED, GREEN, GREY]
    for (label, (y, p, value)), color in zip(curves.items(), colors, strict=False):
        fpr, tpr = roc_curve_points(y, p)
        ax.plot(fpr, tpr, color=color, lw=1.6, label=f"{label} (AUC {value:.3f})")
    ax.plot([0, 1], [0, 1], color=GREY, lw=0.8, ls="--")
    ax.set_xlabel("False positive rate (goods declined)")
    ax.set_ylabel("True positive rate (bads declined)")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    return to_data_uri(fig)


@_with_fonts
def ks_plot(y: np.ndarray, p: np.ndarray, ks_value: float) -> str:
    """Cumulative PD distributions of defaults and non-defaults; the KS gap marked."""
    fig, ax = new_figure(4.6, 4.2)
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    grid = np.unique(np.quantile(p, np.linspace(0, 1, 201)))
    bad = np.searchsorted(np.sort(p[y == 1]), grid, side="right") / max((y == 1).sum(), 1)
    good = np.searchsorted(np.sort(p[y == 0]), grid, side="right") / max((y == 0).sum(), 1)
    ax.plot(grid, good, color=BLUE, label="non-defaults")
    ax.plot(grid, bad, color=RED, label="defaults")
    k = int(np.argmax(np.abs(good - bad)))
    ax.vlines(grid[k], bad[k], good[k], color="black", lw=1.2, label=f"KS {ks_value:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("PD (log scale)")
    ax.set_ylabel("Cumulative share")
    ax.set_title("KS: cumulative PD distributions")
    ax.legend(loc="lower right", fontsize=8)
    return to_data_uri(fig)


@_with_fonts
def default_rate_plot(table: pd.DataFrame) -> str:
    """Observed default rate and mean PD by snapshot (``snapshot, n, default_rate, mean_pd``)."""
    fig, ax = new_figure(6.4, 3.2)
    x = pd.to_datetime(table["snapshot"])
    ax.plot(x, table["default_rate"], marker="o", color=RED, label="observed default rate")
    ax.plot(x, table["mean_pd"], marker="s", color=BLUE, label="mean predicted PD")
    ax.set_ylabel("12-month rate")
    ax.set_title("Default rate over snapshots")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return to_data_uri(fig)


@_with_fonts
def calibration_plot(grades: pd.DataFrame) -> str:
    """Mean PD vs observed default rate per grade (log scale), with Jeffreys 95 % intervals."""
    from scipy import stats

    g = grades[grades["n"] > 0]
    fig, ax = new_figure(6.4, 3.4)
    x = np.arange(len(g))
    d, n = g["defaults"].to_numpy(dtype=float), g["n"].to_numpy(dtype=float)
    lo = stats.beta.ppf(0.025, d + 0.5, n - d + 0.5)
    hi = stats.beta.ppf(0.975, d + 0.5, n - d + 0.5)
    obs = np.maximum(g["default_rate"].to_numpy(dtype=float), 1e-5)
    ax.errorbar(x, obs, yerr=[np.maximum(obs - lo, 0), np.maximum(hi - obs, 0)], fmt="o", color=RED,
                label="observed default rate (Jeffreys 95 %)", capsize=3)
    ax.plot(x, g["pd_mean"], "s-", color=BLUE, label="mean predicted PD")
    ax.set_yscale("log")
    ax.set_xticks(x, g["grade"].astype(str).tolist())
    ax.set_xlabel("Grade")
    ax.set_title("Calibration by grade")
    ax.legend(fontsize=8)
    return to_data_uri(fig)


@_with_fonts
def bar_plot(labels, values, *, title: str, xlabel: str = "", ylabel: str = "", horizontal: bool = False,
             color: str = BLUE, width: float = 6.4, height: float = 3.2, lines: dict | None = None) -> str:
    """A simple bar chart (horizontal bars list the first label on top)."""
    fig, ax = new_figure(width, height)
    labels = [str(v) for v in labels]
    values = np.asarray(values, dtype="float64")
    if horizontal:
        pos = np.arange(len(labels))[::-1]
        ax.barh(pos, values, color=color)
        ax.set_yticks(pos, labels, fontsize=8)
    else:
        ax.bar(np.arange(len(labels)), values, color=color)
        ax.set_xticks(np.arange(len(labels)), labels, fontsize=8)
    for label, value in (lines or {}).items():
        (ax.axvline if horizontal else ax.axhline)(value, color=RED, ls="--", lw=1, label=label)
    if lines:
        ax.legend(fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return to_data_uri(fig)


@_with_fonts
def heatmap_plot(matrix: pd.DataFrame, *, title: str, xlabel: str, ylabel: str) -> str:
    """Annotated heat map of a (migration or cross-tab) share matrix."""
    fig, ax = new_figure(5.2, 4.6)
    m = matrix.to_numpy(dtype="float64")
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(float(np.nanmax(m)) if m.size else 1.0, 1e-9))
    ax.set_xticks(np.arange(m.shape[1]), [str(c) for c in matrix.columns], fontsize=7)
    ax.set_yticks(np.arange(m.shape[0]), [str(i) for i in matrix.index], fontsize=7)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j] > 0:
                ax.text(j, i, f"{m[i, j]:.2f}" if m[i, j] < 1 else f"{m[i, j]:.0f}", ha="center", va="center",
                        fontsize=5.5, color="white" if m[i, j] > 0.6 * np.nanmax(m) else "black")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    return to_data_uri(fig)
