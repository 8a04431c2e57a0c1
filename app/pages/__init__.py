"""The app's pages, one module each (arena.app.views puts them in the navigation)."""

