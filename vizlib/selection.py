"""Product selection as a person reads it: the functional tables, the rule checks, the ranking,
and ipywidgets that re-rank live (notebook ``05_product_selection``).

Views (HTML strings; every string from a table, a manifest or a parameter is escaped with
``html.escape``, numbers are formatted for reading only, and each table fits 900 px):

- ``functional_html``: a functional table (today's, with its per-aspect sources and as-of dates,
  or the 2009 snapshot), one row per technology with the notes and sources folded under it;
- ``checks_html``: every technology against each rule, in the source's order;
- ``ranking_html``: the ranking, rank first, the expected relative time with its interval as text
  ("1.09× [1.05, 1.13]"), passes or fails with the reason.

``SelectionPanel`` owns the requirement widgets (architecture, guest OS, fault isolation, live
migration, hardware virtualization available, which functional table) and re-ranks on every
change with ``vizlib.functional.ranking``; the overhead estimate itself does not change with the
requirements, so an update is a table lookup, not a new model run.
"""

from __future__ import annotations

import html
from typing import Mapping

import pandas as pd

from . import functional
from .errors import UsageError
from .views import times_interval_text

__all__ = ["ranking_html", "functional_html", "checks_html", "SelectionPanel", "ANY"]

_E = html.escape
ANY = "(any)"
MAX_WIDTH = "900px"
_TABLE_STYLE = (f"max-width:{MAX_WIDTH};width:100%;table-layout:fixed;border-collapse:collapse;"
                "font-size:13px;line-height:1.35")
_CELL = "padding:3px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere;border-bottom:1px solid #ddd"
_NUM = _CELL + ";text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap"
_HEAD = _CELL + ";border-bottom:2px solid #999;font-weight:600;overflow-wrap:normal;hyphens:manual"


def _verdict(passes: bool, reason: str) -> str:
    if passes:
        return "passes"
    return "no functional data" if reason.startswith("no functional data") else "fails"


def ranking_html(ranking: pd.DataFrame, *, caption: str | None = None) -> str:
    """The ranking (``functional.ranking`` output) as a readable table: rank, environment,
    technology, expected relative time [95% interval], passes / fails / no functional data, reason."""
    cols = [("rank", "6%"), ("environment", "15%"), ("technology", "12%"),
            ("expected relative time [95% interval]", "21%"), ("functions", "11%"), ("why", "35%")]
    head = "".join(f'<th style="{_HEAD}">{_E(c)}</th>' for c, _ in cols)
    body = []
    for r in ranking.to_dict("records"):
        rank = r["rank"]
        has_rank = rank is not None and not pd.isna(rank)
        verdict = _verdict(bool(r["passes"]), str(r["reason"]))
        colour = {"passes": "#1e4620", "fails": "#8a1c1c"}.get(verdict, "#555")
        time_text = times_interval_text(r["relative_time"], r["ci_low"], r["ci_high"])
        body.append(
            f'<tr class="vs-row" data-environment="{_E(str(r["environment"]))}" '
            f'data-rank="{int(rank) if has_rank else ""}">'
            f'<td class="vs-rank" style="{_NUM};font-weight:600">{int(rank) if has_rank else "–"}</td>'
            f'<td class="vs-env" style="{_CELL}">{_E(str(r["environment"]))}</td>'
            f'<td class="vs-tech" style="{_CELL}">{_E(str(r["technology"]))}</td>'
            f'<td class="vs-time" style="{_NUM}">{_E(time_text)}</td>'
            f'<td class="vs-verdict" style="{_CELL};color:{colour};font-weight:600">{_E(verdict)}</td>'
            f'<td class="vs-reason" style="{_CELL}">{_E(str(r["reason"]))}</td></tr>')
    if not body:
        body.append(f'<tr><td colspan="{len(cols)}" style="{_CELL}">No environment to rank.</td></tr>')
    cap = caption if caption is not None else (
        "Rank 1 = the lowest expected relative run time for the mix among the environments that pass; 1.00× = as "
        "fast as the baseline. Overlapping intervals mean the data cannot tell two environments apart.")
    colgroup = "".join(f'<col style="width:{w}">' for _, w in cols)
    return (f'<table class="vizlib-ranking" style="{_TABLE_STYLE}"><colgroup>{colgroup}</colgroup>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            f'<caption style="caption-side:bottom;text-align:left;color:#555;font-size:90%;padding-top:4px">'
            f'{_E(cap)}</caption></table>')


