"""``target.endpoint`` of an evaluation plan: how to reach the system under audit over HTTP.

Two APIs: ``openai-chat``, the OpenAI-compatible chat-completions API most serving stacks offer
(vLLM, TGI, Ollama, Azure OpenAI, LiteLLM), and ``json``, an in-house JSON API described by a
request template and JSONPaths to the answer and, for a RAG system, to the retrieved contexts.
The API key stays in the environment (``api_key_env`` names the variable): a plan never holds it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ailab.errors import MissingPrerequisiteError
from ailab.eval.llm import jsonpath

_PLACEHOLDER = re.compile(r"\$\{(prompt|system_prompt|document)\}")
"""What a ``json`` request template may contain, inside any string value."""
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
"""An HTTP header name (RFC 9110 token)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

MAX_TEMPLATE_DEPTH = 16


class EndpointSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="Base URL: openai-chat posts to <url>/chat/completions, json to <url> itself.")
    api: Literal["openai-chat", "json"] = Field(default="openai-chat", description="openai-chat or json.")
    model: str | None = Field(default=None, min_length=1, description="openai-chat: the model name the endpoint serves.")
    api_key_env: str | None = Field(
        default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,127}$", description="Environment variable holding the API key, if any."
    )
    api_key_header: str = Field(default="Authorization", min_length=1, description="Header that carries the key.")
    api_key_prefix: str = Field(default="Bearer ", description="Text before the key in that header.")
    system_prompt: str | None = Field(
        default=None, max_length=100_000, description="The deployment's system prompt, when the audit controls it."
    )
    max_concurrency: int = Field(default=8, ge=1, le=256, description="Requests in flight at once.")
    timeout_s: float = Field(default=30, gt=0, le=600, description="Seconds one request may take.")
    max_requests: int = Field(default=2000, ge=1, le=1_000_000, description="Hard budget: requests sent, retries included.")
    max_retries: int = Field(default=4, ge=0, le=10, description="Retries of one request after 429 or 5xx, with backoff.")
    request_template: dict[str, Any] | None = Field(
        default=None, description="json: the request body; ${prompt}, ${system_prompt}, ${document} are filled in."
    )
    answer_path: str | None = Field(default=None, description="json: JSONPath to the answer, e.g. $.answer.")
    contexts_path: str | None = Field(
        default=None, description="json: JSONPath to the retrieved contexts of a RAG system, e.g. $.sources[*].text."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number or out of range
        except ValueError as error:
            raise ValueError(f"{value!r} is not a valid URL ({error}); write e.g. https://assistant.example/v1") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL; write e.g. https://assistant.example/v1")
        if _CONTROL.search(value) or " " in value:
            raise ValueError(f"{value!r} contains spaces or control characters; percent-encode them in the URL")
        if parts.username or parts.password:
            raise ValueError("the URL carries credentials; put the key in the variable named by api_key_env")
        return value.rstrip("/")

    @field_validator("api_key_header")
    @classmethod
    def _header(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError(f"{value!r} is not an HTTP header name; use letters, digits and '-', e.g. X-Api-Key")
        return value

    @field_validator("api_key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        # A line break here would end the header and start another one of the endpoint's choosing.
        if _CONTROL.search(value):
            raise ValueError(f"{value!r} contains control characters (a line break?); write e.g. 'Bearer '")
        return value

    @field_validator("request_template")
    @classmethod
    def _json(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # YAML also has dates, binary, sets and .nan, which no JSON body can carry: refuse them here, not at the first request.
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as error:
            raise ValueError(
                f"a value JSON cannot carry ({error}); use text, numbers, true/false, null, lists and mappings (quote dates)"
            ) from None
        return value

    @field_validator("answer_path", "contexts_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            jsonpath.parse(value)
        return value

    @model_validator(mode="after")
    def _api(self) -> EndpointSettings:
        if self.api == "openai-chat":
            if self.model is None:
                raise ValueError("api openai-chat: set model, the name the endpoint serves")
            if self.request_template is not None or self.answer_path is not None:
                raise ValueError("api openai-chat: request_template and answer_path are for api json")
        else:
            if self.request_template is None or self.answer_path is None:
                raise ValueError("api json: set request_template (with ${prompt}) and answer_path")
            if "${prompt}" not in _strings(self.request_template):
                raise ValueError("api json: request_template must contain ${prompt} in one of its strings")
        return self

    def api_key(self) -> str | None:
        """The key from the environment; a named but unset variable is a missing prerequisite of the run."""
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise MissingPrerequisiteError(
                f"target.endpoint.api_key_env: {self.api_key_env} is not set; export the endpoint's API key in it"
            )
        return key


def _strings(value: Any, depth: int = 0) -> str:
    """Every string of a JSON value, joined: where the placeholders are looked for."""
    if depth > MAX_TEMPLATE_DEPTH:
        raise ValueError(f"request_template is nested deeper than {MAX_TEMPLATE_DEPTH} levels")
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_strings(item, depth + 1) for item in value.values())
    if isinstance(value, list):
        return "\n".join(_strings(item, depth + 1) for item in value)
    return ""


def fill(template: Any, values: dict[str, str]) -> Any:
    """The template with each placeholder replaced in every string (keys and non-strings untouched).

    One pass: a prompt that itself contains ``${document}`` is sent as written, not filled in again.
    """
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), template)
    if isinstance(template, dict):
        return {key: fill(item, values) for key, item in template.items()}
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    return template
