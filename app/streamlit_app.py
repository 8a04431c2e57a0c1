"""Entry script of the arena leaderboard app: `arena app` runs `streamlit run` on this file.

The store's URL comes from $ARENA_APP_DB (set by `arena app --db URL`), or `-- --db URL` after
the script name, or $ARENA_DB, or sqlite:///leaderboard.db. The pages live in arena.app.views.
"""
import os
import sys

from arena.package_guard import ensure_installed_package

ensure_installed_package()  # `python -m streamlit` puts the cwd first on sys.path

from arena.app import views  # noqa: E402
from arena.app.data import DB_ENV  # noqa: E402

if "--db" in sys.argv[1:-1]:
    os.environ[DB_ENV] = sys.argv[sys.argv.index("--db", 1) + 1]

views.main()
