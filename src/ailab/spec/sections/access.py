"""The ``access`` section: the identity provider and the OIDC groups of the three personas."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from ailab.spec.sections.common import LocatedValueError, StrictModel


class OidcSpec(StrictModel):
    """The identity provider whose users and groups the personas and sandbox teams are bound to."""

    issuer_url: str = Field(pattern=r"^https://[^\s]+$", description="HTTPS URL of the OIDC issuer.")
    client_id: str = Field(min_length=1, description="Client id the cluster's API server accepts tokens for.")
    username_claim: str = Field(default="email", description="Token claim used as the Kubernetes user name.")
    groups_claim: str = Field(default="groups", description="Token claim listing the user's groups.")
    username_prefix: str = Field(
        default="oidc:",
        description=(
            "Prefix the API server puts before every user name from this provider (EKS: set by ailab; on-premises: the API "
            "server's --oidc-username-prefix). Sandbox RoleBindings name team members with it."
        ),
    )
    groups_prefix: str = Field(
        default="oidc:",
        description="Prefix the API server puts before every group from this provider (on-premises: --oidc-groups-prefix).",
    )

    @field_validator("username_prefix", "groups_prefix")
    @classmethod
    def _safe_prefix(cls, value: str) -> str:
        # Without a prefix (or with a system: one) a token could claim a built-in identity such as system:masters.
        if not value or value.startswith("system:"):
            raise ValueError(f"{value!r} cannot be a prefix: give a non-empty one that does not start with system:, e.g. oidc:")
        return value


_GROUP = re.compile(r"^\S(?:[^\x00-\x1f\x7f]{0,254}\S)?$")


def _group(value: str) -> str:
    # Without an OIDC prefix the name is bound as it is: system:authenticated would give a persona to every user.
    if not _GROUP.match(value) or value.startswith("system:"):
        raise ValueError(
            f"{value!r} is not an OIDC group name: give the identity provider's group, without control characters or "
            "surrounding spaces, and not starting with system:"
        )
    return value


Group = Annotated[str, AfterValidator(_group)]


class AccessSpec(StrictModel):
    """The three personas, each bound to least-privilege roles through its OIDC groups."""

    oidc: OidcSpec | None = Field(
        default=None, description="AWS: registered on EKS. On-premises: configured on the API server already."
    )
    architects: list[Group] = Field(
        min_length=1, description="OIDC groups of architects: manage the platform namespaces, read the cluster."
    )
    auditors: list[Group] = Field(
        min_length=1, description="OIDC groups of auditors: list namespaces; each sandbox grants its team more inside it."
    )
    reviewers: list[Group] = Field(min_length=1, description="OIDC groups of security reviewers: read-only, Secrets excluded.")
    sandbox_operators: list[Group] = Field(
        default_factory=list,
        description=(
            "OIDC groups that may create and destroy sandboxes (ailab sandbox create/destroy/reap) without cluster-admin: "
            "namespaces named audit-* and what a sandbox holds inside them. On AWS, also whoever assumes the "
            "sandbox-operator IAM role (aws.sandbox_operator_principals)."
        ),
    )

    def kubernetes_user(self, name: str) -> str:
        """The user name the API server sees for a person of the identity provider (the prefix when there is one)."""
        return f"{self.oidc.username_prefix}{name}" if self.oidc is not None else name

    def kubernetes_group(self, name: str) -> str:
        """The group name the API server sees for a group of the identity provider (the prefix when there is one)."""
        return f"{self.oidc.groups_prefix}{name}" if self.oidc is not None else name

    @model_validator(mode="after")
    def _separation_of_duties(self) -> AccessSpec:
        personas = {
            "architects": self.architects,
            "auditors": self.auditors,
            "reviewers": self.reviewers,
            "sandbox_operators": self.sandbox_operators,
        }
        seen: dict[str, str] = {}
        for persona, groups in personas.items():
            for index, group in enumerate(groups):
                if group in seen and seen[group] != persona:
                    raise LocatedValueError(
                        (persona, index),
                        f"group {group!r} is also in {seen[group]}; a group holds one persona (separation of duties)",
                    )
                seen[group] = persona
        return self
