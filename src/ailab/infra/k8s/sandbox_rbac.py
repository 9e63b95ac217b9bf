"""A team's access to one namespace: a namespaced Role of :class:`~.rbac.Grant` s, bound to people and a group.

The platform's personas get ClusterRoles (:mod:`.rbac`); a sandbox's team gets a Role in its
sandbox's namespace alone. Both write rules as :class:`~.rbac.Grant` s and groups through
:func:`~.rbac.group_subjects`, so a grant and a group name read the same wherever they are bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta
from ailab.infra.k8s.rbac import RBAC_API_GROUP, Grant, group_subjects
from ailab.spec.model import LabSpec


def team_subjects(spec: LabSpec, users: Sequence[str], groups: Sequence[str] = ()) -> list[k8s.rbac.v1.SubjectArgs]:
    """People and groups of the identity provider, named as the API server sees them (with its prefixes)."""
    people = [
        k8s.rbac.v1.SubjectArgs(kind="User", name=spec.access.kubernetes_user(user), api_group=RBAC_API_GROUP) for user in users
    ]
    return [*people, *group_subjects(spec, groups)]


def namespaced_role(
    resource_name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    grants: Sequence[Grant],
    opts: pulumi.ResourceOptions,
) -> k8s.rbac.v1.Role:
    """A Role of ``grants``, which may not use wildcards (what a wildcard grants grows with the cluster's APIs)."""
    for grant in grants:
        if "*" in (*grant.api_groups, *grant.resources, *grant.verbs):
            raise ValueError(f"{resource_name}: a team's role names what it grants, no wildcards")
    return k8s.rbac.v1.Role(resource_name, metadata=metadata, rules=[grant.rule() for grant in grants], opts=opts)


def role_binding(
    resource_name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    role: k8s.rbac.v1.Role,
    subjects: Sequence[k8s.rbac.v1.SubjectArgs],
    opts: pulumi.ResourceOptions,
) -> k8s.rbac.v1.RoleBinding:
    """``role`` bound to ``subjects`` in the role's namespace; it refers to the role by its Output, so it follows the role."""
    return k8s.rbac.v1.RoleBinding(
        resource_name,
        metadata=metadata,
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API_GROUP, kind="Role", name=meta.name_of(role)),
        subjects=list(subjects),
        opts=opts,
    )
