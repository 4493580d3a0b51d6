"""The city simulator: a seeded SME population with known ground truth (docs/simulator.md).

``simulate(n_enterprises, months, seed, out)`` writes every table of the data model as
Parquet into ``out`` and the ground truth into ``out/_truth/`` (which no feature may read).

The model (documented in ``docs/simulator.md``)
------------------------------------------------
Each enterprise *i* has a static risk offset ``theta_i`` (registry part: legal form, size,
age, industry, mountain county, tech/green flags; plus an unobserved part ``u_i``), rounded
to a grid of step 0.25, and a latent financial health ``x_{i,t}`` that follows a
discrete-state Markov chain (a Tauchen discretisation of a stationary AR(1) with unit
variance on a 41-point grid). Industry cycles and a macro shock give a systematic term
``s_{g,t}`` per industry (see ``scenario``). Delinquency is a second chain: a current
enterprise misses a payment in month *t* with probability ``lambda = sigmoid(a0 + theta_i -
beta * x_{i,t} - gamma * s_{g,t})``; a delinquent one rolls 1–30 → 31–60 → 61–90 → default
(more than 90 days past due) with roll rates that rise as health falls, or cures back to
current; in the macro shock banks hold part of the 61–90 bucket (forbearance). Default is
absorbing; defaulted loans are written off after 2–6 months.

Ground truth: ``pd_h`` at month *t* is the probability of default in months t+1 … t+h given
the joint latent state (health, delinquency bucket) at *t*, computed exactly by backward
recursion over the joint chain (``pd_tables``), conditional on the simulated path of the
systematic term and of forbearance (the scenario). Borrowers always keep at least one loan
outstanding (maturing loans are renewed, or repaid and refinanced, in a month the enterprise
is current; an overdue loan stays outstanding), so for borrowers the recorded default
follows the PDs exactly; for enterprises without a loan they are the PDs they would have
with an exposure.

Underwriting: enterprises apply, the bank approves on a noisy score of risk (rejected
applications are kept in ``application_history``); security is drawn by size, age and that
score, and loss given default depends on it (``_truth/lgd.parquet``).

Every source observes health with noise, lags, missing months and reporting errors;
coverage differs by legal form and county; events become more likely as health
deteriorates.

Package layout
--------------
A generator, not part of the bank-data contract: it may import :mod:`smecredit.data` (the schemas it
writes to), but no module of data, features, models or later stages imports it; the CLI and tests do.

Modules: ``config`` (SimConfig, validated once), ``latent`` (health chain, hazard, scenario, exact PDs),
``firms`` (enterprises, clusters), ``paths`` (a chunk through time), ``sources`` and ``records`` (the
observed tables), ``loans`` (underwriting, loan lines, delinquency, evergreening, LGD), ``publication``
(``available_date`` of every periodic row), ``population`` (exits unrelated to loans), ``writer``
(chunks → Parquet).
"""

from smecredit.simulation.config import SimConfig
from smecredit.simulation.latent import (
    HORIZONS,
    forward_default,
    hazard,
    health_grid,
    partner_default_effect,
    pd_tables,
    roll_rates,
    scenario,
    theta_grid,
)
from smecredit.simulation.writer import CHUNK, TRUTH_DIR, resolve_config, simulate

__all__ = ["CHUNK", "HORIZONS", "TRUTH_DIR", "SimConfig", "forward_default", "hazard", "health_grid", "partner_default_effect", "pd_tables",
           "resolve_config", "roll_rates", "scenario", "simulate", "theta_grid"]
