"""Durations, Kubernetes quantities and names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ailab.spec.types import byte_count, check_dns_label, cpu_cores, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"), [("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)), ("7d", timedelta(days=7))]
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "7", "1w", "-1d", "0h", "1.5h", "12 h", "h12", "1d2h", "\uff17d", "1\u0662h", "9" * 5000 + "d"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1000001d", "99999999999d", "9" * 30 + "m"])
def test_too_long_durations(text: str) -> None:
    """Refused as a ValueError (a located spec error, a one-line --ttl error), not an OverflowError."""
    with pytest.raises(ValueError, match=r"is too long a duration; at most 1000000d"):
        parse_duration(text)
    assert parse_duration("1000000d") == timedelta(days=10**6)


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from("mhd"))
def test_duration_round_trip(count: int, unit: str) -> None:
    value = parse_duration(f"{count}{unit}")
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(("text", "cores"), [("4", 4.0), ("0.5", 0.5), ("500m", 0.5), ("2500m", 2.5)])
def test_cpu(text: str, cores: float) -> None:
    assert cpu_cores(text) == cores


@pytest.mark.parametrize(
    ("text", "count"), [("1Ki", 1024), ("16Gi", 16 * 2**30), ("500M", 500 * 10**6), ("1.5Gi", int(1.5 * 2**30)), ("42", 42)]
)
def test_sizes(text: str, count: int) -> None:
    assert byte_count(text) == count


@pytest.mark.parametrize("text", ["4\n", "500m\n", "1,5", "\uff14", "9" * 5000])
def test_bad_cpu(text: str) -> None:
    with pytest.raises(ValueError, match="not a CPU quantity"):
        cpu_cores(text)


@pytest.mark.parametrize("text", ["16GB", "Gi", "-1Gi", "1 Gi", "16Gi\n", "\uff11\uff16Gi", "9" * 5000])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        byte_count(text)


@pytest.mark.parametrize("name", ["a", "audit-2026-001", "x" * 63])
def test_dns_labels(name: str) -> None:
    assert check_dns_label(name) == name


@pytest.mark.parametrize("name", ["", "-a", "a-", "A", "a_b", "a.b", "../x", "a b", "x" * 64, "a;b", "a\n"])
def test_bad_dns_labels(name: str) -> None:
    with pytest.raises(ValueError, match="not a DNS label"):
        check_dns_label(name)


def test_a_refused_value_is_shown_cut_short() -> None:
    with pytest.raises(ValueError, match="duration") as refused:
        parse_duration("9" * 5000 + "d")
    assert len(str(refused.value)) < 200
