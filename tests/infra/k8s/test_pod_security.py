"""Every workload the platform runs is hardened the same way, and no secret reaches a plan in clear."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from ailab.infra.k8s import mlflow, pods
from ailab.spec.model import check_image

SECRET_ENV_WORDS = ("PASSWORD", "KEY", "TOKEN", "SECRET", "URI")


def test_each_service_runs_hardened(lab):
    workloads = dict(lab.pod_specs())
    expected = {"mlflow", "qdrant"} | ({"postgres", "postgres-backup"} if lab.spec.target == "onprem" else set())
    jobs = {"postgres-backup", "ailab-reaper"}
    assert set(workloads) == expected | {"ailab-reaper"}
    for name, pod in workloads.items():
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["serviceAccountName"] == name
        assert pod["enableServiceLinks"] is False
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] > 0 and context["runAsGroup"] > 0
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not {"hostNetwork", "hostPID", "hostIPC"} & pod.keys()
        assert all("hostPath" not in volume for volume in pod["volumes"])
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["privileged"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert security["runAsNonRoot"] is True and security["seccompProfile"] == {"type": "RuntimeDefault"}
            resources = container["resources"]
            assert resources["requests"] == resources["limits"] and set(resources["limits"]) == {"cpu", "memory"}
            if name not in jobs:  # a job runs to completion: nothing to probe
                assert container["readinessProbe"] and container["livenessProbe"]
            assert check_image(container["image"])
            mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounted, f"{name}: a read-only root needs a writable /tmp"


def test_each_service_has_its_own_service_account_without_token(lab):
    accounts = lab.of_type("kubernetes:core/v1:ServiceAccount")
    assert {a["metadata"]["name"] for a in accounts} == {name for name, _ in lab.pod_specs()}
    assert all(a["automountServiceAccountToken"] is False for a in accounts)


def test_services_run_on_the_system_pool(onprem):
    for _, pod in onprem.pod_specs():
        assert pod["nodeSelector"] == onprem.spec.system_pool.node_selector


def test_credentials_reach_containers_only_from_secrets(lab, env):
    for name, pod in lab.pod_specs():
        for container in pod["containers"]:
            for variable, value in env(container).items():
                if any(word in variable for word in SECRET_ENV_WORDS):
                    assert isinstance(value, dict) and "secretKeyRef" in value, f"{name}: {variable} is a literal"


def test_secrets_never_appear_in_the_plan(lab, secrets):
    text = json.dumps(lab.plan.to_json())
    spec = lab.spec
    derived = [
        secrets.admin_password,
        secrets.database_password,
        quote(secrets.database_password, safe=""),
        secrets.qdrant_api_key,
        "rds-Pa55word",
        mlflow.flask_secret_key(spec),
    ]
    for value in derived:
        assert value not in text
    for secret in lab.of_type("kubernetes:core/v1:Secret"):
        assert secret["stringData"] == "[secret]"


def test_run_as_refuses_root():
    with pytest.raises(ValueError, match="root"):
        pods.RunAs(uid=0, gid=1000)
