"""The overhead models' inputs: the tables of one processed folder, normalised once, cached.

``load_inputs`` (a processed folder and its raw folder's manifest), ``inputs_from_tables`` (an
already loaded tidy table) and ``inputs_from_context`` (a notebook's setup context) all give a
``ModelInputs``: the slowdowns, and joint replicates computed for the representatives asked for
and cached, so switching a category's representative back and forth in the explorer is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd

from . import categories, count_model, ingest, manifest as manifest_mod, normalise, paths, share_model, stats, tables
from .catalogue import CATEGORIES
from .errors import InputsError
from .mix import resolve_mix


@dataclass
class ModelInputs:
    """Everything the model needs from one processed folder, loaded once.

    Replicates are computed for a set of representatives on first use and cached, so
    switching a category's representative back and forth is cheap.
    """

    processed_dir: Path
    raw_dir: Path | None  # None when the tables' raw folder is gone (the recorded manifest is used)
    tidy: pd.DataFrame
    manifest: object
    overhead: pd.DataFrame
    representatives: dict
    n_boot: int = stats.N_REPLICATES
    seed: int = 0
    statistic: str = "median"
    note: str = ""  # e.g. that the tables were ingested on demand
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def environments(self) -> list[str]:
        return list(dict.fromkeys(self.overhead["environment"]))

    def categories(self, representatives: Mapping | None = None) -> pd.DataFrame:
        return share_model.category_slowdowns(self.overhead, self.representatives if representatives is None else representatives)

    def replicates(self, keys) -> pd.DataFrame:
        """Joint replicates (draws) for ``keys`` (``(metric, param)`` pairs with concrete params), cached.

        ``normalise`` seeds its draws per (seed, environment), so replicates computed in separate
        calls are still joint: replicate b uses the same resampled runs for every metric.
        """
        keys = sorted({(m, "" if p is None else str(p)) for m, p in keys})
        todo = [k for k in keys if k not in self._cache]
        if todo:
            rp = normalise.joint_replicates(self.tidy, self.manifest, keys=todo, n_boot=self.n_boot, seed=self.seed,
                                            statistic=self.statistic)
            for k in todo:
                self._cache[k] = rp.iloc[0:0]
            for k, grp in rp.groupby(["metric", "param"], sort=False):
                self._cache[k] = grp
        parts = [self._cache[k] for k in keys]
        return pd.concat(parts, ignore_index=True) if parts else None

    def prepared(self, representatives: Mapping | None = None) -> tuple[pd.DataFrame, share_model.Prepared]:
        cs = self.categories(representatives)
        keys = {(r.metric, r.param) for r in cs.itertuples(index=False) if share_model._finite(r.slowdown)}
        reps = self.replicates(keys) if keys else None
        return cs, share_model.prepare(cs, reps)

    def estimate(self, mix, representatives: Mapping | None = None) -> pd.DataFrame:
        return share_model.evaluate(self.prepared(representatives)[1], resolve_mix(mix))

    def count_estimate(self, profile: count_model.AppProfile, params: Mapping[str, str] | None = None,
                       pricing: count_model.Pricing = count_model.Pricing()) -> pd.DataFrame:
        keys = count_model.replicate_keys(self.overhead, profile, params, pricing)
        reps = self.replicates(keys) if keys else None
        return count_model.count_estimate(self.overhead, profile, reps, params, pricing)


def inputs_from_tables(tidy: pd.DataFrame, manifest, *, processed_dir=None, raw_dir=None, representatives=None,
                       n_boot: int = stats.N_REPLICATES, seed: int = 0, statistic: str = "median") -> ModelInputs:
    """:class:`ModelInputs` from an already loaded tidy table and manifest (normalised in memory)."""
    overhead = normalise.overhead(tidy, manifest, seed=seed, n_boot=n_boot, statistic=statistic)
    if not len(overhead):
        raise InputsError("no virtual environment with a measured baseline: nothing to estimate")
    reps = dict(categories.DEFAULT_REPRESENTATIVES)
    reps.update(representatives or {})
    return ModelInputs(Path(processed_dir) if processed_dir else paths.PROCESSED,
                       Path(raw_dir) if raw_dir else None, tidy, manifest, overhead,
                       {c: reps[c] for c in CATEGORIES}, n_boot, seed, statistic)


def inputs_from_context(ctx, *, n_boot: int = stats.N_REPLICATES, seed: int = 0, statistic: str = "median") -> ModelInputs:
    """:class:`ModelInputs` from a notebook's ``vizlib.notebook.setup`` context (same tables, same representatives)."""
    return inputs_from_tables(ctx.tidy, ctx.manifest, processed_dir=ctx.processed_dir, raw_dir=ctx.raw_dir,
                              representatives=getattr(ctx, "representatives", None), n_boot=n_boot, seed=seed,
                              statistic=statistic)


def load_inputs(processed_dir=None, raw_dir=None, *, representatives=None, n_boot: int = stats.N_REPLICATES,
                seed: int = 0, statistic: str = "median") -> ModelInputs:
    """The tables of ``processed_dir`` (default ``data/processed``), normalised in memory for the models.

    The tables are ingested first when missing or older than their raw folder
    (``ingest.ensure_tables``: ``raw_dir`` defaults to the folder the tables were made from, and a
    different one is an error naming both); ``ModelInputs.note`` says when that happened.
    Relative paths are taken from the project root.
    """
    processed = paths.resolve(processed_dir) if processed_dir not in (None, "") else paths.PROCESSED
    raw = paths.resolve(raw_dir) if raw_dir not in (None, "") else None
    settled = ingest.ensure_tables(processed, raw)
    out = inputs_from_tables(tables.load_tidy(processed), settled.manifest, processed_dir=processed,
                             raw_dir=settled.raw_dir, representatives=representatives, n_boot=n_boot, seed=seed,
                             statistic=statistic)
    out.note = settled.note
    return out
