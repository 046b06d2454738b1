"""A self-contained offline panel: the share-based estimate with sliders, in plain HTML + JavaScript.

Widgets need a kernel (or a widget renderer loaded from a CDN) to do anything; an exported HTML
page or a notebook opened without a kernel shows them frozen. This panel is an ordinary
``text/html`` output instead: the category slowdowns and the joint replicates are embedded as
JSON, and our own script (``vizlib/templates/panel.js``, no third-party code, no request of any
kind) recomputes ``R = sum(w_i * s_i)`` and its interval per environment as the reader moves the
``<input type="range">`` sliders. The table is first rendered in Python with the model's numbers
(``views.estimate_table_html``), so a viewer that strips scripts still shows the estimate for
the notebook's parameters. The script is the one accepted second copy of the model; the browser
tests check it against ``share_model.evaluate``.

Safety: the JSON sits in a ``<script type="application/json">`` with ``<``, ``>`` and ``&``
written as ``\\u003c``, ``\\u003e``, ``\\u0026`` (so no ``</script>`` can end it early), static
text goes through ``html.escape``, and the script writes names with ``textContent`` only. Each
panel has its own id and the script only looks inside its own root, so two panels on a page do
not clash. Replicates are stored as unique rows with their counts, which the script expands.
"""

from __future__ import annotations

import html
import json
import math
import re
import uuid
from importlib import resources

import numpy as np

from .catalogue import CATEGORIES
from .errors import UsageError
from .mix import display_percentages, resolve_mix
from .share_model import Prepared, evaluate
from .views import CAVEAT, EXPLAIN_SHARE, estimate_table_html, explain_estimate, explain_html

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def panel_data(prepared: Prepared, mix) -> dict:
    """The JSON-able payload the panel embeds."""
    mix = resolve_mix(mix)
    envs = []
    for i, name in enumerate(prepared.environments):
        rep = None
        if prepared.replicates is not None:
            block = prepared.replicates[i]  # B x C
            # unique rows with counts; NaN (undefined) is null, an extreme draw that overflowed stays
            # infinite as the string "Infinity" (JSON has no infinity; the script turns it back)
            uniq, counts = np.unique(block, axis=0, return_counts=True, equal_nan=True)
            rows = [[None if math.isnan(v) else (("Infinity" if v > 0 else "-Infinity") if math.isinf(v) else float(v))
                     for v in row] for row in uniq]
            rep = {"rows": rows, "counts": [int(c) for c in counts]}
        envs.append({
            "name": name,
            "baseline": prepared.baselines[i],
            "slowdown": [_num(v) for v in prepared.slowdown[i]],
            "missing": list(prepared.missing_reason[i]),
            "no_interval": list(prepared.interval_reason[i]),
            "representative": list(prepared.representative[i]),
            "low_precision": [bool(x) for x in (prepared.low_precision[i] if prepared.low_precision is not None
                                               else [False] * len(CATEGORIES))],
            "item_label": list((prepared.item_label or prepared.representative)[i]),
            "replicates": rep,
        })
    return {
        "categories": list(CATEGORIES),
        "mix": {c: float(mix[c]) for c in CATEGORIES},
        "n_boot": None if prepared.replicates is None else int(prepared.replicates.shape[1]),
        "explain_share": EXPLAIN_SHARE,
        "environments": envs,
    }


def _json_for_script(data) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' survives literally."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _script() -> str:
    return resources.files("vizlib").joinpath("templates/panel.js").read_text(encoding="utf-8")


def render(prepared: Prepared, mix, *, environments=None, panel_id: str | None = None,
           title: str = "Overhead estimate (offline panel)") -> str:
    """The panel as one HTML fragment (no external resource), for a ``text/html`` output.

    ``environments`` (names, None = all) chooses the rows; ``panel_id`` (letters, digits, ``-``,
    ``_``) defaults to a random one.
    """
    mix = resolve_mix(mix)
    pid = panel_id or f"vizlib-panel-{uuid.uuid4().hex[:12]}"
    if not _ID.match(pid):
        raise UsageError(f"panel id {pid!r} must start with a letter and hold only letters, digits, '-', '_'")
    if environments is not None:
        unknown = [e for e in environments if e not in prepared.environments]
        if unknown:
            raise UsageError(f"unknown environment(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(prepared.environments)}")
        prepared = prepared.select(list(environments))
    e = html.escape
    out = [f'<div class="vizlib-panel" id="{e(pid)}">']
    out.append(
        f"<style>#{pid} {{font-family: sans-serif; font-size: 13px; max-width: 60em; line-height: 1.35;}} "
        f"#{pid} label {{display: inline-block; margin: 0 1.2em 0.4em 0;}} "
        f"#{pid} label span {{display: inline-block; width: 5em;}} "
        f"#{pid} input[type=range] {{vertical-align: middle; width: 9em;}} "
        f"#{pid} table {{border-collapse: collapse; margin-top: 0.5em;}} "
        f"#{pid} th, #{pid} td {{padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left;}} "
        f"#{pid} td.vx-rel, #{pid} td.vx-pct, #{pid} td.vx-ci "
        f"{{text-align: right; font-variant-numeric: tabular-nums;}} "
        f"#{pid} .vp-caveat {{color: #555; font-style: italic;}} "
        f"#{pid} td.vx-note {{color: #555; font-size: 92%; padding: 0 8px 4px 2em;}}</style>"
    )
    out.append(f"<h4>{e(title)}</h4>")
    # data-lm-suppress-shortcuts: inside JupyterLab, arrow keys on a focused slider move the slider
    # instead of reaching the notebook's keyboard shortcuts (which would move the cell selection)
    out.append('<div class="vp-sliders" data-lm-suppress-shortcuts="true">')
    shown = display_percentages(mix)
    for c in CATEGORIES:
        out.append(f'<label><span>{e(c)}</span><input class="vp-share" type="range" min="0" max="100" step="1" '
                   f'value="{round(mix[c] * 100)}" data-category="{e(c)}" aria-label="{e(c)} share in percent" '
                   f'disabled><output class="vp-share-out">{shown[c]:.1f}%</output></label>')
    out.append("</div>")
    result = evaluate(prepared, mix)
    out.append(estimate_table_html(result, mix))
    out.append(explain_html(explain_estimate(prepared, result, mix)))
    out.append('<p class="vp-help">Move a slider (or focus it and use the arrow keys): the other shares are '
               "rescaled in proportion so the shares stay at 100%. relative time = sum(share \u00d7 slowdown of "
               "the category's lmbench item); the interval comes from the joint draws over the runs "
               "(README: How the numbers are made). Without JavaScript the table shows the notebook's mix and "
               "the sliders stay disabled.</p>")
    out.append(f'<p class="vp-caveat">{e(CAVEAT)}</p>')
    out.append(f'<script type="application/json" id="{e(pid)}-data">{_json_for_script(panel_data(prepared, mix))}'
               "</script>")
    out.append("<script>" + _script().replace("__PANEL_ID__", json.dumps(pid)) + "</script>")
    out.append("</div>")
    return "\n".join(out)


class Panel:
    """``render``'s HTML with ``_repr_html_``, so ``display(Panel(...))`` gives a ``text/html`` output."""

    def __init__(self, prepared: Prepared, mix, **kwargs):
        self.html = render(prepared, mix, **kwargs)

    def _repr_html_(self) -> str:
        return self.html
