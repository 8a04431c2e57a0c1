"""Rendering rows of dicts as a terminal table, CSV, JSON, Markdown or LaTeX."""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

FORMATS = ("table", "csv", "json", "markdown")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, fmt: str = "table") -> str:
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        return json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=2, default=str)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in columns])
        return buf.getvalue().rstrip("\n")
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    from tabulate import tabulate  # the terminal, Markdown and LaTeX layouts

    if fmt == "markdown":
        esc = [[v.replace("|", "\\|") for v in row] for row in cells]
        return tabulate(esc, headers=columns, tablefmt="github", disable_numparse=True)
    if fmt == "latex":
        def tex(v: str) -> str:
            for a, b in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("_", "\\_"), ("#", "\\#"),
                         ("±", "$\\pm$"), ("↑", "$\\uparrow$"), ("↓", "$\\downarrow$")):
                v = v.replace(a, b)
            return v
        return tabulate([[tex(v) for v in row] for row in cells], headers=[tex(c) for c in columns],
                        tablefmt="latex_raw", disable_numparse=True)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    return tabulate(cells, headers=columns, tablefmt="simple", disable_numparse=True)
