"""The compare view's Python side: which model the second plane shows.

The planes themselves are `plane.panel` and `plane.compare_panel`, each naming its model and its
figures above its plot; in the browser they share the pointer and, locked, the view
(explorer/component/link.js).
"""
from __future__ import annotations

from . import decide, state
from .session import Explored


def second(explored: Explored, entries) -> Explored | None:
    """The second plane's model: the one chosen on its own slider, by default the other end of
    lambda from the explored one (`decide.compare_default`); None if the library is empty."""
    ids = [e.id for e in entries]
    if not ids:
        return None
    state.init_compare(ids, decide.compare_default(explored.lam, entries))
    return Explored.of(entries[ids.index(state.get().compare_id)])
