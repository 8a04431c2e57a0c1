"""The Plugins page: installed plugins, and cells or tasks stored but not installed."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from arena.app import data
from arena.errors import StoreError
from arena.app.pages.shared import _host


# -- Plugins -------------------------------------------------------------------------------------
def plugins_page() -> None:
    st.title("Plugins")
    host = _host()
    url = data.db_url()
    st.sidebar.caption(f"Store: {data.shown(url)} · read-only")
    records = [r.as_dict() for r in host.plugins.values()]
    broken = [r for r in records if r["error"]]
    for r in broken:
        st.error(f"**{r['name']}** ({r['distribution']} {r['version']}) failed to load:\n\n```\n{r['error']}\n```")
    if not broken:
        st.success(f"{len(records)} plugins loaded without errors.")
    st.subheader("Installed plugins")
    st.dataframe(pd.DataFrame([{"name": r["name"], "distribution": r["distribution"], "version": r["version"],
                                "module": r["module"], "hooks": ", ".join(r["hooks"]),
                                "registered": ", ".join(r["cells"] + r["tasks"] + r["executors"]),
                                "status": "ok" if not r["error"] else "error"} for r in records]),
                 hide_index=True, key="pl_plugins")
    versions = {r["name"]: r["version"] for r in records}
    st.subheader("Cells")
    st.dataframe(pd.DataFrame([{"cell": e.name, "summary": e.info.summary, "reference": e.info.reference,
                                "cell version": e.info.version, "plugin": e.plugin,
                                "plugin version": versions.get(e.plugin, ""),
                                "options": json.dumps(dict(e.info.options), default=str),
                                "capabilities": ", ".join(e.info.capabilities)} for e in host.cells]),
                 hide_index=True, key="pl_cells")
    st.subheader("Tasks")
    st.dataframe(pd.DataFrame([{"task": e.name, "summary": e.info.summary, "reference": e.info.reference,
                                "task version": e.info.version, "plugin": e.plugin,
                                "plugin version": versions.get(e.plugin, ""),
                                "main metric": f"{e.info.main_metric} {e.info.metric(e.info.main_metric).arrow}",
                                "presets": ", ".join(e.info.presets)} for e in host.tasks]),
                 hide_index=True, key="pl_tasks")
    _stored_not_installed(url, host)


def _stored_not_installed(url: str, host: Any) -> None:
    try:
        frame = data.load_frame(data.open_readonly(url))
    except (StoreError, SQLAlchemyError):
        return
    cells = sorted({str(c) for c in frame.runs["cell"].unique()} - set(host.cells.names()))
    tasks = sorted({str(t) for t in frame.runs["task"].unique()} - set(host.tasks.names()))
    if cells or tasks:
        st.warning("The store has results of plugins that are not installed here (their results still show): "
                   + ", ".join([f"cell {c}" for c in cells] + [f"task {t}" for t in tasks]) + ".")
