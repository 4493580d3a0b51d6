"""Small helpers shared by the generators of the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smecredit.simulation.latent import SPRING_FESTIVAL_MONTH

class Rows:
    """Collects per-month column arrays and concatenates them once."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def add(self, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            self.parts.setdefault(k, []).append(np.asarray(v))

    def frame(self, columns: list[str]) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: [] for c in columns})
        return pd.DataFrame({c: np.concatenate(self.parts[c]) for c in columns})


def month_ends(window_start: pd.Timestamp, n: int) -> np.ndarray:
    return pd.date_range(window_start, periods=n, freq="ME").to_numpy(dtype="datetime64[D]")


def seasonal(month_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log seasonal factors for sales and electricity (Spring Festival dip, summer peak)."""
    idx = pd.DatetimeIndex(month_ends)
    sf = np.array([SPRING_FESTIVAL_MONTH.get(y, 2) for y in idx.year])
    dip = np.where(idx.month == sf, np.log(0.72), np.where(idx.month == sf + 1, np.log(0.92), 0.0))
    summer = np.where(np.isin(idx.month, [7, 8]), np.log(1.12), 0.0)
    dec = np.where(idx.month == 12, np.log(1.08), 0.0)
    return dip + dec, 1.3 * dip + summer
