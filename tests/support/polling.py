"""Waiting for a condition that other sessions decide when it comes true."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> bool:
    """Whether `check` comes true within `seconds`, asked every 50 ms (other sessions' open
    transactions may hold PostgreSQL's xmin back for a moment)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
