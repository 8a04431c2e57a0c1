"""The Streamlit leaderboard app (installed as ``arena.app``; see issue 8)."""
