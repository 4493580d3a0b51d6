"""Drawing the report's and the training run's figures leaves a user's matplotlib session as it was:
the backend is not switched, no pyplot figure stays open, interactive mode and NumPy's global random
state are unchanged (a notebook keeps its own backend), and the shap pictures are reproducible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import smecredit

SCRIPT = r"""
import json, sys, tempfile, types
from pathlib import Path
import matplotlib
matplotlib.use("svg")                      # the "user's" backend, not Agg
import matplotlib.pyplot as plt
plt.ion()
import numpy as np
import pandas as pd
np.random.seed(123)
before = np.random.get_state()[1].copy()

from smecredit.explain.shap_values import Explanation
from smecredit.pipelines.train import _plots
from smecredit.report import shap_plots

rng = np.random.default_rng(0)
n = 300
data = pd.DataFrame({"x": rng.normal(size=n), "k": pd.Series(rng.choice(["a", "b"], n), dtype=object),
                     "m": np.full(n, np.nan)})
values = pd.DataFrame({"x": 0.5 * data["x"], "k": np.where(data["k"] == "a", 0.2, -0.1), "m": 0.0})
expl = Explanation("gbm", "log-odds", values, np.full(n, -3.0), data)
sx = shap_plots.to_shap(expl, np.arange(200))
assert np.allclose(sx.values.sum(1) + sx.base_values, values.iloc[:200].sum(axis=1) - 3.0)
st = shap_plots.to_shap(expl, np.arange(200), text_levels=True)
pics = [shap_plots.beeswarm_plot(sx, unit="log-odds", seed=1), shap_plots.beeswarm_plot(sx, unit="log-odds", seed=1),
        shap_plots.dependence_plot(st[:, 0], feature="x", unit="log-odds"),
        shap_plots.dependence_plot(st[:, 1], feature="k", unit="log-odds"),
        shap_plots.waterfall_plot(shap_plots.to_shap(expl, [3], text_levels=True)[0], unit="log-odds", title="row")]
y = (rng.uniform(size=n) < 0.2).astype(int)
p = np.clip(0.2 + 0.1 * rng.normal(size=n), 0.01, 0.99)
with tempfile.TemporaryDirectory() as tmp:
    files = _plots(Path(tmp), y, p, np.where(p > 0.2, "B", "A"), types.SimpleNamespace(grades=["A", "B"]))
    sizes = [f.stat().st_size for f in files]
print(json.dumps({"backend": matplotlib.get_backend(), "figures": plt.get_fignums(),
                  "interactive": plt.isinteractive(),
                  "rng_untouched": bool((np.random.get_state()[1] == before).all()),
                  "png": all(s.startswith("data:image/png;base64,") and len(s) > 1000 for s in pics),
                  "beeswarm_reproducible": pics[0] == pics[1], "train_pngs": sizes}))
"""


def test_figures_leave_the_users_backend_figures_and_random_state_alone(tmp_path):
    env = {"PYTHONPATH": str(Path(smecredit.__file__).parents[1]), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "MPLCONFIGDIR": str(tmp_path / "mpl")}
    out = subprocess.run([sys.executable, "-W", "error", "-c", SCRIPT], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["backend"] == "svg"
    assert res["figures"] == []
    assert res["interactive"] is True
    assert res["rng_untouched"] and res["png"] and res["beeswarm_reproducible"]
    assert len(res["train_pngs"]) == 3 and min(res["train_pngs"]) > 1000


def test_chinese_labels_draw_without_font_weight_warnings(caplog):
    """Fonts with one weight (WenQuanYi Zen Hei: 500) made matplotlib warn once per label in every report and
    monitoring run; the report's figures silence only that fallback notice, and only while they draw."""
    import logging

    from smecredit.report.plots import bar_plot

    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        uri = bar_plot(["正常", "关注", "次级"], [0.5, 0.3, 0.2], title="五级分类 grades")
    assert uri.startswith("data:image/png;base64,")
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    assert not logging.getLogger("matplotlib.font_manager").filters  # removed after drawing
