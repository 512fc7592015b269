"""The run layer's name for :mod:`gitgrid.locks` (moved down to the foundations so that ``create --force``,
in the sweep layer, can hold a sweep's run lock too, #17)."""

from __future__ import annotations

from gitgrid.locks import Held, first_free, hold, remove_held, try_lock

__all__ = ["Held", "first_free", "hold", "remove_held", "try_lock"]
