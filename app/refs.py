"""Small immutable references to domain objects, shared by the result types of several modules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnitRef:
    """A unit as results name it: its id, code and name (never more of it)."""

    id: int
    code: str
    name: str
