"""On-premises PostgreSQL: only there, hardened, password from a Secret, a volume of the spec's class."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from ailab.infra.k8s import postgres, postgres_backup
from ailab.spec import naming
from ailab.spec.model import Resources

STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"


def test_only_onprem_runs_a_database(onprem, aws):
    assert onprem.one(STATEFUL_SET, "postgres", naming.mlflow_namespace(onprem.spec))
    assert [s["metadata"]["name"] for s in aws.of_type(STATEFUL_SET)] == ["qdrant"]


def test_password_from_a_secret_and_scram_authentication(onprem, env):
    variables = env(onprem.container("StatefulSet", "postgres"))
    assert variables["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "postgres-credentials", "key": "password"}}
    assert variables["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    assert variables["PGDATA"].startswith(postgres.DATA_DIR + "/")


def test_data_volume_from_the_spec(onprem):
    stateful_set = onprem.one(STATEFUL_SET, "postgres")["spec"]
    assert stateful_set["replicas"] == 1 and stateful_set["serviceName"] == "postgres"
    (claim,) = stateful_set["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == onprem.spec.onprem.storage_class
    assert claim["spec"]["resources"]["requests"]["storage"] == onprem.spec.mlflow.database.storage_size
    container = stateful_set["template"]["spec"]["containers"][0]
    assert container["image"] == onprem.spec.mlflow.database.image
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {postgres.DATA_DIR, "/var/run/postgresql", "/tmp", "/dev/shm"}
    assert container["readinessProbe"]["exec"]["command"][0] == "pg_isready"


def test_service_is_headless_on_the_postgres_port(onprem):
    service = onprem.one("kubernetes:core/v1:Service", "postgres")["spec"]
    assert service["clusterIP"] == "None"
    assert service["ports"] == [{"name": "postgres", "port": naming.POSTGRES_PORT, "targetPort": "postgres"}]


def test_backend_uri_encodes_the_password(onprem, secrets):
    uri = urlsplit(postgres.database_uri(onprem.spec))
    assert uri.scheme == "postgresql" and uri.username == postgres.USER
    assert uri.hostname == postgres.host(onprem.spec) and uri.port == naming.POSTGRES_PORT
    assert uri.password == quote(secrets.database_password, safe="")


def test_daily_backups_kept_for_the_retention(onprem, env):
    cron_job = onprem.one("kubernetes:batch/v1:CronJob", "postgres-backup", naming.mlflow_namespace(onprem.spec))["spec"]
    assert cron_job["schedule"] == postgres_backup.SCHEDULE and cron_job["concurrencyPolicy"] == "Forbid"
    pod = cron_job["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    (container,) = pod["containers"]
    assert container["image"] == onprem.spec.mlflow.database.image
    variables = env(container)
    assert variables["RETENTION_DAYS"] == str(onprem.spec.mlflow.database.backup_retention_days)
    assert variables["PGHOST"] == postgres.host(onprem.spec)
    assert variables["PGPASSWORD"] == {"secretKeyRef": {"name": "postgres-credentials", "key": "password"}}
    claim = onprem.one("kubernetes:core/v1:PersistentVolumeClaim", postgres_backup.CLAIM)
    assert claim["spec"]["storageClassName"] == onprem.spec.onprem.storage_class


def test_backup_script_prunes_by_age_and_never_keeps_partial_dumps(tmp_path):
    """Run the script's pruning with fake pg_dump and date, against files of known ages."""
    import os
    import subprocess
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pg_dump").write_text('#!/bin/sh\nfor a; do case "$a" in --file=*) echo dump > "${a#--file=}";; esac; done\n')
    (bin_dir / "pg_dump").chmod(0o755)
    backups = tmp_path / "backups"
    backups.mkdir()
    old, recent = backups / "mlflow-old.dump", backups / "mlflow-recent.dump"
    for path, age_days in ((old, 15), (recent, 13)):
        path.write_text("x")
        stamp = time.time() - age_days * 86400
        os.utime(path, (stamp, stamp))
    environment = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "BACKUP_DIR": str(backups), "RETENTION_DAYS": "14"}
    subprocess.run(["/bin/sh", "-c", postgres_backup.SCRIPT], env=environment, check=True)
    names = sorted(p.name for p in backups.iterdir())
    assert "mlflow-old.dump" not in names and "mlflow-recent.dump" in names
    assert len(names) == 2 and not any(name.endswith(".partial") for name in names)


def _with_database(variant, **settings):
    from tests.infra.k8s.conftest import example_spec

    database = example_spec("onprem").mlflow.database.model_copy(update=settings)
    return variant("onprem", mlflow={"database": database})


def test_database_resources_from_the_spec(onprem, variant):
    container = onprem.container("StatefulSet", "postgres")
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}
    bigger = _with_database(variant, resources=Resources(cpu="2", memory="8Gi"))
    container = bigger.container("StatefulSet", "postgres")
    assert container["resources"]["requests"] == container["resources"]["limits"] == {"cpu": "2", "memory": "8Gi"}
    hard = bigger.one("kubernetes:core/v1:ResourceQuota", "platform-quota", naming.mlflow_namespace(bigger.spec))["spec"]["hard"]
    assert hard["requests.cpu"] == "3250m" and hard["requests.memory"] == "10752Mi"  # 1500m and 7Gi more than the example


def test_backup_volume_is_the_database_size_unless_set(onprem, variant):
    claim = onprem.one("kubernetes:core/v1:PersistentVolumeClaim", postgres_backup.CLAIM)
    assert claim["spec"]["resources"]["requests"]["storage"] == onprem.spec.mlflow.database.storage_size == "20Gi"
    larger = _with_database(variant, backup_storage_size="60Gi")
    claim = larger.one("kubernetes:core/v1:PersistentVolumeClaim", postgres_backup.CLAIM)
    assert claim["spec"]["resources"]["requests"]["storage"] == "60Gi"
    hard = larger.one("kubernetes:core/v1:ResourceQuota", "platform-quota", naming.mlflow_namespace(larger.spec))["spec"]["hard"]
    assert hard["requests.storage"] == "580Gi"  # 500Gi artifacts, 20Gi database, 60Gi backups
