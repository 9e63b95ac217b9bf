"""The reaper CronJob: `ailab sandbox reap` in the cluster, as a sandbox operator, restricted, one run at a time."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from ipaddress import IPv4Network
from pathlib import Path
from urllib.parse import quote

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.infra.contracts import ReaperTrail
from ailab.infra.k8s import reaper
from ailab.plan.lab import plan_lab
from ailab.spec import labels, naming
from ailab.spec.model import ReaperSettings
from ailab.spec.service_env import MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV
from ailab.spec.stackfile import find_project, load_stack_spec
from ailab.trail.settings import signer_from_environment, store_from_environment
from ailab.trail.signer import KmsSigner
from ailab.trail.store import S3Store

REPO = Path(__file__).resolve().parents[3]
CRON_JOB = "kubernetes:batch/v1:CronJob"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
DIGEST = "registry.example.europa.eu/ailab/ailab-operator:0.1.0@sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def aws_whole():
    """The whole AWS lab program (both layers) of the example stack."""
    return plan_lab("aws-eu", find_project(REPO))


def cron_job(lab):
    return lab.one(CRON_JOB, "ailab-reaper", "ailab-system")


def pod_of(lab):
    return cron_job(lab)["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_runs_reap_every_n_minutes_one_run_at_a_time(lab):
    spec = cron_job(lab)["spec"]
    assert spec["schedule"] == "*/15 * * * *" and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 900 and spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 1800
    pod = pod_of(lab)
    (container,) = pod["containers"]
    assert container["command"][:2] == ["/bin/sh", "-c"] and container["command"][2].endswith('exec ailab sandbox reap "$@"\n')
    assert pod["restartPolicy"] == "Never" and spec["jobTemplate"]["spec"]["backoffLimit"] == 0


def test_the_command_is_the_real_cli():
    result = CliRunner().invoke(app, ["sandbox", "reap", "--help"])
    assert result.exit_code == 0 and "Destroy every expired sandbox" in result.output


def test_image_pinned_by_digest_and_own_service_account(lab):
    pod = pod_of(lab)
    (container,) = pod["containers"]
    assert container["image"] == lab.spec.sandbox.reaper.image and "@sha256:" in container["image"]
    assert pod["serviceAccountName"] == "ailab-reaper"
    account = lab.one("kubernetes:core/v1:ServiceAccount", "ailab-reaper", "ailab-system")
    assert account["automountServiceAccountToken"] is False


def test_restricted_pod_in_a_restricted_namespace(lab):
    namespace = lab.one("kubernetes:core/v1:Namespace", "ailab-system")
    assert namespace["metadata"]["labels"][labels.PSA_ENFORCE] == "restricted"
    pod = pod_of(lab)
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]} and pod["securityContext"]["runAsNonRoot"]
    assert lab.one("kubernetes:core/v1:ResourceQuota", "platform-quota", "ailab-system")["spec"]["hard"]["pods"] == "1"


def test_environment_state_passphrase_and_service_urls(lab, env):
    (container,) = pod_of(lab)["containers"]
    values = env(container)
    settings = lab.spec.sandbox.reaper
    assert values["AILAB_BACKEND_URL"].startswith(settings.state_backend)  # the endpoint: see the real program's test
    assert values[MLFLOW_ADMIN_URL_ENV] == naming.mlflow_url(lab.spec) == "http://mlflow.ailab-mlflow.svc.cluster.local:5000"
    assert values[QDRANT_ADMIN_URL_ENV] == naming.qdrant_url(lab.spec)
    passphrase = values["PULUMI_CONFIG_PASSPHRASE_FILE"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert passphrase == f"{mounts['passphrase']['mountPath']}/passphrase" and mounts["passphrase"]["readOnly"]
    volumes = {v["name"]: v for v in pod_of(lab)["volumes"]}
    assert volumes["passphrase"]["secret"]["secretName"] == "sandbox-state-passphrase"
    assert values["AILAB_HOME"].startswith("/tmp/") and "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}
    assert ("KUBECONFIG" in values) == (lab.spec.target == "onprem")
    if lab.spec.target == "onprem":
        for variable, key in (("AWS_ACCESS_KEY_ID", "access_key_id"), ("AWS_SECRET_ACCESS_KEY", "secret_access_key")):
            assert values[variable] == {"secretKeyRef": {"name": "sandbox-state-credentials", "key": key}}
    else:
        assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & values.keys()  # IRSA, no stored keys


def test_the_trail_lives_on_a_volume_that_outlives_the_pod(lab, env):
    """The trail's audit/ and keys/ on a small RWO claim of the platform's class."""
    claim = lab.one(PVC, "ailab-reaper-data", "ailab-system")["spec"]
    expected_class = lab.spec.onprem_settings().storage_class if lab.spec.target == "onprem" else "ailab-encrypted-gp3"
    assert claim["accessModes"] == ["ReadWriteOnce"] and claim["storageClassName"] == expected_class
    assert claim["resources"]["requests"] == {"storage": "1Gi"}
    pod = pod_of(lab)
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "ailab-reaper-data"}
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "data"]
    assert mount["mountPath"] == reaper.DATA_MOUNT and not mount.get("readOnly") and not mount.get("subPath")
    # Each run links the volume's audit/ and keys/ into its data directory on /tmp (run for real below).
    script = container["command"][2]
    home = env(container)["AILAB_HOME"]
    assert home.startswith("/tmp/") and f'ln -s {reaper.DATA_MOUNT}/audit "$AILAB_HOME/audit"' in script
    assert f'ln -s {reaper.DATA_MOUNT}/keys "$AILAB_HOME/keys"' in script
    # Restricted still; fsGroup makes the volume writable by the non-root user, once (OnRootMismatch keeps 0600 files).
    security = pod["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == security["fsGroup"] == reaper.RUN_AS.gid
    assert security["fsGroupChangePolicy"] == "OnRootMismatch"
    assert container["securityContext"]["readOnlyRootFilesystem"]
    hard = lab.one("kubernetes:core/v1:ResourceQuota", "platform-quota", "ailab-system")["spec"]["hard"]
    assert hard["persistentvolumeclaims"] == "1" and hard["requests.storage"] == "1Gi"


def test_aws_copies_the_trail_to_the_evidence_bucket_and_signs_with_the_trail_key(aws_whole, monkeypatch):
    """The real lab program: the CronJob's trail settings are the AWS layer's evidence bucket, keys and S3 endpoint."""
    (job,) = [r for r in aws_whole.of_type(CRON_JOB) if r.inputs["metadata"]["name"] == "ailab-reaper"]
    (container,) = job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    values = {item["name"]: item.get("value") for item in container["env"]}
    outputs = aws_whole.outputs
    spec = load_stack_spec("aws-eu", find_project(REPO))[0]
    assert values["AILAB_TRAIL_STORE"] == f"s3://{outputs['evidenceBucket']}/trail/reaper"
    assert values["AILAB_TRAIL_SIGNING_KEY"] == outputs["trailSigningKey"]
    assert values["AILAB_TRAIL_RETENTION_DAYS"] == str(spec.evidence.retention_days)
    assert values["AILAB_TRAIL_KMS_KEY"].startswith("arn:aws:kms:eu-central-1:")
    assert values["AILAB_TRAIL_S3_ENDPOINT"].startswith("https://bucket.vpce-")  # inside the VPC, which the egress admits
    # The state backend too: S3's regional names are public addresses, which the egress policy refuses.
    endpoint = quote(values["AILAB_TRAIL_S3_ENDPOINT"], safe="")
    assert values["AILAB_BACKEND_URL"] == f"{spec.sandbox.reaper.state_backend}&endpoint={endpoint}"
    assert values["AWS_DEFAULT_REGION"] == "eu-central-1"
    # What ailab.trail builds from them in the pod: an S3 copy of the evidence bucket, signatures by the KMS key.
    for name in (
        "AILAB_TRAIL_STORE",
        "AILAB_TRAIL_S3_ENDPOINT",
        "AILAB_TRAIL_KMS_KEY",
        "AILAB_TRAIL_SIGNING_KEY",
        "AILAB_TRAIL_RETENTION_DAYS",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.setenv(name, values[name])
    store, signer = store_from_environment(), signer_from_environment()
    assert isinstance(store, S3Store) and isinstance(signer, KmsSigner)
    assert (store.bucket, store.prefix, store.kms_key_id) == (
        outputs["evidenceBucket"],
        "trail/reaper/",
        values["AILAB_TRAIL_KMS_KEY"],
    )
    assert store.client.meta.endpoint_url == values["AILAB_TRAIL_S3_ENDPOINT"] and signer.key_id == outputs["trailSigningKey"]


def test_onprem_keeps_the_trail_on_its_volume_unless_a_store_is_named(onprem, env):
    (container,) = pod_of(onprem)["containers"]
    assert onprem.spec.sandbox.reaper.trail_store is None
    assert not [name for name in env(container) if name.startswith("AILAB_TRAIL_")]


def test_onprem_trail_store_is_what_ailab_trail_reads(onprem, monkeypatch):
    """The names the CronJob sets are the ones ailab.trail.settings reads: the store it builds is the spec's."""
    settings = onprem.spec.sandbox.reaper.model_copy(
        update={"trail_store": "s3://lab-evidence/trail/reaper", "trail_store_endpoint": "https://s3.lab.example.eu"}
    )
    values = reaper.trail_environment(onprem.spec, settings, None)
    assert set(values) == {"AILAB_TRAIL_STORE", "AILAB_TRAIL_S3_ENDPOINT", "AILAB_TRAIL_RETENTION_DAYS"}
    for name in ("AILAB_TRAIL_STORE", "AILAB_TRAIL_S3_ENDPOINT", "AILAB_TRAIL_RETENTION_DAYS", "AILAB_TRAIL_KMS_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    store = store_from_environment()
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.retention_days) == (
        "lab-evidence",
        "trail/reaper/",
        onprem.spec.evidence.retention_days,
    )
    assert store.client.meta.endpoint_url == "https://s3.lab.example.eu" and store.kms_key_id is None


