"""One producer, many asyncio consumers; a slow consumer loses its own oldest items only."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BACKLOG = 64  # 64 chunks of 1024 samples at 16 kHz: about 4 s of audio


class Subscription(Generic[T]):
    """A consumer's private bounded backlog. Iterate it, or ``await get()``."""

    def __init__(self, owner: FanOut[T], backlog: int, name: str) -> None:
        """Hold up to ``backlog`` unread items of ``owner``; ``name`` names the consumer in logs."""
        self._owner = owner
        self._items: deque[T] = deque()
        self._backlog = backlog
        self._wakeup = asyncio.Event()
        self._closed = False
        self.name = name
        self.dropped = 0

    def _push(self, item: T) -> None:
        if len(self._items) >= self._backlog:
            self._items.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                _LOGGER.warning("%s is too slow: %d chunks dropped", self.name, self.dropped)
        self._items.append(item)
        self._wakeup.set()

    def _end(self) -> None:
        self._closed = True
        self._wakeup.set()

    @property
    def pending(self) -> int:
        """The number of items received and not yet read."""
        return len(self._items)

    async def get(self) -> T | None:
        """Return the next item; None once the producer has ended or the subscription is closed."""
        while not self._items:
            if self._closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._items.popleft()

    def close(self) -> None:
        """Stop receiving; safe to call more than once."""
        self._owner.unsubscribe(self)
        self._end()

    def __aiter__(self) -> AsyncIterator[T]:
        """Iterate the items until the producer ends or the subscription is closed."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        while (item := await self.get()) is not None:
            yield item


class FanOut(Generic[T]):
    """Publishes items to every subscription. Call its methods on the event loop only."""

    def __init__(self) -> None:
        """Start with no subscriptions."""
        self._subscriptions: list[Subscription[T]] = []
        self._ended = False

    def subscribe(self, backlog: int = DEFAULT_BACKLOG, name: str = "consumer") -> Subscription[T]:
        """Return a new subscription holding up to ``backlog`` (at least 1) unread items.

        ``name`` identifies the consumer in the warning when it drops items. A subscription made
        after ``end`` is ended at once.
        """
        subscription = Subscription(self, max(1, backlog), name)
        if self._ended:
            subscription._end()
        else:
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription[T]) -> None:
        """Stop publishing to ``subscription``; nothing if it is not subscribed."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscribers(self) -> int:
        """The number of live subscriptions."""
        return len(self._subscriptions)

    def publish(self, item: T) -> None:
        """Give ``item`` to every subscription; a full backlog drops its oldest item."""
        for subscription in self._subscriptions:
            subscription._push(item)

    def end(self) -> None:
        """End the stream: every consumer's iteration ends after its backlog."""
        self._ended = True
        for subscription in self._subscriptions:
            subscription._end()
        self._subscriptions.clear()
