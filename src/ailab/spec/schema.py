"""The JSON Schema of a whole stack file (``stacks/Pulumi.<stack>.yaml``), for editors.

It accepts what ailab accepts, as far as a schema can say it: the top-level keys Pulumi writes,
the lab under ``config: ailab:lab`` with every section and constraint of :class:`LabSpec`, other
providers' keys (``aws:region``) as they are, and each secret only as ``{secure: v1:...}`` (a plain
text secret is refused, as ``ailab lab validate`` refuses it). Rules that span sections (an ``aws``
section for an aws target, pool names used by profiles) are ailab's to check; the schema cannot.

Point the YAML language server at it with a first line in the stack file::

    # yaml-language-server: $schema=../docs/schemas/stack-file.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from ailab.spec.model import LabSpec
from ailab.spec.stackfile import LAB_KEY

SCHEMA_ID = "https://ailab.eu/schemas/stack-file/v1.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
CIPHERTEXT = r"^v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/]+={0,2}$"
"""Pulumi's ``v1:<base64 12-byte nonce>:<base64 ciphertext>``."""
SALT = r"^v1:[A-Za-z0-9+/]+={0,2}:v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/]+={0,2}$"

SECURE_VALUE: dict[str, Any] = {
    "description": "An encrypted value: set it with pulumi config set --secret --path ...",
    "type": "object",
    "properties": {"secure": {"type": "string", "pattern": CIPHERTEXT}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict[str, Any]:
    """The schema document (``$schema``, ``$id``, the lab's definitions under ``$defs``)."""
    lab = _secure_secrets(LabSpec.model_json_schema(ref_template="#/$defs/{model}"))
    definitions = lab.pop("$defs", {})
    definitions["LabSpec"] = lab
    definitions["SecureValue"] = SECURE_VALUE
    project = LAB_KEY.split(":", 1)[0]
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "ailab stack file",
        "description": "A Pulumi stack file of the ailab project: the lab specification under config: ailab:lab.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": {LAB_KEY: {"$ref": "#/$defs/LabSpec"}, "lab": {"$ref": "#/$defs/LabSpec"}},
                # Other providers' settings (aws:region) are Pulumi's; ailab reads only ailab:lab.
                "patternProperties": {rf"^(?!{project}:)[A-Za-z0-9_.-]+:.+$": {}},
                "additionalProperties": False,
            },
            "encryptionsalt": {"type": "string", "pattern": SALT},
            "secretsprovider": {"type": "string", "minLength": 1},
            "encryptedkey": {"type": "string", "minLength": 1},
            "environment": {},
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": definitions,
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"


def _secure_secrets(node: Any) -> Any:
    """Every secret field (pydantic marks them ``writeOnly`` passwords) as a ``{secure: ...}`` value only."""
    if isinstance(node, dict):
        if node.get("writeOnly") is True and node.get("format") == "password":
            return {"$ref": "#/$defs/SecureValue", "description": node.get("description", "")}
        return {key: _secure_secrets(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_secure_secrets(item) for item in node]
    return node