def test_the_trail_store_settings_are_checked(onprem, aws):
    data = onprem.spec.model_dump(mode="python", exclude_unset=True)
    data["sandbox"]["reaper"]["trail_store_endpoint"] = "https://s3.lab.example.eu"
    with pytest.raises(ValidationError, match="name the store too"):
        type(onprem.spec).model_validate(data)
    data["sandbox"]["reaper"]["trail_store"] = "https://s3.lab.example.eu/bucket"
    with pytest.raises(ValidationError, match="trail_store"):
        type(onprem.spec).model_validate(data)
    data = aws.spec.model_dump(mode="python", exclude_unset=True)
    data["sandbox"]["reaper"]["trail_store"] = "s3://elsewhere/trail"
    with pytest.raises(ValidationError, match="copies its trail to the lab's evidence bucket"):
        type(aws.spec).model_validate(data)


def test_onprem_kubeconfig_names_the_labs_context_and_uses_the_pods_own_token(onprem, env):
    (container,) = pod_of(onprem)["containers"]
    config = json.loads(onprem.one(CONFIG_MAP, "ailab-reaper-kubeconfig", "ailab-system")["data"]["config"])
    assert config["current-context"] == onprem.spec.onprem_settings().kubeconfig_context
    assert config["clusters"][0]["cluster"]["server"] == "https://kubernetes.default.svc"
    token_file = config["users"][0]["user"]["tokenFile"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert (
        token_file == f"{mounts['kubernetes-token']}/token" and env(container)["KUBECONFIG"] == f"{mounts['kubeconfig']}/config"
    )
    volumes = {v["name"]: v for v in pod_of(onprem)["volumes"]}
    sources = volumes["kubernetes-token"]["projected"]["sources"]
    assert sources[0]["serviceAccountToken"] == {"path": "token", "expirationSeconds": 3600}


def test_waits_for_the_operator_roles_and_the_services(lab):
    (job,) = [r for r in lab.plan.of_type(CRON_JOB) if r.inputs["metadata"]["name"] == "ailab-reaper"]
    names = {r.urn: r.name for r in lab.plan.resources}
    depends = {names[urn] for urn in job.dependencies}
    operator = {"ailab-platform-sandbox-operator", "ailab-platform-sandbox-operator-scope"}
    assert operator | {"ailab-platform-mlflow-deployment", "ailab-platform-qdrant-statefulset"} <= depends


def egress_ports(policy):
    return {
        (json.dumps(rule["to"], sort_keys=True), tuple(p["port"] for p in rule["ports"])) for rule in policy["spec"]["egress"]
    }


def test_reaches_mlflow_qdrant_the_api_server_and_the_state_backend(lab):
    policy = lab.one(NETPOL, "ailab-reaper", "ailab-system")
    assert policy["spec"]["podSelector"]["matchLabels"][labels.NAME] == "ailab-reaper"
    rules = policy["spec"]["egress"]
    ports = [tuple(p["port"] for p in rule["ports"]) for rule in rules]
    assert ports == [(5000,), (6333,), (443, 6443), (443,)]
    assert rules[0]["to"][0]["namespaceSelector"]["matchLabels"][labels.NAMESPACE_NAME] == "ailab-mlflow"
    assert rules[1]["to"][0]["namespaceSelector"]["matchLabels"][labels.NAMESPACE_NAME] == "ailab-vectordb"
    state = [peer["ipBlock"]["cidr"] for peer in rules[3]["to"]]
    expected = lab.spec.sandbox.reaper.state_networks or [lab.spec.aws_settings().vpc_cidr]
    assert state == [str(network) for network in expected]


def test_admitted_at_mlflow_and_qdrant(lab):
    for namespace, port in (("ailab-mlflow", 5000), ("ailab-vectordb", 6333)):
        policy = lab.one(NETPOL, "ailab-reaper-ingress", namespace)
        (rule,) = policy["spec"]["ingress"]
        (peer,) = rule["from"]
        assert peer["namespaceSelector"]["matchLabels"][labels.NAMESPACE_NAME] == "ailab-system"
        assert peer["podSelector"]["matchLabels"][labels.NAME] == "ailab-reaper"
        assert [p["port"] for p in rule["ports"]] == [port]


def test_irsa_annotation_on_aws_and_the_operator_role_exported(aws_whole):
    """The real lab program: the reaper's ServiceAccount names its IRSA role; the lab exports the operator role."""
    plan = aws_whole
    (account,) = [r for r in plan.of_type("kubernetes:core/v1:ServiceAccount") if r.inputs["metadata"]["name"] == "ailab-reaper"]
    (role,) = [r for r in plan.of_type("aws:iam/role:Role") if r.name == "ailab-operators-reaper"]
    annotation = account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert annotation == "arn:aws:iam::123456789012:role/ailab-operators-reaper" and role.urn in account.dependencies
    assert plan.outputs["sandboxOperatorRoleArn"] == "arn:aws:iam::123456789012:role/ailab-operators-sandbox-operator"


@pytest.mark.parametrize(("minutes", "cron"), [(5, "*/5 * * * *"), (60, "0 */1 * * *"), (120, "0 */2 * * *")])
def test_schedules(minutes, cron):
    settings = ReaperSettings(image=DIGEST, state_backend="s3://b/p", every_minutes=minutes)
    assert settings.schedule() == cron
    assert reaper.schedule(settings).starting_deadline_seconds == minutes * 60


def test_spec_refuses_a_tag_only_image_and_an_uneven_period():
    with pytest.raises(ValidationError, match="has no digest"):
        ReaperSettings(image="registry.example.europa.eu/ailab/ailab-operator:0.1.0", state_backend="s3://b/p")
    with pytest.raises(ValidationError):
        ReaperSettings(image=DIGEST, state_backend="s3://b/p", every_minutes=7)


def test_state_location():
    settings = ReaperSettings(image=DIGEST, state_backend="s3://bucket/a/b/?region=eu-central-1")
    assert settings.state_location() == ("bucket", "a/b")
    assert ReaperSettings(image=DIGEST, state_backend="s3://bucket").state_location() == ("bucket", "")


def test_onprem_reaper_must_say_where_the_state_store_answers(onprem):
    data = onprem.spec.model_dump(mode="python", exclude_unset=True)
    data["sandbox"]["reaper"]["state_networks"] = []
    with pytest.raises(ValidationError, match="where the S3-compatible state store answers"):
        type(onprem.spec).model_validate(data)


def test_stored_state_keys_on_premises_only(onprem, aws):
    data = onprem.spec.model_dump(mode="python", exclude_unset=True)
    del data["sandbox"]["reaper"]["state_credentials_secret"]
    with pytest.raises(ValidationError, match="access_key_id and secret_access_key"):
        type(onprem.spec).model_validate(data)
    data = aws.spec.model_dump(mode="python", exclude_unset=True)
    data["sandbox"]["reaper"]["state_credentials_secret"] = "keys"
    with pytest.raises(ValidationError, match="IRSA role, no stored keys"):
        type(aws.spec).model_validate(data)


def test_a_group_is_either_sandbox_operators_or_another_persona(onprem):
    data = onprem.spec.model_dump(mode="python", exclude_unset=True)
    data["access"]["sandbox_operators"] = list(data["access"]["auditors"])
    with pytest.raises(ValidationError, match="separation of duties"):
        type(onprem.spec).model_validate(data)


def test_two_runs_on_one_volume_extend_one_verifiable_trail(tmp_path, onprem):
    """The CronJob's own command and ailab, run twice: each run a fresh /tmp (a new pod, maybe on another node),
    one trail volume, which keeps the trail and its key and nothing else (no lock of a stopped run)."""
    volume = tmp_path / "volume"
    volume.mkdir()
    shell, flag, script, name = reaper.command()
    script = script.replace(reaper.DATA_MOUNT, str(volume))
    scratch_home = reaper.environment(onprem.spec, onprem.spec.sandbox.reaper)["AILAB_HOME"]
    assert scratch_home.startswith(reaper.SCRATCH.mount_path + "/")
    # ailab next to this interpreter, as on the image's PATH; a directory store stands in for the write-once bucket.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

    def pod(run: int, *arguments: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        scratch = tmp_path / f"tmp-{run}"
        scratch.mkdir()
        home = Path(scratch_home.replace(reaper.SCRATCH.mount_path, str(scratch)))
        environment = {"PATH": path, "HOME": str(scratch), "AILAB_HOME": str(home), "AILAB_TRAIL_STORE": str(tmp_path / "store")}
        done = subprocess.run(
            [shell, flag, script, name, *arguments], env=environment, capture_output=True, text=True, timeout=120, check=False
        )
        return done, home

    first, _ = pod(1, "--dry-run")
    assert first.returncode == 0 and "no expired sandboxes" in first.stdout, first.stderr
    key_file = volume / "keys" / "trail-ed25519.pem"
    key = key_file.read_bytes()  # the first run on a new volume made the key, 0600 in a 0700 directory
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and stat.S_IMODE((volume / "audit").stat().st_mode) == 0o700
    second, home = pod(2, "--dry-run")
    assert second.returncode == 0, second.stderr
    records = [json.loads(line) for line in (volume / "audit" / "records.jsonl").read_text().splitlines()]
    assert [(r["seq"], r["action"], r["arguments"]) for r in records] == [
        (1, "sandbox.reap", {"dry_run": True}),
        (2, "sandbox.reap", {"dry_run": True}),
    ]
    assert key_file.read_bytes() == key  # the second run signed with the same key
    assert sorted(p.name for p in volume.iterdir()) == list(reaper.KEPT)
    assert sorted(p.name for p in (tmp_path / "store" / "records").iterdir()) == ["000000000001.json", "000000000002.json"]
    verified = subprocess.run(
        [sys.executable, "-m", "ailab", "audit", "verify"],
        env={"PATH": path, "HOME": str(tmp_path), "AILAB_HOME": str(home), "AILAB_TRAIL_STORE": str(tmp_path / "store")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0 and "2 records, 2 signed checkpoints: intact" in verified.stdout, verified.stderr


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("s3://state/sandboxes?region=eu-central-1", "s3://state/sandboxes?region=eu-central-1&endpoint=https%3A%2F%2Fe.example"),
        ("s3://state/sandboxes", "s3://state/sandboxes?endpoint=https%3A%2F%2Fe.example"),
        ("s3://state/sandboxes?endpoint=s3.site.example", "s3://state/sandboxes?endpoint=s3.site.example"),
    ],
)
def test_the_state_backend_goes_through_the_given_endpoint_unless_it_names_its_own(backend, expected):
    assert reaper.with_endpoint(backend, "https://e.example") == expected


def test_a_backend_with_networks_of_its_own_or_without_the_vpc_is_used_as_written(lab):
    settings = lab.spec.sandbox.reaper.model_copy(update={"state_networks": [IPv4Network("10.9.0.0/24")]})
    trail = ReaperTrail("evidence", "arn:aws:kms:eu-central-1:1:key/s", "arn:aws:kms:eu-central-1:1:key/b", "https://e.example")
    assert reaper.state_backend_url(settings, trail) == settings.state_backend
    assert reaper.state_backend_url(lab.spec.sandbox.reaper, None) == lab.spec.sandbox.reaper.state_backend
