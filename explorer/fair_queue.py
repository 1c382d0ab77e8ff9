"""A queue that is fair between sessions: `explorer.jobs` keeps its queued training jobs in one,
so one browser session's many jobs never hold back another session's first."""
from __future__ import annotations

import collections
import itertools
from typing import Protocol


class Queued(Protocol):
    session: object  # whose item it is; None (no session) is a session of its own


class FairQueue:
    """Queued items (each with a `.session`), one FIFO per session, served round-robin: sessions
    take turns in the order they were last served (never served first, then by arrival).
    Iterating gives the items in the order they will be served."""

    def __init__(self):
        self._by_session: dict[object, collections.deque[Queued]] = {}
        self._served: dict[object, int] = {}  # session -> when it was last served
        self._clock = itertools.count()

    def __iter__(self):
        sessions = sorted(self._by_session, key=lambda s: self._served.get(s, -1))  # stable: ties by arrival
        queues = [list(self._by_session[s]) for s in sessions]
        for i in range(max(map(len, queues), default=0)):
            yield from (q[i] for q in queues if i < len(q))

    def __bool__(self) -> bool:
        return bool(self._by_session)

    def __contains__(self, item: Queued) -> bool:
        return item in self._by_session.get(item.session, ())

    def append(self, item: Queued) -> None:
        self._by_session.setdefault(item.session, collections.deque()).append(item)

    def remove(self, item: Queued) -> None:
        queue = self._by_session[item.session]
        queue.remove(item)
        if not queue:
            del self._by_session[item.session]

    def popleft(self) -> Queued:
        item = next(iter(self))
        self.remove(item)
        self._served[item.session] = next(self._clock)
        return item

    def clear(self) -> None:
        self._by_session.clear()
