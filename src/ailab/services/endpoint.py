"""Where a dynamic provider reaches a service's admin API: decided where the provider runs, when it runs.

The MLflow and Qdrant resources run in the Python process the Pulumi engine starts for dynamic
providers, which inherits the engine's environment (the Automation API passes the caller's
environment plus the workspace's ``env_vars`` to the ``pulumi`` CLI, whose plugins inherit it).
That process runs on the operator's workstation for ``ailab sandbox create/extend/destroy`` (MLflow
and Qdrant reached through the lab's ingress, over the VPN) and inside the cluster for the reaper
(cluster-local Service URLs). A delete only sees the outputs recorded at the last create or update,
so the URL recorded there cannot be trusted to work from the other place: the process's
environment names the endpoint (:mod:`ailab.spec.service_env` names the variables), and the
recorded URL is the fallback. The endpoint is no part of a resource's identity (the experiment id,
the collection name), so a new URL never replaces (deletes) an audit's experiment or collection.

TLS is always verified: against the lab's CA when :data:`CA_BUNDLE_ENV` names its PEM file, else
against the system trust store (which honours ``SSL_CERT_FILE``), where an institution's CA usually is.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from ailab.errors import BadInputError
from ailab.spec.service_env import CA_BUNDLE_ENV


@dataclass(frozen=True)
class AdminEndpoint:
    """The URL a provider calls and how it checks the server's certificate."""

    url: str
    tls: ssl.SSLContext
    """Verifying context (hostname and chain); never one that skips verification."""


def admin_endpoint(env_name: str, recorded_url: str) -> AdminEndpoint:
    """The endpoint named by ``env_name`` in this process's environment, else ``recorded_url``."""
    return AdminEndpoint(os.environ.get(env_name) or recorded_url, lab_tls())


def lab_tls() -> ssl.SSLContext:
    """A verifying TLS context: the lab's CA alone when :data:`CA_BUNDLE_ENV` is set, else the system store."""
    bundle = os.environ.get(CA_BUNDLE_ENV)
    if not bundle:
        return ssl.create_default_context()
    if not Path(bundle).is_file():
        raise BadInputError(
            f"{CA_BUNDLE_ENV}={bundle}: no such file; point it at the PEM of the CA that signed the lab's ingress "
            "certificate, or unset it to use the system trust store"
        )
    try:
        return ssl.create_default_context(cafile=bundle)
    except ssl.SSLError as error:
        raise BadInputError(
            f"{CA_BUNDLE_ENV}={bundle}: not a PEM CA certificate ({error.reason}); give the lab CA's PEM file"
        ) from error
