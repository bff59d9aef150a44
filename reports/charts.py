"""Ordinary charts (bars per command) drawn by pygal as inline SVG: no script, prints as it shows.

Response times are drawn as a percentage of the document's Maximum Response Time of each
command, so a 300 ms and a 75 s maximum share one axis and the 100 % line is the limit.
"""
from __future__ import annotations

from typing import Any

import pygal
from pygal.style import Style

STYLE = Style(background="white", plot_background="white", font_family="sans-serif",
              foreground="#333", foreground_strong="#111", foreground_subtle="#ccc",
              colors=("#8fbbe8", "#1f4e79", "#e8a33d"), guide_stroke_color="#e4e4e4",
              major_guide_stroke_color="#c0002a", value_font_size=10, label_font_size=11,
              major_label_font_size=11, legend_font_size=11, title_font_size=13)


def _ms(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _value(elapsed: float, maximum: float, what: str) -> dict[str, Any]:
    pct = elapsed / maximum * 100 if maximum else 0.0
    return {"value": pct, "formatter": lambda _v: f"{what} {_ms(elapsed)}",
            "label": f"{what} {_ms(elapsed)} = {pct:.1f} % of {_ms(maximum)}"}


def _chart(title: str, labels: list[str], top: float, series: int, width: int = 940) -> pygal.HorizontalBar:
    top = max(110.0, top * 1.1)
    step = 25 if top <= 200 else 50 if top <= 400 else 100
    chart = pygal.HorizontalBar(
        width=width, height=90 + len(labels) * (16 * series + 14), js=[], disable_xml_declaration=True,
        explicit_size=True, style=STYLE, title=title, print_values=True, print_values_position="top",
        legend_at_bottom=True, legend_at_bottom_columns=4, range=(0, top), truncate_label=-1,
        y_labels=list(range(0, int(top) + 1, step)), y_labels_major=[100], show_minor_y_labels=True,
        value_formatter=lambda v: f"{v:g} %", margin_bottom=4)
    chart.x_labels = labels
    return chart


def _label(row: dict[str, Any]) -> str:
    return f"{row['command']} (max {_ms(float(row['documented_max']))})"


def response_times(rows: list[dict[str, Any]], width: int = 940) -> str:
    """Median and slowest response per command of the run, against its documented maximum."""
    if not rows:
        return ""
    rows = sorted(rows, key=lambda r: r["command"], reverse=True)  # pygal draws bottom-up
    top = max(float(r["max"]) / float(r["documented_max"]) * 100 for r in rows if r["documented_max"])
    chart = _chart("Response time per command, % of the document's maximum (red: the maximum)",
                   [_label(r) for r in rows], top, 2, width)
    chart.add("median", [_value(float(r["median"]), float(r["documented_max"]), "median") for r in rows])
    chart.add("slowest", [_value(float(r["max"]), float(r["documented_max"]), "max") for r in rows])
    return _figure(chart, "bg96-chart-times")


def response_times_compared(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str:
    """Old release vs new release: the median per command, against its documented maximum."""
    old_by, new_by = {r["command"]: r for r in old}, {r["command"]: r for r in new}
    commands = sorted(set(old_by) | set(new_by), reverse=True)
    if not commands:
        return ""
    rows = [new_by.get(c) or old_by[c] for c in commands]
    top = max(float(r["median"]) / float(r["documented_max"]) * 100 for r in list(old_by.values()) + list(new_by.values())
              if r["documented_max"])
    chart = _chart("Median response time per command, old vs new release, % of the document's maximum",
                   [_label(r) for r in rows], top, 2)
    for name, by in (("old release", old_by), ("new release", new_by)):
        chart.add(name, [_value(float(by[c]["median"]), float(by[c]["documented_max"]), "median")
                         if c in by else None for c in commands])
    return _figure(chart, "bg96-chart-compare")


def _figure(chart: pygal.HorizontalBar, cls: str) -> str:
    return f'<figure class="bg96-chart {cls}">{chart.render(is_unicode=True)}</figure>'
