"""``python -m pyros``: the ``pyros`` command line."""

from pyros.cli import main

main()
