"""The Kubernetes support calendars: a version out of standard support is refused with the date it ended."""

from __future__ import annotations

from datetime import date

import pytest

from ailab.spec import kubernetes_support
from ailab.spec.kubernetes_support import DEFAULT_VERSION, EKS, UPSTREAM, support_problem

DAY = date(2026, 12, 6)


@pytest.mark.parametrize("calendar", ["eks", "upstream"])
def test_the_default_version_is_in_standard_support_on_both_calendars(calendar):
    assert support_problem(DEFAULT_VERSION, calendar, DAY) is None


def test_a_version_past_eks_standard_support_names_the_date_it_ended_and_the_choices():
    problem = support_problem("1.34", "eks", DAY)
    assert problem is not None
    assert "2026-12-02" in problem and "Amazon EKS standard support" in problem and "'1.35'" in problem


def test_the_day_standard_support_ends_is_still_supported():
    assert support_problem("1.34", "eks", date(2026, 12, 2)) is None
    assert support_problem("1.34", "eks", date(2026, 12, 3)) is not None


def test_a_version_older_than_the_calendar_is_refused():
    problem = support_problem("1.27", "eks", DAY)
    assert problem is not None and "long out of" in problem


def test_a_version_newer_than_the_calendar_is_refused_with_how_to_add_it():
    problem = support_problem("1.36", "eks", DAY)
    assert problem is not None and "not in ailab's" in problem and "ailab.spec.kubernetes_support" in problem
    assert support_problem("1.36", "upstream", DAY) is None


def test_calendars_are_ordered_and_dated():
    for calendar in (EKS, UPSTREAM):
        minors = [tuple(map(int, w.minor.split("."))) for w in calendar]
        assert minors == sorted(minors)
        ends = [w.end_of_standard_support for w in calendar]
        assert ends == sorted(ends)


def test_today_is_the_default_date(monkeypatch):
    monkeypatch.setattr(kubernetes_support, "today", lambda: date(2027, 4, 1))
    assert "2027-03-27" in (support_problem("1.35", "eks") or "")
