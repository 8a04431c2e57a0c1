"""The app's pages as importable functions (the Streamlit script only calls :func:`main`).

Every number comes from arena's own statistics (``arena.leaderboard`` and ``arena.stats``) via
:mod:`arena.app.data`, so the app and ``arena leaderboard`` / ``arena compare`` always agree.

Every page with results shows one **track** (:mod:`arena.tracks`), picked in the sidebar
(matched first), and says which; runs of different tracks never share a table, a heatmap or an
aggregate. Each cell's size (parameters without the token embedding, and its state size) is
shown beside its score.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from arena.app.pages.compare import compare_page
from arena.app.pages.leaderboard import leaderboard_page
from arena.app.pages.plugins import plugins_page
from arena.app.pages.runs import runs_page
from arena.app.pages.shared import column_title, csv_text, entry_text  # noqa: F401 - the tests' names
from arena.app.pages.task import task_page
from arena.app.pages.throughput import throughput_page


# -- navigation ----------------------------------------------------------------------------------
PAGES: dict[str, tuple[str, str, Callable[[], None]]] = {
    "leaderboard": ("Leaderboard", ":material/leaderboard:", leaderboard_page),
    "task": ("Task", ":material/scatter_plot:", task_page),
    "compare": ("Compare", ":material/compare_arrows:", compare_page),
    "throughput": ("Throughput", ":material/speed:", throughput_page),
    "runs": ("Runs", ":material/list:", runs_page),
    "plugins": ("Plugins", ":material/extension:", plugins_page),
}


def _config() -> None:
    try:
        st.set_page_config(page_title="arena", page_icon=":material/leaderboard:", layout="wide")
    except Exception:  # noqa: BLE001 - already configured in this run
        pass


def run_page(name: str) -> None:
    """Render one page on its own (what tests and scripts use)."""
    _config()
    PAGES[name][2]()


def main() -> None:
    """The multipage app: `streamlit run streamlit_app.py` (what `arena app` starts)."""
    _config()
    pages = [st.Page(fn, title=title, icon=icon, url_path=name, default=(name == "leaderboard"))
             for name, (title, icon, fn) in PAGES.items()]
    st.navigation(pages).run()
