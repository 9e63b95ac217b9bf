"""What an auditor may ask for: ids, team members, durations, profiles, GPUs, classification, extensions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.sandbox.helpers import NOW, make_spec

from ailab.errors import BadInputError
from ailab.sandbox import ids
from ailab.sandbox.request import SandboxSpec, iso, parse_ttl
from ailab.spec.model import LabSpec


@pytest.mark.parametrize("good", ["a", "2025-017-chatbot", "x" * 40, "0-0"])
def test_audit_ids_accepted(good: str) -> None:
    assert ids.audit_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../x",
        "a b",
        "Upper",
        "x" * 41,
        "-lead",
        "trail-",
        "a;rm -rf",
        "a$(id)",
        "a`b`",
        "a|b",
        "a/b",
        "a.b",
        "é",
        "a\nb",
        "a1\n",
    ],
)
def test_audit_ids_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(BadInputError, match="use 1 to 40 lower-case letters, digits and '-'"):
        ids.audit_id(bad)


def test_team_members_look_like_usernames() -> None:
    assert ids.team("alice, bob@example.europa.eu,carol.d") == ("alice", "bob@example.europa.eu", "carol.d")
    assert ids.team(["alice", "bob,carol"]) == ("alice", "bob", "carol")
    for bad in ("alice;id", "ali ce", "-alice", "a@b", "alice@", "$(whoami)"):
        with pytest.raises(BadInputError, match="does not look like a username"):
            ids.team(bad)
    with pytest.raises(BadInputError, match="listed twice"):
        ids.team("alice,alice")
    with pytest.raises(BadInputError, match="at least one"):
        ids.team(" , ")


def test_owner_label_is_the_leads_username() -> None:
    assert ids.owner_label("bob@example.europa.eu") == "bob"
    assert ids.owner_label("alice") == "alice"


@pytest.mark.parametrize(
    ("text", "expected"), [("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)), ("7d", timedelta(days=7))]
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_ttl("--ttl", text) == expected


@pytest.mark.parametrize("bad", ["", "12", "1w", "-1h", "0h", "1.5h", "h"])
def test_bad_durations_name_the_option(bad: str) -> None:
    with pytest.raises(BadInputError, match=r"^--ttl: "):
        parse_ttl("--ttl", bad)


def test_spec_defaults_from_profile_and_lab(aws_lab: LabSpec) -> None:
    spec = make_spec(aws_lab)
    assert spec.gpus == 1
    assert spec.expires_at - spec.created_at == timedelta(hours=72)
    assert spec.data_classification == "confidential"
    assert spec.expires_at == NOW + timedelta(hours=72)
    assert spec.max_expires_at == NOW + timedelta(days=7)
    assert spec.purpose == "Audit 2025-017-chatbot"
    assert spec.lead == "alice"


def test_spec_round_trips_through_json(aws_lab: LabSpec) -> None:
    spec = make_spec(aws_lab, purpose="Bias evaluation of a chatbot")
    again = SandboxSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert '"expires_at":"2025-03-17T09:30:00Z"' in spec.model_dump_json()


def test_ttl_beyond_profile_max_refused(aws_lab: LabSpec) -> None:
    with pytest.raises(BadInputError, match="profile gpu-mig allows at most 7d"):
        make_spec(aws_lab, ttl="8d")
    assert make_spec(aws_lab, ttl="7d").expires_at == NOW + timedelta(days=7)


def test_gpus_at_most_the_profile(aws_lab: LabSpec) -> None:
    assert make_spec(aws_lab, gpus=0).gpus == 0
    with pytest.raises(BadInputError, match="--gpus 2: profile gpu-mig allows 0 to 1"):
        make_spec(aws_lab, gpus=2)
    with pytest.raises(BadInputError, match="it is a CPU profile"):
        make_spec(aws_lab, profile="cpu-small", gpus=1)


def test_unknown_profile_lists_the_known(aws_lab: LabSpec) -> None:
    with pytest.raises(BadInputError, match="profiles: cpu-small, gpu-mig, gpu-shared"):
        make_spec(aws_lab, profile="huge")


def test_classification_not_above_the_lab(aws_lab: LabSpec) -> None:
    assert make_spec(aws_lab, data_classification="internal").data_classification == "internal"
    with pytest.raises(BadInputError, match="cleared for confidential data at most"):
        make_spec(aws_lab, data_classification="restricted")
    with pytest.raises(BadInputError, match="use one of public, internal, confidential, restricted"):
        make_spec(aws_lab, data_classification="secret")


def test_group_of_another_persona_refused(aws_lab: LabSpec) -> None:
    with pytest.raises(BadInputError, match="lab's architects group"):
        make_spec(aws_lab, group="ailab-architects")
    with pytest.raises(BadInputError, match="--group"):
        make_spec(aws_lab, group="bad group")
    with pytest.raises(BadInputError, match="--group"):
        make_spec(aws_lab, group="audit-17\n")


def test_purpose_is_one_printable_line(aws_lab: LabSpec) -> None:
    with pytest.raises(BadInputError, match="--purpose"):
        make_spec(aws_lab, purpose="two\nlines")
    assert make_spec(aws_lab, purpose="  Bias evaluation ").purpose == "Bias evaluation"


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_purpose_is_the_default_one(aws_lab: LabSpec, blank: str) -> None:
    assert make_spec(aws_lab, purpose=blank).purpose == "Audit 2025-017-chatbot"


def test_extend_never_past_max(aws_lab: LabSpec) -> None:
    spec = make_spec(aws_lab)  # 72h of at most 7d
    longer = spec.extended(timedelta(days=4))
    assert longer.expires_at == spec.max_expires_at
    assert longer.created_at == spec.created_at
    with pytest.raises(
        BadInputError, match=r"past its profile's maximum lifetime \(7d, until 2025-03-21T09:30:00Z\); at most 4d more"
    ):
        spec.extended(timedelta(days=5))
    with pytest.raises(BadInputError, match="no more is allowed"):
        longer.extended(timedelta(minutes=30))


def test_iso_is_utc_to_the_second() -> None:
    assert iso(NOW) == "2025-03-14T09:30:00Z"
