"""``python -m gitgrid`` is the ``gitgrid`` command."""

from gitgrid.cli import main

main()
