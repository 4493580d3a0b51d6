"""The report's SHAP pictures, drawn by ``shap.plots`` on a :class:`shap.Explanation` of the model's
exact contributions.

:func:`to_shap` wraps an :class:`~smecredit.explain.shap_values.Explanation` (the GBM's linear
base plus TreeSHAP in log-odds, or the scorecard's points lost) as a ``shap.Explanation`` —
nothing is re-estimated: ``values.sum(1) + base_values`` is the GBM's raw log-odds, and for a
scorecard ``base_values`` is 0 so ``values.sum(1)`` is the points lost against the best score.
Governance reviewers get shap's own beeswarm, dependence (``shap.plots.scatter``) and
waterfall pictures.

No global state is changed: the matplotlib backend is never switched. The beeswarm is drawn on
a :class:`~matplotlib.figure.Figure` with its own Agg canvas; ``shap.plots.scatter`` and
``shap.plots.waterfall`` draw through pyplot, so they get a pyplot figure of the current backend
that is closed as soon as its PNG is taken (a notebook never shows it), with pyplot's interactive
mode restored. shap jitters dots with NumPy's global generator: it is seeded for each plot
and its previous state restored, so the picture is reproducible and the user's random stream
untouched.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from smecredit.report.plots import DPI, _with_fonts, new_figure, to_data_uri


def _shap():
    with warnings.catch_warnings():  # shap's import may warn about optional dependencies
        warnings.simplefilter("ignore")
        import shap
    return shap


def to_shap(expl, rows=None, *, text_levels: bool = False):
    """A ``shap.Explanation`` of ``expl`` (all rows, or the positions ``rows``).

    Numeric feature values are the ``data``; categorical ones are ``NaN`` (drawn grey), or their
    level text (``"missing"`` for none) with ``text_levels`` — shap's dependence plot puts text
    levels on the x axis.
    """
    shap = _shap()
    values = expl.values if rows is None else expl.values.iloc[rows]
    data = expl.data[values.columns] if rows is None else expl.data[values.columns].iloc[rows]
    cols = []
    for f in values.columns:
        v = data[f]
        if pd.api.types.is_numeric_dtype(v.dtype) or pd.api.types.is_bool_dtype(v.dtype):
            cols.append(v.to_numpy(dtype="float64", na_value=np.nan))
        elif text_levels:
            cols.append(np.array([str(x) for x in v.astype(object).where(v.notna(), "missing")], dtype=object))
        else:
            cols.append(np.full(len(v), np.nan))
    if expl.kind == "gbm":
        base = np.asarray(expl.base, dtype="float64")
        base = base if rows is None else base[np.asarray(rows)]
    else:
        base = np.zeros(len(values))
    arr = np.column_stack(cols) if cols else np.empty((len(values), 0))
    return shap.Explanation(values=values.to_numpy(dtype="float64"), base_values=base, data=arr,
                            feature_names=[str(c) for c in values.columns])


@contextlib.contextmanager
def _pyplot_figure(width: float, height: float):
    """A pyplot figure of the current backend (never switched), closed on exit; interactive mode restored."""
    import matplotlib.pyplot as plt

    with plt.ioff():
        fig = plt.figure(figsize=(width, height), dpi=DPI)
        try:
            yield fig
        finally:
            plt.close(fig)


@contextlib.contextmanager
def _quiet():
    """shap's colour scaling of an all-missing (or categorical, NaN) column warns; the dots are drawn grey."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All-NaN slice encountered", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="invalid value encountered", category=RuntimeWarning)
        yield


@contextlib.contextmanager
def _seeded_global_numpy(seed: int):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@_with_fonts
def beeswarm_plot(sx, *, unit: str, max_display: int = 15, seed: int = 0) -> str:
    """``shap.plots.beeswarm`` of the sample explanation ``sx`` (features ordered by mean |contribution|)."""
    shap = _shap()
    fig, ax = new_figure(6.8, 0.42 * min(max_display, sx.values.shape[1]) + 1.6)
    with _seeded_global_numpy(seed), _quiet():
        shap.plots.beeswarm(sx, max_display=max_display, ax=ax, show=False, plot_size=None, s=6,
                            color_bar_label="feature value (grey = missing/categorical)")
    ax.set_xlabel(f"Contribution ({unit}; > 0 raises risk)")
    ax.set_title("Contributions per row (shap beeswarm)")
    return to_data_uri(fig, tight=False)


@_with_fonts
def dependence_plot(sx_feature, *, feature: str, unit: str) -> str:
    """``shap.plots.scatter`` of one feature's contributions against its values (with its histogram)."""
    shap = _shap()
    with _pyplot_figure(4.6, 3.4) as fig:
        ax = fig.add_subplot(1, 1, 1)
        with _quiet(), _seeded_global_numpy(0):  # shap jitters text levels with NumPy's global generator
            text = len(sx_feature.data) > 0 and isinstance(sx_feature.data[0], str)
            if not text:  # a numeric column of a mixed (object) explanation
                sx_feature = shap.Explanation(values=sx_feature.values, base_values=sx_feature.base_values,
                                              data=np.asarray(sx_feature.data, dtype="float64"),
                                              feature_names=sx_feature.feature_names)
            shap.plots.scatter(sx_feature, ax=ax, show=False, dot_size=5, alpha=0.6, hist=not text)
        ax.set_ylabel(f"Contribution ({unit})", fontsize=10)
        ax.set_title(f"Dependence: {feature}", fontsize=9)
        return to_data_uri(fig, tight=False)


@_with_fonts
def waterfall_plot(row, *, unit: str, title: str, max_display: int = 7) -> str:
    """``shap.plots.waterfall`` of one row (its largest contributions; the rest summed)."""
    shap = _shap()
    with _pyplot_figure(6.0, 3.6) as fig:
        # shap measures text with ``fig.canvas.get_renderer()``, which only Agg-type canvases have: the figure
        # gets its own Agg canvas (pyplot still manages it through its original one, so plt.gcf() finds it)
        FigureCanvasAgg(fig)
        with _quiet(), _seeded_global_numpy(0):
            shap.plots.waterfall(row, max_display=max_display, show=False)
        fig.axes[0].set_title(f"{title} ({unit})", fontsize=9)
        return to_data_uri(fig, tight=False)
