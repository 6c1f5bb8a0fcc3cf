"""The shape of the PTSA hall that every fan-out benchmark reproduces.

10 % of the connections watch ``p0``, 30 % are spread over the seven ``p1.<code>`` rooms and 60 %
over the 33 ``p2.<code>`` rooms; each also joins its personal ``user.<name>`` room. The publisher
picks one room per event with the same 10/30/60 weights, so busy rooms are the large ones.
Unit codes are parameters: the real-hub run passes the codes from ``GET /api/v1/units``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

# Placeholder unit codes for the floor; lower-case slugs like the real ones in config/.
DEFAULT_P1_CODES = tuple(f"e1-{i:02d}" for i in range(1, 8))
DEFAULT_P2_CODES = tuple(f"e2-{i:02d}" for i in range(1, 34))


@dataclass(frozen=True)
class Hall:
    p1_codes: tuple[str, ...] = DEFAULT_P1_CODES
    p2_codes: tuple[str, ...] = DEFAULT_P2_CODES
    p0_share: float = 0.10
    p1_share: float = 0.30  # the rest, 60 %, is p2

    def __post_init__(self) -> None:
        if not self.p1_codes or not self.p2_codes:
            raise ValueError("a hall needs at least one p1 and one p2 unit code")
        if not 0 <= self.p0_share + self.p1_share <= 1:
            raise ValueError(f"p0_share + p1_share must be within 0..1, got {self}")

    def level_rooms(self, n: int, seed: int = 1) -> list[str]:
        """The level room of each of n connections, in a shuffled but reproducible order."""
        n_p0 = round(n * self.p0_share)
        n_p1 = round(n * self.p1_share)
        rooms = ["p0"] * n_p0
        rooms += [f"p1.{self.p1_codes[i % len(self.p1_codes)]}" for i in range(n_p1)]
        rooms += [f"p2.{self.p2_codes[i % len(self.p2_codes)]}" for i in range(n - n_p0 - n_p1)]
        # Shuffled so that each client process and each connect batch holds every kind of room.
        random.Random(seed).shuffle(rooms)
        return rooms

    def pick_room(self, rng: random.Random) -> str:
        """One room for one published event, weighted like the connections."""
        draw = rng.random()
        if draw < self.p0_share:
            return "p0"
        if draw < self.p0_share + self.p1_share:
            return f"p1.{rng.choice(self.p1_codes)}"
        return f"p2.{rng.choice(self.p2_codes)}"


def hall_channels(hall: Hall, usernames: Sequence[str], seed: int = 1) -> list[tuple[str, ...]]:
    """Channels joined by each connection: its level room, then its personal room."""
    levels = hall.level_rooms(len(usernames), seed)
    return [(level, f"user.{name}") for level, name in zip(levels, usernames, strict=True)]
