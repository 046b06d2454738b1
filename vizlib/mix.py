"""Application mixes: the shares of run time an application spends in each OS-operation category.

A mix is a ``{category: share}`` dict over ``catalogue.CATEGORIES`` whose shares are fractions
of the application's run time *on the baseline*, summing to 1. The one text syntax
(``parse_mix``) is used by the notebook parameters, the command line and the widgets;
``resolve_mix`` also takes a preset name (``vizlib.presets``). ``rebalance`` is the rule every
control that moves one share uses to keep the sum at 1.
"""

from __future__ import annotations

import math
import re
from typing import Mapping

from . import presets
from .catalogue import CATEGORIES
from .errors import MixError

DEFAULT_MIX = "cpu=0.4,memory=0.2,disk=0.2,network=0.1,kernel=0.1"
"""The mix used when none is given (notebook 04's default parameter, the command line without --mix)."""

MIX_TOLERANCE = 1e-6

_ITEM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.*?)\s*$")
_EXAMPLE = "e.g. 'cpu=0.5,memory=0.2,disk=0.2,network=0.1'"


def validate_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """Check a ``{category: share}`` mapping; return it with every category (left-out ones 0).

    Shares must be finite, non-negative, not all zero, and sum to 1 within ``1e-6``;
    categories must be among ``CATEGORIES``. Anything else raises :class:`MixError`.
    """
    unknown = [c for c in mix if c not in CATEGORIES]
    if unknown:
        raise MixError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
                       f"the categories are {', '.join(CATEGORIES)}")
    out = {}
    for c in CATEGORIES:
        v = mix.get(c, 0.0)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise MixError(f"share of {c} is not a number: {v!r}") from None
        if not math.isfinite(v):
            raise MixError(f"share of {c} is {v}; shares must be finite numbers")
        if v < 0:
            raise MixError(f"share of {c} is negative ({v:g}); shares are fractions of run time, 0 to 1")
        out[c] = v
    total = sum(out.values())
    if total == 0:
        raise MixError(f"all shares are zero; give at least one category a share, {_EXAMPLE}")
    if abs(total - 1.0) > MIX_TOLERANCE:
        hint = (" (they look like percentages: write 0.4 for 40%)" if abs(total - 100) <= 100 * MIX_TOLERANCE
                else "")
        raise MixError(f"shares sum to {total:.6g}, not 1{hint}; categories left out count as 0")
    return out


def parse_mix(text: str) -> dict[str, float]:
    """``"cpu=0.5,memory=0.2,disk=0.2,network=0.1"`` -> ``{cpu: .5, memory: .2, disk: .2, network: .1, kernel: 0}``.

    The one mix syntax of the suite (notebook parameters, the CLI, the widgets' ``data-mix``):
    comma-separated ``category=share`` items, shares as fractions summing to 1 (within 1e-6);
    left-out categories get 0. ``category:share`` is accepted too, because papermill's parameter
    inspection skips a parameters-cell line holding more than one ``=``, so the notebooks write
    their default with colons. Malformed text, an unknown or repeated category, a negative,
    non-numeric or non-finite share, all zeros or a wrong sum raise :class:`MixError`.
    """
    if not isinstance(text, str):
        raise MixError(f"a mix is a string like {_EXAMPLE}, not {type(text).__name__}")
    if not text.strip():
        raise MixError(f"empty mix; give category shares, {_EXAMPLE}")
    shares: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            raise MixError(f"empty item in mix {text!r} (doubled or trailing comma?)")
        m = _ITEM.match(part)
        if not m:
            raise MixError(f"malformed item {part.strip()!r} in mix {text!r}: expected category=share "
                           f"(or category:share), {_EXAMPLE}")
        cat, raw = m.group(1).lower(), m.group(2)
        if cat not in CATEGORIES:
            raise MixError(f"unknown category {cat!r} in mix {text!r}; the categories are {', '.join(CATEGORIES)}")
        if cat in shares:
            raise MixError(f"category {cat!r} appears twice in mix {text!r}")
        try:
            value = float(raw)
        except ValueError:
            pct = " (write fractions: 0.4, not 40%)" if raw.endswith("%") else ""
            raise MixError(f"share of {cat} is not a number: {raw!r}{pct}") from None
        shares[cat] = value
    return validate_mix(shares)


