"""Reading the lab specification inside a running Pulumi program (real engine or mock monitor)."""

from __future__ import annotations

import json

from ailab.errors import BadInputError
from ailab.spec.errors import render_path
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import LAB_KEY, parse_lab, secret_field_paths


def spec_from_pulumi_config() -> LabSpec:
    """The spec from the running stack's ``ailab:lab`` config.

    The engine hands structured config over as JSON, decrypted; a key holding any
    ``secure:`` value is flagged secret as a whole. Secret-typed fields present in a key
    that is not flagged were therefore written in plain text, which is refused.
    """
    import pulumi
    from pulumi.runtime.config import get_config, is_config_secret

    raw = get_config(LAB_KEY)
    if raw is None:
        raise BadInputError(f"stack {pulumi.get_stack()}: no {LAB_KEY} config; add the lab specification to the stack file")
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as err:
        raise BadInputError(f"stack {pulumi.get_stack()}: {LAB_KEY} is not structured config ({err.msg})") from None
    spec = parse_lab(data)
    plain = secret_field_paths(spec) if not is_config_secret(LAB_KEY) else []
    if plain:
        raise BadInputError(
            f"stack {pulumi.get_stack()}: {render_path(plain[0])}: secret in plain text; encrypt it with "
            f"pulumi config set --secret --path '{render_path(plain[0], LAB_KEY)}'"
        )
    return spec
