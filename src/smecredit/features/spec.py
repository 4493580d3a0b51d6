"""Catalogue entries of features, declared as data next to each feature family.

A :class:`FeatureSpec` names a feature, its family and source tables, its window, the
*kind* of quantity it is (which decides how :func:`smecredit.features.catalog.describe`
words a value), an English and a Chinese subject phrase, a unit and the expected direction
of risk (``up``: risk rises when the value rises; ``down``: risk falls; ``none``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("level", "total", "change", "growth", "trend", "cv", "count", "share", "ratio", "flag", "days", "years",
         "category", "rank", "missing")
DIRECTIONS = ("up", "down", "none")


@dataclass(frozen=True)
class FeatureSpec:
    """One catalogue entry (see module docstring)."""

    name: str
    family: str
    source: str
    window_months: int | None
    kind: str
    en: str
    zh: str
    unit: str = ""
    direction: str = "none"
    # value -> (en, zh): labels of category/rank values; for flags, "0.0" gives the text of a 0
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"feature {self.name}: kind must be one of {KINDS}; got {self.kind!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"feature {self.name}: direction must be one of {DIRECTIONS}; got {self.direction!r}")

    @property
    def dtype(self) -> str:
        return "categorical" if self.kind == "category" else "numeric"


def windowed(name: str, windows: tuple[int, ...], **kw) -> list[FeatureSpec]:
    """One spec per window; ``name`` contains ``{w}``."""
    return [FeatureSpec(name=name.format(w=w), window_months=w, **kw) for w in windows]


def missing_spec(family: str, source: str, en: str, zh: str) -> FeatureSpec:
    """The missing-data indicator of a family (1 = no usable data for the enterprise)."""
    return FeatureSpec(f"{family}_missing", family, source, None, "missing", en, zh, "", "none")
