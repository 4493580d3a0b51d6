"""Point-in-time features, default labels and the bilingual feature catalogue.

>>> from smecredit.data import load_raw                     # doctest: +SKIP
>>> from smecredit.features import build_features           # doctest: +SKIP
>>> table = build_features(load_raw("city"), "2024-06-30,2024-12-31", horizon=12)  # doctest: +SKIP

See ``docs/features.md`` for the families, windows, point-in-time rules, label and population
definitions and the missing-data behaviour.
"""

from smecredit.features._panel import FeatureConfig
from smecredit.features.builder import (META_COLUMNS, FeatureBuilder, build_features, every_snapshots,
                                        feature_names, write_feature_dir)
from smecredit.features.catalog import describe, feature_catalog

__all__ = ["META_COLUMNS", "FeatureBuilder", "FeatureConfig", "build_features", "describe", "every_snapshots",
           "feature_catalog", "feature_names", "write_feature_dir"]
