"""The lab's CA bundle (``lab.ingress.ca_bundle``): a PEM file of the project, checked when the spec is read.

``ailab lab validate`` and every command that reads a stack refuse a bundle that is missing, too
large, or anything but PEM certificates, so a wrong file is found at validation and not halfway
through a sandbox's deployment. A private key is refused outright: it must never sit beside the
stack files.
"""

from __future__ import annotations

import re
from pathlib import Path

from ailab.errors import BadInputError
from ailab.safeload import TooLargeError, read_text
from ailab.spec.model import LabSpec

CA_BUNDLE_MAX_BYTES = 2**18
"""A CA bundle is a few certificates of a few KiB each; 256 KiB bounds a wrong or hostile file."""
_PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")


def lab_ca_bundle(lab: LabSpec, project_root: Path) -> Path | None:
    """The absolute path of the lab's CA bundle; None when the spec names none (the system trust store)."""
    if lab.ingress is None or lab.ingress.ca_bundle is None:
        return None
    return project_root / lab.ingress.ca_bundle


def ca_bundle_problem(path: Path) -> str | None:
    """Why ``path`` is not a usable CA bundle (one line, with the fix), or None when it is."""
    try:
        text = read_text(path, max_bytes=CA_BUNDLE_MAX_BYTES)
    except TooLargeError:
        return f"{path}: too large for a CA bundle (over {CA_BUNDLE_MAX_BYTES} bytes); keep only the lab CA's certificates"
    except BadInputError as error:
        return str(error)
    labels = set(_PEM_LABEL.findall(text))
    if any("PRIVATE KEY" in label for label in labels):
        return f"{path}: holds a private key; keep only the CA's certificates in it, and the key out of the project"
    if labels - {"CERTIFICATE"}:
        return f"{path}: holds {', '.join(sorted(labels - {'CERTIFICATE'}))}; keep only the CA's PEM certificates"
    # Imported here: only a lab that names a bundle pays for it (an offline plan loads no cryptography).
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return f"{path}: no readable PEM certificate (-----BEGIN CERTIFICATE-----); export the lab CA's certificate as PEM"
    return None