def _guests_text(r: Mapping) -> str:
    kinds = []
    if r["guest_linux_any"] == "yes" and r["guest_kernel"] == "shared with host":
        kinds.append("Linux user spaces on the host's kernel")
    elif r["guest_linux_any"] == "yes" and r["guest_kernel"] == "user-space kernel":
        kinds.append("Linux programs (no Linux kernel boots)")
    elif r["guest_linux_any"] == "yes":
        kinds.append("Linux in general")
    elif r["guest_linux_pv"] == "yes":
        kinds.append("paravirtualization-enabled Linux only")
    if r["guest_windows"] == "yes":
        kinds.append("Windows" + (f" ({r['guest_windows_min']} and later)" if r.get("guest_windows_min") else ""))
    return ", ".join(kinds) or "none listed"


_KERNEL_TEXT = {"own": "own", "shared with host": "the host's (shared)", "user-space kernel": "user-space kernel"}


def _source_items(r: Mapping) -> list[tuple[str, str]]:
    """(aspect, citation) pairs of a row: the per-aspect citations of today's table, else ``source``."""
    names = {"source_architectures": "architectures", "source_hw_virt": "hardware virtualization",
             "source_guests": "guests", "source_fault_isolation": "fault isolation",
             "source_live_migration": "live migration"}
    items = [(names[c], cit.strip()) for c in functional.SOURCE_COLUMNS if r.get(c)
             for cit in str(r[c]).split(" | ") if cit.strip()]
    return items or [("all aspects", str(r.get("source", "")))]


def _citation_html(text: str) -> str:
    """A citation as escaped text, its URL in a code font for copying. Never a link: a shared report
    links and loads nothing outside itself."""
    first, _, rest = text.partition(" ")
    if first.startswith(("https://", "http://")):
        return f'<code style="overflow-wrap:anywhere">{_E(first)}</code> {_E(rest)}'
    return _E(text)


