"""Which Kubernetes minor versions the lab may run, from the published support calendars.

A cluster on a version out of standard support gets no fixes (upstream), or costs an unplanned
extended-support fee and is then upgraded by force (EKS): the spec refuses it before anything is
planned, naming the date support ended. The calendars below are the published ones; a version not
listed yet is refused with the way to add it, never guessed.

- EKS: standard support 14 months from the version's EKS release (the Amazon EKS user guide's
  "Kubernetes version lifecycle" page).
- Upstream (on-premises clusters such as k3s): about 14 months of patch releases from the minor
  release (kubernetes.io "Patch Releases", support period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

Calendar = Literal["eks", "upstream"]


@dataclass(frozen=True)
class SupportWindow:
    minor: str
    end_of_standard_support: date


EKS: tuple[SupportWindow, ...] = (
    SupportWindow("1.29", date(2025, 3, 23)),
    SupportWindow("1.30", date(2025, 7, 23)),
    SupportWindow("1.31", date(2025, 11, 26)),
    SupportWindow("1.32", date(2026, 3, 23)),
    SupportWindow("1.33", date(2026, 7, 29)),
    SupportWindow("1.34", date(2026, 12, 2)),
    SupportWindow("1.35", date(2027, 3, 27)),
)
"""Amazon EKS end of standard support per minor version."""

UPSTREAM: tuple[SupportWindow, ...] = (
    SupportWindow("1.31", date(2025, 10, 28)),
    SupportWindow("1.32", date(2026, 2, 28)),
    SupportWindow("1.33", date(2026, 6, 28)),
    SupportWindow("1.34", date(2026, 10, 27)),
    SupportWindow("1.35", date(2027, 2, 28)),
    SupportWindow("1.36", date(2027, 6, 28)),
)
"""Upstream Kubernetes end of life (last patch release) per minor version."""

CALENDARS: dict[Calendar, tuple[SupportWindow, ...]] = {"eks": EKS, "upstream": UPSTREAM}
CALENDAR_NAMES: dict[Calendar, str] = {"eks": "Amazon EKS standard support", "upstream": "upstream Kubernetes support"}

DEFAULT_VERSION = "1.35"
"""The version new stacks start from: in standard support on both calendars."""


def today() -> date:
    """The date support is judged on (UTC); one function, so that tests can fix it."""
    return datetime.now(UTC).date()


def support_problem(minor: str, calendar: Calendar, on: date | None = None) -> str | None:
    """Why ``minor`` may not be used on ``calendar`` on ``on`` (default: today), or None if it may."""
    windows = CALENDARS[calendar]
    when = on or today()
    supported = [window.minor for window in windows if window.end_of_standard_support >= when]
    choices = ", ".join(f"'{minor}'" for minor in supported) or "none listed: update ailab"
    window = next((w for w in windows if w.minor == minor), None)
    if window is None:
        newest = windows[-1].minor
        if _key(minor) > _key(newest):
            return (
                f"{minor} is not in ailab's {CALENDAR_NAMES[calendar]} calendar yet (newest listed: {newest}); "
                f"use one of {choices}, or add {minor} with its published end-of-support date to ailab.spec.kubernetes_support"
            )
        return f"{minor} is long out of {CALENDAR_NAMES[calendar]}; use one of {choices}"
    if window.end_of_standard_support < when:
        return (
            f"{minor} left {CALENDAR_NAMES[calendar]} on {window.end_of_standard_support.isoformat()}; "
            f"upgrade to one of {choices} (docs/deploy.md, 'Upgrading Kubernetes')"
        )
    return None


def _key(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split("."))
