"""MLflow's RDS PostgreSQL: private, encrypted, TLS only, backed up, protected, reachable from EKS only."""

from __future__ import annotations

import re

from ailab.infra.aws.database import backend_store_uri, parameter_group_family

INSTANCE = "aws:rds/instance:Instance"


def test_instance_is_private_encrypted_backed_up_and_protected(lab):
    db = lab.one(INSTANCE).inputs
    settings = lab.spec.mlflow.database
    assert db["engine"] == "postgres" and db["engineVersion"] == settings.engine_version
    assert db["publiclyAccessible"] is False
    assert db["storageEncrypted"] is True and db["kmsKeyId"] == lab.values["volume_key_arn"]
    assert db["backupRetentionPeriod"] == settings.backup_retention_days == 14
    assert db["deletionProtection"] is True
    assert db["multiAz"] is settings.multi_az is True
    assert db["skipFinalSnapshot"] is False
    assert db["copyTagsToSnapshot"] is True
    assert db["performanceInsightsEnabled"] is True and db["performanceInsightsKmsKeyId"] == lab.values["volume_key_arn"]
    assert db["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert db["instanceClass"] == settings.instance_class and db["allocatedStorage"] == settings.allocated_storage_gib


def test_multi_az_and_backups_follow_the_spec(plan_variant):
    planned = plan_variant(**{"mlflow.database.multi_az": False, "mlflow.database.backup_retention_days": 30})
    db = planned.one(INSTANCE).inputs
    assert db["multiAz"] is False and db["backupRetentionPeriod"] == 30


def test_parameter_group_forces_tls(lab):
    group = lab.one("aws:rds/parameterGroup:ParameterGroup").inputs
    assert group["family"] == "postgres16"
    assert {p["name"]: p["value"] for p in group["parameters"]}["rds.force_ssl"] == "1"
    assert lab.one(INSTANCE).inputs["parameterGroupName"] == "ailab-mlflow-db"  # the group's (mock) auto-name


def test_only_the_eks_cluster_group_reaches_port_5432(lab):
    firewall = lab.one("aws:ec2/securityGroup:SecurityGroup", "ailab-mlflow-db-clients")
    (rule,) = firewall.inputs["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 5432, 5432)
    assert rule["securityGroups"][0].startswith("sg-") and "cidrBlocks" not in rule
    assert not firewall.inputs.get("egress")
    assert lab.one(INSTANCE).inputs["vpcSecurityGroupIds"] == [f"{firewall.name}-id"]
    assert lab.one("aws:eks/cluster:Cluster").urn in firewall.dependencies


def test_subnet_group_is_the_private_subnets(lab):
    private = sorted(f"{s.name}-id" for s in lab.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name)
    assert sorted(lab.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"]) == private
    assert lab.one(INSTANCE).inputs["dbSubnetGroupName"] == "ailab-mlflow-db"


def test_exported_logs_land_in_groups_created_first(lab):
    db = lab.one(INSTANCE)
    for export in db.inputs["enabledCloudwatchLogsExports"]:
        group = lab.one("aws:cloudwatch/logGroup:LogGroup", f"ailab-mlflow-db-{export}")
        assert group.inputs["name"] == f"/aws/rds/instance/ailab-mlflow/{export}"
        assert group.urn in db.dependencies


def test_backend_store_uri_verifies_the_server(lab):
    uri = lab.values["backend_store_uri"]
    host = "ailab-mlflow-db.abcdefghijkl.eu-central-1.rds.amazonaws.com"
    password = lab.spec.mlflow.database.password.get_secret_value()
    tls = "sslmode=verify-full&sslrootcert=/etc/ailab/database-ca/ca.pem"
    assert uri == f"postgresql://mlflow:{password}@{host}:5432/mlflow?{tls}"


def test_password_is_url_encoded_in_the_uri():
    assert backend_store_uri("db", "a:b%c#d?e").startswith(
        "postgresql://mlflow:a%3Ab%25c%23d%3Fe@db:5432/mlflow?sslmode=verify-full&"
    )


def test_parameter_group_family_of_minor_versions():
    assert parameter_group_family("16") == parameter_group_family("16.4") == "postgres16"


def test_the_final_snapshot_name_is_new_with_every_instance(lab):
    """A fixed name would make the destroy after a redeploy fail on the snapshot the first destroy left."""
    db = lab.one(INSTANCE)
    suffix = lab.one("random:index/randomId:RandomId")
    assert suffix.inputs["byteLength"] == 4 and suffix.inputs["keepers"] == {"identifier": "ailab-mlflow"}
    assert re.fullmatch(r"ailab-mlflow-final-[0-9a-f]{8}", db.inputs["finalSnapshotIdentifier"])
    assert suffix.urn in db.dependencies
