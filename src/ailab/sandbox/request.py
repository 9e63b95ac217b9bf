"""What an auditor asked for, checked against the lab: :class:`SandboxSpec`.

A spec is built once, at ``create``, and then stored (in the local index and in the sandbox
stack's config) so every later operation sees the same request: the profile is kept as it was
when the sandbox was created, and so are the moments it expires at and may live until.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from pydantic import BaseModel, ConfigDict, field_serializer

from ailab.errors import BadInputError
from ailab.sandbox import ids
from ailab.spec.constants import CLASSIFICATION_ORDER
from ailab.spec.model import DataClassification, LabSpec, SandboxProfile
from ailab.spec.types import format_duration, parse_duration


def parse_ttl(option: str, text: str) -> timedelta:
    """A duration given on the command line (``30m``, ``12h``, ``7d``), or a refusal naming the option."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise BadInputError(f"{option}: {err}") from None


def utc_now() -> datetime:
    """Now, in UTC, to the second (every stored and printed moment has this precision)."""
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """``2025-03-14T09:30:00Z``: the one spelling of a moment in annotations, files and the log."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SandboxSpec(BaseModel):
    """One sandbox, as requested and validated. Immutable; :meth:`extended` makes the next version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audit_id: str
    lab_stack: str
    profile_name: str
    profile: SandboxProfile
    team: tuple[str, ...]
    group: str | None = None
    gpus: int
    purpose: str
    data_classification: DataClassification
    created_at: datetime
    expires_at: datetime
    max_expires_at: datetime
    requested_by: str

    @field_serializer("created_at", "expires_at", "max_expires_at")
    def _moment(self, value: datetime) -> str:
        return iso(value)

    @property
    def lead(self) -> str:
        """The first team member: the sandbox's owner."""
        return self.team[0]

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def extended(self, by: timedelta) -> SandboxSpec:
        """The spec expiring ``by`` later; never past :attr:`max_expires_at`."""
        new_expiry = self.expires_at + by
        if new_expiry > self.max_expires_at:
            room = self.max_expires_at - self.expires_at
            limit = f"at most {format_duration(room)} more" if room >= timedelta(minutes=1) else "no more"
            raise BadInputError(
                f"--by {format_duration(by)}: sandbox {self.audit_id} would expire at {iso(new_expiry)}, past its profile's "
                f"maximum lifetime ({format_duration(self.profile.max_ttl)}, until {iso(self.max_expires_at)}); {limit} is allowed"
            )
        return self.model_copy(update={"expires_at": new_expiry})


def build_spec(
    lab: LabSpec,
    *,
    audit_id: str,
    lab_stack: str,
    team: str | list[str],
    profile: str,
    requested_by: str,
    group: str | None = None,
    ttl: str | None = None,
    gpus: int | None = None,
    purpose: str | None = None,
    data_classification: str | None = None,
    now: datetime | None = None,
) -> SandboxSpec:
    """Validate a request against ``lab`` (its profiles, classification and personas) and fix its moments."""
    audit_id = ids.audit_id(audit_id)
    members = ids.team(team)
    chosen = _profile(lab, profile)
    lifetime = parse_ttl("--ttl", ttl) if ttl is not None else chosen.default_ttl
    if lifetime > chosen.max_ttl:
        raise BadInputError(
            f"--ttl {format_duration(lifetime)}: profile {profile} allows at most {format_duration(chosen.max_ttl)}; "
            "ask for less (you can extend later, up to that maximum)"
        )
    created = (now or utc_now()).replace(microsecond=0)
    return SandboxSpec(
        audit_id=audit_id,
        lab_stack=lab_stack,
        profile_name=profile,
        profile=chosen,
        team=members,
        group=_group(lab, group) if group is not None else None,
        gpus=_gpus(chosen, profile, gpus),
        purpose=ids.purpose(purpose or "") or f"Audit {audit_id}",
        data_classification=_classification(lab, data_classification),
        created_at=created,
        expires_at=created + lifetime,
        max_expires_at=created + chosen.max_ttl,
        requested_by=requested_by,
    )


def _profile(lab: LabSpec, name: str) -> SandboxProfile:
    try:
        return lab.sandbox.profiles[name]
    except KeyError:
        known = ", ".join(sorted(lab.sandbox.profiles))
        raise BadInputError(f"--profile {name!r}: no such sandbox profile in this lab; profiles: {known}") from None


def _gpus(profile: SandboxProfile, name: str, gpus: int | None) -> int:
    """``--gpus`` may ask for fewer GPUs than the profile gives (0 included), never more."""
    if gpus is None:
        return profile.gpus
    if gpus < 0 or gpus > profile.gpus:
        allowed = f"0 to {profile.gpus}" if profile.gpus else "0 (it is a CPU profile)"
        raise BadInputError(f"--gpus {gpus}: profile {name} allows {allowed}")
    return gpus


def _classification(lab: LabSpec, level: str | None) -> DataClassification:
    """Defaults to the lab's level; a sandbox may hold data as sensitive as the lab is cleared for, not more."""
    ceiling = lab.tags.data_classification
    if level is None:
        return ceiling
    if level not in CLASSIFICATION_ORDER:
        raise BadInputError(f"--data-classification {level!r}: use one of {', '.join(CLASSIFICATION_ORDER)}")
    if CLASSIFICATION_ORDER.index(level) > CLASSIFICATION_ORDER.index(ceiling):
        raise BadInputError(
            f"--data-classification {level}: this lab is cleared for {ceiling} data at most; "
            "process the data in a lab cleared for it"
        )
    return cast(DataClassification, level)


def _group(lab: LabSpec, name: str) -> str:
    """A team group; the architects' and reviewers' groups are refused (separation of duties)."""
    value = ids.group(name)
    for persona, groups in (("architects", lab.access.architects), ("reviewers", lab.access.reviewers)):
        if value in groups:
            raise BadInputError(
                f"--group {value}: it is the lab's {persona} group; a sandbox is for an audit team (separation of duties)"
            )
    return value
