"""Point-in-time features, default labels and the bilingual feature catalogue.

>>> from smecredit.data import load_raw                     # doctest: +SKIP
>>> from smecredit.features import build_feature_matrix     # doctest: +SKIP
>>> X, meta = build_feature_matrix(load_raw("city"), "2024-06-30,2024-12-31", horizon=12)  # doctest: +SKIP

See ``docs/features.md`` for the families, windows, point-in-time rules, label and population
definitions and the missing-data behaviour.
"""

from smecredit.features.builder import (META_COLUMNS, build_feature_matrix, build_features, every_snapshots,
                                        feature_names, split_features)
from smecredit.features.catalog import describe, feature_catalog
from smecredit.features.config import FeatureConfig
from smecredit.features.folder import write_feature_dir
from smecredit.features.transformer import FeatureBuilder

__all__ = ["META_COLUMNS", "FeatureBuilder", "FeatureConfig", "build_feature_matrix", "build_features", "describe",
           "every_snapshots", "feature_catalog", "feature_names", "split_features", "write_feature_dir"]
