"""MLflow's backend store: RDS PostgreSQL, private, encrypted, TLS only and verified, backed up, hard to delete."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ailab.errors import MissingPrerequisiteError, OperationFailedError
from ailab.infra.aws.logs import encrypted_log_group
from ailab.infra.contracts import DATABASE_CA_FILE
from ailab.spec.model import MlflowDatabase as DatabaseSpec
from ailab.spec.naming import POSTGRES_PORT

DB_NAME = "mlflow"
DB_USER = "mlflow"
_PERFORMANCE_INSIGHTS_DAYS = 7  # the free tier
RDS_CA_BUNDLE = Path(__file__).with_name("rds_ca") / "global-bundle.pem"
"""RDS's global CA bundle, vendored (provenance and refresh: ``rds_ca/README.md``)."""
RDS_CA_BUNDLE_SHA256 = "2c151768edd48e9ef6719de74fdcbdebe290d1e87bc02ce9014ea6eea557d2a0"
RDS_CA_REGIONS = frozenset(
    {
        *("af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2"),
        *("ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ca-central-1", "eu-central-1"),
        *("eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1"),
        *("me-central-1", "me-south-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"),
    }
)
"""Regions whose RDS root CAs (RSA2048, RSA4096, ECC384 G1) the vendored bundle holds (checked by the tests).
Not the European Sovereign Cloud (``eusc-de-east-1``): its RDS CAs are another partition's."""


def parameter_group_family(engine_version: str) -> str:
    """``postgres16`` for engine version ``16`` or ``16.4``."""
    return f"postgres{engine_version.split('.', 1)[0]}"


def backend_store_uri(host: str, password: str) -> str:
    """MLflow's ``--backend-store-uri``: TLS with the server's certificate checked against RDS's CAs and its
    name against ``host`` (``sslmode=require`` would accept any certificate, a man in the middle's included)."""
    tls = urlencode({"sslmode": "verify-full", "sslrootcert": DATABASE_CA_FILE}, safe="/")
    return f"postgresql://{DB_USER}:{quote(password, safe='')}@{host}:{POSTGRES_PORT}/{DB_NAME}?{tls}"


def rds_ca_bundle(region: str) -> str:
    """The vendored RDS CA bundle, refused if it is not the file whose SHA-256 this module records, or if it
    holds no CA of ``region`` (MLflow could not verify the database, so it could not start)."""
    if region not in RDS_CA_REGIONS:
        raise MissingPrerequisiteError(
            f"lab.aws.region {region}: the RDS CA bundle ailab ships ({RDS_CA_BUNDLE.name}) holds no CA of this region, so "
            f"MLflow could not verify its database; add the region's RDS CA bundle from AWS to {RDS_CA_BUNDLE} "
            "(see rds_ca/README.md next to it)"
        )
    data = RDS_CA_BUNDLE.read_bytes()
    if hashlib.sha256(data).hexdigest() != RDS_CA_BUNDLE_SHA256:
        raise OperationFailedError(
            f"{RDS_CA_BUNDLE} is not the RDS CA bundle ailab was released with (SHA-256 differs): restore it, or after "
            "replacing it with AWS's current file update RDS_CA_BUNDLE_SHA256 in ailab/infra/aws/database.py"
        )
    return data.decode("ascii")


@dataclass(frozen=True)
class DatabaseArgs:
    identifier: str
    settings: DatabaseSpec
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]
    """The only security group whose members may connect (the EKS cluster group, on every node)."""
    kms_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_groups: dict[str, str]
    """Log type (``postgresql``) to the log group RDS exports it to."""
    log_retention_days: int


class Database(pulumi.ComponentResource):
    """Subnet group, parameter group, security group, log groups and the RDS instance."""

    instance: aws.rds.Instance
    backend_store_uri: pulumi.Output[str]
    """``postgresql://mlflow:<password>@<host>:5432/mlflow?sslmode=verify-full&sslrootcert=...``, secret."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:Database", name, None, opts)
        # The spec has checked it is a password RDS accepts (ailab.spec.model.rds_password_problem).
        password = args.settings.password.get_secret_value()
        child = pulumi.ResourceOptions(parent=self)
        subnets = aws.rds.SubnetGroup(
            name,
            description=f"{args.identifier}: private subnets only",
            subnet_ids=list(args.subnet_ids),
            tags={"Name": args.identifier},
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            name,
            description=f"{args.identifier}: TLS only, connections logged",
            family=parameter_group_family(args.settings.engine_version),
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_connections", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_disconnections", value="1"),
            ],
            tags={"Name": args.identifier},
            opts=child,
        )
        firewall = aws.ec2.SecurityGroup(
            f"{name}-clients",
            description=f"{args.identifier}: PostgreSQL from the EKS cluster security group only",
            vpc_id=args.vpc_id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="PostgreSQL from EKS nodes",
                    protocol="tcp",
                    from_port=POSTGRES_PORT,
                    to_port=POSTGRES_PORT,
                    security_groups=[args.client_security_group_id],
                )
            ],
            # No egress rules: the database starts no connections.
            tags={"Name": f"{args.identifier}-clients"},
            opts=child,
        )
        log_groups = [
            encrypted_log_group(
                f"{name}-{export}",
                log_group_name=group,
                retention_days=args.log_retention_days,
                kms_key_arn=args.logs_key_arn,
                opts=child,
            )
            for export, group in args.log_groups.items()
        ]
        settings = args.settings
        # A final snapshot outlives the instance: a fixed name would make the next destroy, after a
        # redeploy, fail on the snapshot the first one left. A suffix made once per instance, kept in
        # the state and made anew with the next instance, keeps every snapshot's name free.
        snapshot_suffix = random.RandomId(
            f"{name}-final-snapshot", byte_length=4, keepers={"identifier": args.identifier}, opts=child
        )
        self.instance = aws.rds.Instance(
            name,
            identifier=args.identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            instance_class=settings.instance_class,
            allocated_storage=settings.allocated_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=DB_NAME,
            username=DB_USER,
            password=pulumi.Output.secret(password),
            port=POSTGRES_PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[firewall.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=settings.multi_az,
            backup_retention_period=settings.backup_retention_days,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=pulumi.Output.concat(args.identifier, "-final-", snapshot_suffix.hex),
            enabled_cloudwatch_logs_exports=list(args.log_groups),
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=_PERFORMANCE_INSIGHTS_DAYS,
            auto_minor_version_upgrade=True,
            tags={"Name": args.identifier},
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_groups),
        )
        self.backend_store_uri = pulumi.Output.secret(self.instance.address.apply(lambda host: backend_store_uri(host, password)))
        self.register_outputs({"address": self.instance.address, "backendStoreUri": self.backend_store_uri})