def functional_html(functional_df: pd.DataFrame, *, manifest=None, order=None, title: str | None = None) -> str:
    """A functional table, one row per technology: architectures, hardware virtualization needed,
    guests, guest kernel, impact of a guest OS failure, live migration, as of; the notes and every
    source are folded under each row (``<details>``, no script). With ``manifest`` and ``order``
    the technology cell names the environments measured here."""
    label = title or functional.table_label(functional_df)
    dates = sorted(set(functional_df["as_of"]))
    span = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}" if dates else "unknown"
    cols = [("technology", "15%"), ("host architectures", "14%"), ("needs Intel VT-x / AMD-V", "9%"),
            ("guests", "17%"), ("guest kernel", "10%"), ("a guest OS failure", "12%"), ("live migration", "10%"),
            ("as of", "13%")]
    head = "".join(f'<th style="{_HEAD}">{_E(c)}</th>' for c, _ in cols)
    body = []
    for r in functional_df.to_dict("records"):
        measured = ""
        if manifest is not None and order is not None:
            names = [n for n in order if manifest.environments[n].technology == r["technology"]]
            if names:
                measured = f'<br><span style="color:#1e4620">measured here: {_E(", ".join(names))}</span>'
        impact = {"limited": "limited impact on other guests", "affects_others": "affects the other guests"}
        cells = [  # "id: product" in one text node: a bare id would read like a measured environment's name
            f'{_E(r["technology"])}: <span style="color:#555">{_E(r["product"])}</span>{measured}',
            _E(r["architectures"].replace(";", ", ")),
            _E(r["hw_virt_required"]),
            _E(_guests_text(r)),
            _E(_KERNEL_TEXT.get(r["guest_kernel"], r["guest_kernel"])),
            _E(impact.get(r["fault_isolation"], r["fault_isolation"])),
            _E(r["live_migration"]),
            _E(r["as_of"]),
        ]
        body.append('<tr class="vf-row" data-technology="' + _E(r["technology"]) + '">'
                    + "".join(f'<td style="{_CELL};border-bottom:none">{c}</td>' for c in cells) + "</tr>")
        notes = [(k, r[c]) for k, c in (("architectures", "architectures_note"), ("guests", "guest_os_note"),
                                        ("fault isolation", "fault_isolation_note"),
                                        ("live migration", "live_migration_note")) if r.get(c)]
        note_html = "".join(f"<li><i>{_E(k)}</i>: {_E(v)}</li>" for k, v in notes)
        src_html = "".join(f"<li><i>{_E(k)}</i>: {_citation_html(v)}</li>" for k, v in _source_items(r))
        body.append(f'<tr class="vf-details"><td colspan="{len(cols)}" style="{_CELL}">'
                    f'<details><summary style="cursor:pointer;color:#0d3c61">notes and sources of '
                    f'{_E(r["technology"])}</summary>'
                    f'<ul style="margin:2px 0 2px 1.2em;padding:0">{note_html}</ul>'
                    f'<div style="margin-top:2px">sources:</div>'
                    f'<ul style="margin:2px 0 4px 1.2em;padding:0">{src_html}</ul></details></td></tr>')
    colgroup = "".join(f'<col style="width:{w}">' for _, w in cols)
    caption = (f"<b>{_E(label)}</b>: {len(functional_df)} technologies, facts as of {_E(span)}. It describes the "
               "versions named in each row, not your installation: check your product's documentation before relying "
               "on a row.")
    return (f'<table class="vizlib-functional" data-table="{_E(str(functional_df.attrs.get("table", "")))}" '
            f'style="{_TABLE_STYLE}"><colgroup>{colgroup}</colgroup>'
            f'<caption style="caption-side:top;text-align:left;padding-bottom:4px">{caption}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def requirements_text(arch=None, guest_os=None, need_fault_isolation=False, need_live_migration=False,
                      hw_virt_available=True) -> str:
    """The requirements in one line, as the notebook and the widgets state them."""
    guest = functional.GUEST_OS.get(guest_os, guest_os) if guest_os else "any"
    return (f"architecture {arch or 'any'}; guest OS: {guest}; hardware virtualization "
            f"{'available' if hw_virt_available else 'not available'}; fault isolation "
            f"{'required' if need_fault_isolation else 'not required'}; live migration "
            f"{'required' if need_live_migration else 'not required'}")


