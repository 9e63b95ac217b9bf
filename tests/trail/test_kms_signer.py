"""The KMS signer without KMS: the requests it makes are the ones KMS documents, and the checkpoints it
signs verify with the public key KMS hands out. A local key stands in for KMS's, so this checks the
wiring, not KMS; a run against a real key needs AWS credentials and is left to the lab's smoke test."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ailab.errors import BadInputError, OperationFailedError
from ailab.trail import AuditLog
from ailab.trail.signer import KmsSigner

KEY = "alias/ailab-trail"


def _client() -> Any:
    return boto3.client("kms", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")


def test_checkpoints_signed_in_kms_verify(tmp_path: Path) -> None:
    """KMS's HTTP endpoint is replaced at botocore's ``before-call`` hook (as Stubber does), so the request
    bodies are the ones boto3 really serialises; a local key makes the signatures."""
    private = Ed25519PrivateKey.generate()
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    client = _client()
    requests: list[dict[str, str]] = []

    def kms(params: dict[str, Any], model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = json.loads(params["body"])
        requests.append({"operation": model.name, **{k: v for k, v in body.items() if k != "Message"}})
        if model.name == "GetPublicKey":
            return AWSResponse("", 200, {}, None), {"PublicKey": der, "SigningAlgorithms": ["ED25519_SHA_512"]}
        signature = private.sign(base64.b64decode(body["Message"]))
        return AWSResponse("", 200, {}, None), {"Signature": signature, "SigningAlgorithm": "ED25519_SHA_512"}

    client.meta.events.register("before-call.kms.*", kms)
    log = AuditLog(tmp_path / "audit", signer=KmsSigner(KEY, client))
    for index in range(2):
        log.append("sandbox.plan", audit_id="a", arguments={"index": index}, outcome="ok")
    assert log.verify(private.public_key()).problem is None
    signs = [r for r in requests if r["operation"] == "Sign"]
    assert len(signs) == 2
    assert signs[0] == {"operation": "Sign", "KeyId": KEY, "MessageType": "RAW", "SigningAlgorithm": "ED25519_SHA_512"}


def test_a_key_that_is_not_ed25519_is_refused() -> None:
    client = _client()
    stub = Stubber(client)
    ecdsa = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEL6lm9R2KpHfV0wMfZ0l6l6cBXK1Cq0QWYkZj8xg4Ic9QK0zRrTtq2p3iW0V3h7Xw1Y4C5Lx0nq1c0T0gkGBMgg=="
    stub.add_response(
        "get_public_key", {"PublicKey": base64.b64decode(ecdsa), "SigningAlgorithms": ["ECDSA_SHA_256"]}, {"KeyId": KEY}
    )
    with stub, pytest.raises((BadInputError, ValueError)):
        KmsSigner(KEY, client).public_key()


def test_a_refused_sign_is_one_line() -> None:
    client = _client()
    stub = Stubber(client)
    stub.add_client_error("sign", service_error_code="AccessDeniedException", http_status_code=400)
    with stub, pytest.raises(OperationFailedError, match=r"KMS key alias/ailab-trail: sign refused \(AccessDeniedException\)"):
        KmsSigner(KEY, client).sign(b"x")
