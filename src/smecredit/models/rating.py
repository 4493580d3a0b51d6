"""The master scale: PD → rating grades "1" (best) … "10", plus "D" for obligors in default.

Grade boundaries are geometric: the upper PD bound of grade k (k = 1 … 9) is
``first_bound * ratio ** (k - 1)``; grade 10 takes every PD from the 9th bound up to 100 %.
The defaults (first bound 0.10 %, ratio 2) give the bounds
0.10 %, 0.20 %, 0.40 %, 0.80 %, 1.60 %, 3.20 %, 6.40 %, 12.80 %, 25.60 % (see docs/master_scale.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smecredit.exceptions import ConfigError

DEFAULT_GRADE = "D"


@dataclass(frozen=True)
class MasterScale:
    """Geometric master scale of ``n_grades`` non-default grades plus ``D``.

    Examples
    --------
    >>> ms = MasterScale()
    >>> list(ms.assign([0.0005, 0.001, 0.05, 0.5]))
    ['1', '2', '7', '10']
    """

    first_bound: float = 0.001
    ratio: float = 2.0
    n_grades: int = 10
    bounds: tuple = field(init=False)

    def __post_init__(self):
        if not 0 < self.first_bound < 1:
            raise ConfigError(f"first_bound must be in (0, 1); got {self.first_bound!r}")
        if not self.ratio > 1:
            raise ConfigError(f"ratio must be > 1; got {self.ratio!r}")
        if not isinstance(self.n_grades, int) or self.n_grades < 7:
            raise ConfigError(f"n_grades must be an integer >= 7 (Basel); got {self.n_grades!r}")
        b = tuple(float(self.first_bound * self.ratio**k) for k in range(self.n_grades - 1))
        if b[-1] >= 1:
            raise ConfigError(f"first_bound={self.first_bound} and ratio={self.ratio} put grade bounds above 100 %")
        object.__setattr__(self, "bounds", b)

    @property
    def grades(self) -> list[str]:
        """Grade labels, best first, then ``D``."""
        return [str(k) for k in range(1, self.n_grades + 1)] + [DEFAULT_GRADE]

    def assign(self, pd_values, in_default=None) -> np.ndarray:
        """Grade of each PD (``D`` where ``in_default`` is true)."""
        p = np.asarray(pd_values, dtype="float64")
        idx = np.searchsorted(np.asarray(self.bounds), p, side="right")
        out = np.array([str(i + 1) for i in idx], dtype=object)
        if in_default is not None:
            out[np.asarray(in_default, dtype=bool)] = DEFAULT_GRADE
        return out

    def table(self) -> pd.DataFrame:
        """One row per grade: lower and upper PD bound and the geometric mid-point PD."""
        lo = (0.0,) + self.bounds
        hi = self.bounds + (1.0,)
        rows = []
        for k, (a, b) in enumerate(zip(lo, hi), start=1):
            mid = float(np.sqrt(max(a, self.first_bound / self.ratio) * b)) if k < self.n_grades else float(np.sqrt(a * min(1.0, a * self.ratio)))
            rows.append({"grade": str(k), "pd_min": a, "pd_max": b, "pd_mid": mid})
        rows.append({"grade": DEFAULT_GRADE, "pd_min": 1.0, "pd_max": 1.0, "pd_mid": 1.0})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"first_bound": self.first_bound, "ratio": self.ratio, "n_grades": self.n_grades,
                "bounds": list(self.bounds)}