def format_mix(mix: Mapping[str, float], digits: int | None = None) -> str:
    """The mix as ``parse_mix`` text; categories with share 0 are left out.

    ``digits=None`` keeps full precision (``repr``), so ``parse_mix(format_mix(m)) == m``.
    """
    items = []
    for c in CATEGORIES:
        v = float(mix.get(c, 0.0))
        if v > 0:
            items.append(f"{c}={repr(v) if digits is None else format(v, f'.{digits}g')}")
    return ",".join(items)


def resolve_mix(value) -> dict[str, float]:
    """A mix from a dict, ``parse_mix`` text or a preset name (``vizlib.presets.PRESETS``)."""
    if isinstance(value, Mapping):
        return validate_mix(value)
    if isinstance(value, str) and "=" not in value and ":" not in value and value.strip():
        name = value.strip()
        if name in presets.PRESETS:
            return validate_mix(presets.PRESETS[name].mix)
        raise MixError(f"{name!r} is neither a mix ({_EXAMPLE}) nor a preset ({', '.join(presets.PRESETS)})")
    return parse_mix(value)


def rebalance(mix: Mapping[str, float], category: str, value: float) -> dict[str, float]:
    """Set ``category``'s share to ``value`` and keep the shares summing to 1.

    The rule shared by the widgets, the offline panel and :func:`sensitivity`: the other
    categories are rescaled in proportion to their current shares so that they absorb the
    difference (their ratios are kept). If they are all zero (``category`` had everything),
    the remainder is split equally among them. ``value`` is clipped to [0, 1].
    """
    if category not in CATEGORIES:
        raise MixError(f"unknown category {category!r}; the categories are {', '.join(CATEGORIES)}")
    value = min(1.0, max(0.0, float(value)))
    others = [c for c in CATEGORIES if c != category]
    rest = sum(float(mix.get(c, 0.0)) for c in others)
    remaining = 1.0 - value
    out = {}
    for c in CATEGORIES:
        if c == category:
            out[c] = value
        elif rest > 0:
            out[c] = float(mix.get(c, 0.0)) * remaining / rest
        else:
            out[c] = remaining / len(others)
    return out


def restrict(mix: Mapping[str, float], measured) -> tuple[dict[str, float], list[str]]:
    """The mix over the ``measured`` categories only, shares rescaled to 1, and the categories
    left out. Where every share sat on unmeasured categories, the measured ones share equally.
    MixError when nothing was measured at all."""
    measured = [c for c in CATEGORIES if c in set(measured)]
    if not measured:
        raise MixError("no category has a measured lmbench item in any environment: nothing to estimate")
    dropped = [c for c in CATEGORIES if c not in measured and float(mix.get(c, 0.0)) > 0]
    kept = {c: float(mix.get(c, 0.0)) for c in measured}
    if not dropped:  # nothing to move: the user's shares exactly as given
        return {c: kept.get(c, 0.0) for c in CATEGORIES}, dropped
    total = sum(kept.values())
    if total <= 0:
        return {c: (1.0 / len(measured) if c in measured else 0.0) for c in CATEGORIES}, dropped
    return {c: kept.get(c, 0.0) / total for c in CATEGORIES}, dropped


def display_percentages(mix: Mapping[str, float], decimals: int = 1) -> dict[str, float]:
    """The shares as percentages rounded so that they add up to exactly 100 (largest remainder)."""
    unit = 10 ** decimals
    raw = {c: float(mix.get(c, 0.0)) * 100 * unit for c in CATEGORIES}
    floors = {c: int(v) for c, v in raw.items()}
    short = 100 * unit - sum(floors.values())
    for c in sorted(CATEGORIES, key=lambda c: (-(raw[c] - floors[c]), CATEGORIES.index(c)))[:max(0, short)]:
        floors[c] += 1
    return {c: floors[c] / unit for c in CATEGORIES}
