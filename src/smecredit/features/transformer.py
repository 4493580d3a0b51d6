"""The feature builder with the scikit-learn transformer interface: :class:`FeatureBuilder`.

``transform(raw)`` returns exactly the columns of ``get_feature_names_out()`` (the catalogue
features, never the label ``bad`` or the ids), so the builder can open a scikit-learn
``Pipeline``; ``transform_with_meta(raw)`` also returns the ids, snapshot dates and labels
(``meta``) of the same rows. The builder reads no files: give it raw tables loaded with
:func:`smecredit.data.load_raw` (the one place where files are read).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from smecredit.data.loaders import RawData
from smecredit.exceptions import ConfigError, DataContractError, NotFittedError
from smecredit.features._panel import PreparedRaw
from smecredit.features.builder import (build_feature_matrix, check_population, feature_names, parse_snapshots,
                                        resolve_config)
from smecredit.features.catalog import feature_catalog
from smecredit.features.config import FeatureConfig


class FeatureBuilder(TransformerMixin, BaseEstimator):
    """Point-in-time feature builder with the scikit-learn interface.

    ``transform(raw)`` returns the ``X`` of :func:`smecredit.features.build_feature_matrix` for the
    same raw tables and parameters (the features of the batch job, without the meta columns).

    Parameters
    ----------
    snapshots : str or list of dates
        Snapshot dates.
    horizon : int, default 12
        Label horizon in months (used by the labels in ``transform_with_meta``).
    population : {"active_loan", "all"} or list of enterprise ids, default "active_loan"
    chunk_size : int, optional
        Enterprises per chunk.
    config : FeatureConfig, optional
        Further parameters (default-DPD threshold, cap of the days-since features).

    Attributes
    ----------
    feature_names_out_ : ndarray of str
        The feature columns, in catalogue order.
    catalog_ : DataFrame
        The feature catalogue.

    Examples
    --------
    >>> raw = load_raw("city")                                            # doctest: +SKIP
    >>> fb = FeatureBuilder(snapshots="2024-06-30").fit(raw)              # doctest: +SKIP
    >>> X, meta = fb.transform_with_meta(raw)                             # doctest: +SKIP
    >>> pipe = make_pipeline(FeatureBuilder(snapshots="2024-06-30"), model).fit(raw, meta["bad"])  # doctest: +SKIP
    """

    def __init__(self, snapshots=None, *, horizon: int = 12, population="active_loan",
                 chunk_size: int | None = None, config: FeatureConfig | None = None):
        self.snapshots = snapshots
        self.horizon = horizon
        self.population = population
        self.chunk_size = chunk_size
        self.config = config

    def fit(self, X=None, y=None):
        """Check the parameters and record the feature names; returns self (nothing is learnt from ``X``)."""
        if self.snapshots is None:
            raise ConfigError("FeatureBuilder: snapshots must be given (e.g. '2024-06-30,2024-12-31')")
        parse_snapshots(self.snapshots)
        resolve_config(self.config, self.horizon)
        check_population(self.population)
        self.catalog_ = feature_catalog()
        self.feature_names_out_ = np.asarray(feature_names(), dtype=object)
        return self

    def _check_input(self, X) -> RawData | PreparedRaw:
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("FeatureBuilder is not fitted yet: call fit() first")
        if isinstance(X, (str, Path)):
            raise DataContractError(f"FeatureBuilder.transform takes raw tables, not a folder: load {str(X)!r} "
                                    f"with smecredit.data.load_raw first")
        if not isinstance(X, (RawData, PreparedRaw)):
            raise DataContractError(f"FeatureBuilder.transform takes raw tables from smecredit.data.load_raw or "
                                    f"from_frames; got {type(X).__name__}")
        return X

    def transform_with_meta(self, X) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(X, meta)`` of the raw tables ``X``: the features and, on the same index, the ids, snapshot dates,
        labels and observability (:data:`smecredit.features.META_COLUMNS`)."""
        raw = self._check_input(X)
        return build_feature_matrix(raw, self.snapshots, horizon=self.horizon, population=self.population,
                                    chunk_size=self.chunk_size, config=self.config)

    def transform(self, X) -> pd.DataFrame:
        """The features of the raw tables ``X``: exactly the columns of :meth:`get_feature_names_out`."""
        return self.transform_with_meta(X)[0]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("FeatureBuilder is not fitted yet: call fit() first")
        return self.feature_names_out_.copy()