def checks_html(checked: pd.DataFrame) -> str:
    """``functional.check_products`` output: one row per technology, one column per rule in the
    source's order ("ok" or "fails"), then the first reason and what still applies."""
    rules = functional.RULES
    short = {"arch": "archi\u00adtecture", "hw": "VT-x / AMD-V", "guest": "guest OS", "fault": "fault iso\u00adlation",
             "migration": "live migra\u00adtion"}
    cols = [("technology: result", "17%")] + [(f"{i} {short.get(rule.key, rule.label)}", "8%") for i, rule in
                                              enumerate(rules, 1)] + [("why / what still applies", "43%")]
    head = "".join(f'<th style="{_HEAD}">{_E(c)}</th>' for c, _ in cols)
    body = []
    for r in checked.to_dict("records"):
        # "id: result" in one cell: a bare id would read like a measured environment's name
        cells = [f"{_E(r['technology'])}: <b>{'passes' if r['meets'] else 'excluded'}</b>"]
        for rule in rules:
            ok = bool(r[f"{rule.key}_ok"])
            cells.append(f'<span style="color:{"#1e4620" if ok else "#8a1c1c"}">{"ok" if ok else "fails"}</span>')
        why = r["reason"] + (f"; also fails: {r['also_fails']}" if r["also_fails"] else "") if not r["meets"] \
            else (r["applies"] or "")
        cells.append(_E(why))
        body.append('<tr class="vc-row" data-technology="' + _E(r["technology"]) + '">'
                    + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>")
    colgroup = "".join(f'<col style="width:{w}">' for _, w in cols)
    return (f'<table class="vizlib-checks" style="{_TABLE_STYLE}"><colgroup>{colgroup}</colgroup>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


class SelectionPanel:
    """Requirement widgets that re-rank live; display it in a notebook.

    ``technologies``: environment -> manifest technology; ``estimate``: the share model's estimate
    for the chosen mix (``ModelInputs.estimate``). The other arguments are the initial state (the
    notebook's parameters). ``tables`` maps "today" / "2009" to loaded functional tables (loaded
    on demand when omitted). ``ranking`` is the current ranking DataFrame; ``output`` the HTML
    widget showing it.
    """

    def __init__(self, technologies: Mapping[str, str], estimate: pd.DataFrame, *, arch: str | None = "x86_64",
                 guest_os: str | None = "linux", need_fault_isolation: bool = False, need_live_migration: bool = False,
                 hw_virt_available: bool = True, functional_table: str = functional.DEFAULT_TABLE,
                 tables: Mapping[str, pd.DataFrame] | None = None):
        import ipywidgets as W

        if functional_table not in functional.TABLES:
            raise UsageError(f"functional_table is one of {', '.join(functional.TABLES)}, "
                                        f"not {functional_table!r}")
        self.technologies = dict(technologies)
        self.estimate = estimate
        self.tables = dict(tables or {})
        wide = {"description_width": "14em"}
        self.arch = W.Dropdown(options=[(ANY, None)] + [(a, a) for a in functional.ARCHITECTURES],
                               value=arch or None, description="host architecture", style=wide,
                               layout=W.Layout(width="26em"))
        self.guest_os = W.Dropdown(options=[(ANY, None)] + [(f"{k}: {v}", k) for k, v in functional.GUEST_OS.items()],
                                   value={"linux-pv": "linux"}.get(guest_os, guest_os) or None, description="guest OS",
                                   style=wide, layout=W.Layout(width="44em"))
        self.hw_virt = W.Checkbox(value=bool(hw_virt_available), description="host CPU has Intel VT-x / AMD-V",
                                  indent=False, layout=W.Layout(width="30em"))
        self.fault = W.Checkbox(value=bool(need_fault_isolation),
                                description="a failing guest OS must not affect the other guests", indent=False,
                                layout=W.Layout(width="30em"))
        self.migration = W.Checkbox(value=bool(need_live_migration), description="need live migration",
                                    indent=False, layout=W.Layout(width="30em"))
        self.table = W.ToggleButtons(options=[("today's table", "today"), ("2009 snapshot", "2009")],
                                     value=functional_table, description="functional table", style=wide)
        self.summary = W.HTML()
        self.output = W.HTML()
        self.ranking = None
        for w in (self.arch, self.guest_os, self.hw_virt, self.fault, self.migration, self.table):
            w.observe(self._changed, names="value")
        self.widget = W.VBox([W.HTML("<b>Requirements</b> (in the source's order; the ranking below follows them)"),
                              self.arch, self.hw_virt, self.guest_os, self.fault, self.migration, self.table,
                              self.summary, self.output], layout=W.Layout(max_width=MAX_WIDTH))
        self.update()

    def requirements(self) -> dict:
        return dict(arch=self.arch.value, guest_os=self.guest_os.value, need_fault_isolation=self.fault.value,
                    need_live_migration=self.migration.value, hw_virt_available=self.hw_virt.value)

    def _table(self, which: str) -> pd.DataFrame:
        if which not in self.tables:
            self.tables[which] = functional.load_functional(which)
        return self.tables[which]

    def update(self) -> pd.DataFrame:
        """Re-rank with the widgets' values and show the result."""
        req = self.requirements()
        self.ranking = functional.ranking(self.technologies, self.estimate, table=self._table(self.table.value), **req)
        n = int(self.ranking["rank"].notna().sum())
        self.summary.value = (f'<div style="color:#0d3c61;margin:4px 0">{_E(requirements_text(**req))}; '
                              f'{_E(functional.table_label(self._table(self.table.value)))}: {n} of '
                              f'{len(self.ranking)} environments ranked</div>')
        self.output.value = ranking_html(self.ranking)
        return self.ranking

    def _changed(self, _change) -> None:
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
