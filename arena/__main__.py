"""``python -m arena``: the installed package must win over an ``arena/`` folder in the cwd."""
from arena.package_guard import ensure_installed_package

ensure_installed_package()

from arena.cli import main  # noqa: E402 - after the package is known to be the real one

main()
