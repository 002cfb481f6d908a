"""The ``traffic`` a plan from records was sized for, as a section of ``acd plan
--html`` (the same figures as ``--json``'s ``traffic``, :mod:`acd.tools.plan.trafficjson`)."""

from __future__ import annotations

import html
from typing import Any


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def traffic_section(traffic: dict[str, Any]) -> list[str]:
    pat = traffic["patience_s"]
    tail = pat.get("tail")
    lines = ['<section id="traffic">', "<h2>The traffic estimated from the records</h2>",
             f"<p>{_e(traffic['records'])} records, {_e(traffic['from'])} → "
             f"{_e(traffic['to'])}.</p>",
             "<table>", "<tr><th>talk time: queue / role of the agent</th><th>legs</th>"
             "<th>mean</th><th>median</th><th>p90</th></tr>"]
    for key, talk in traffic["talk_s"].items():
        lines.append(f"<tr><td>{_e(key)}</td><td>{talk['n']}</td><td>{_s(talk['mean'])}</td>"
                     f"<td>{_s(talk['p50'])}</td><td>{_s(talk['p90'])}</td></tr>")
    lines.append("</table>")
    seen = "asked for" if traffic["transfers_seen"] == "attempts" else "connected"
    lines += ["<table>", f"<tr><th>transfers {seen}</th><th>share</th>"
              "<th>of the calls answered by the filière's own role</th></tr>"]
    for pair, share in traffic["transfer_share"].items():
        source = pair.split("->", 1)[0]
        lines.append(f"<tr><td>{_e(pair.replace('->', ' → '))}</td><td>{share:.1%}</td>"
                     f"<td>{traffic['transfer_calls'].get(source, 0)}</td></tr>")
    lines.append("</table>")
    lines.append(f"<p>Callers' patience: median {_s(pat['p50'])}, p75 {_s(pat['p75'])}, "
                 f"p90 {_s(pat['p90'])} ({pat['abandons']} abandons, {pat['censored']} "
                 f"censored waits); the records show it up to "
                 f"{_s(pat['observed_until_s'])}"
                 + (f", beyond that a {_e(tail['family'])} tail fitted to them (shape "
                    f"{tail['shape']:.2f}, scale {_s(tail['scale_s'])})" if tail else "")
                 + ".</p>")
    lines += _arrivals(traffic)
    lines.append("</section>")
    return lines


def _arrivals(traffic: dict[str, Any]) -> list[str]:
    """Calls a day per weekday, the busiest half-hour with its standard error, and
    what the plan was sized for."""
    planned = traffic.get("arrivals_planned")
    bound = traffic.get("arrivals_bound")
    lines = ["<table>", "<tr><th>weekday</th><th>calls a day</th><th>busiest half-hour "
             "(± standard error)</th>" + ("<th>planned for</th>" if planned else "") + "</tr>"]
    errors = traffic.get("arrivals_se", {})
    for weekday, slots in traffic["arrivals"].items():
        busiest = max(range(len(slots)), key=lambda n: slots[n])
        se = errors.get(weekday, [0.0] * len(slots))[busiest]
        cells = [_e(weekday), f"{sum(slots):.0f}",
                 f"{busiest // 2:02d}:{30 * (busiest % 2):02d} ({slots[busiest]:.1f} ± {se:.1f})"]
        if planned:
            cells.append(f"{planned[weekday][busiest]:.1f}")
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    lines.append("</table>")
    if bound:
        lines.append(f"<p>Each half-hour planned at its one-sided {bound['one_sided']:.0%} "
                     f"upper bound (estimate + {bound['z']:.2f} standard errors): a week of "
                     "records holds one day of each weekday, and a half-hour of 30 calls is "
                     "known to ±18 % from one day alone.</p>")
    return lines
