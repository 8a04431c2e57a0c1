"""Entry script of the arena leaderboard app: `arena app` runs `streamlit run` on this file.

The store's URL comes from $ARENA_APP_DB (set by `arena app --db URL`), or `-- --db URL` after
the script name, or $ARENA_DB, or sqlite:///leaderboard.db. The pages live in arena.app.views.
"""
import os
import sys

from arena.app import views
from arena.app.data import DB_ENV

if "--db" in sys.argv[1:-1]:
    os.environ[DB_ENV] = sys.argv[sys.argv.index("--db", 1) + 1]

views.main()
