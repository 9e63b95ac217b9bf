"""Type tokens the rules match: Kubernetes (pulumi-kubernetes: ``kubernetes:<group or core>/<version>:<Kind>``) and AWS (pulumi-aws v7)."""

from __future__ import annotations

NAMESPACE = "kubernetes:core/v1:Namespace"
POD = "kubernetes:core/v1:Pod"
REPLICATION_CONTROLLER = "kubernetes:core/v1:ReplicationController"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
DEPLOYMENT_CONFIG = "kubernetes:apps.openshift.io/v1:DeploymentConfig"
"""OpenShift's predecessor of the Deployment (deprecated in OpenShift 4.14); its pod template is at spec.template."""
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

AWS_PROVIDER = "pulumi:providers:aws"
AWS_TYPES = "aws:*"
"""Every pulumi-aws resource: a glob, which the engine matches against type tokens."""
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_ENCRYPTION_CONFIGS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_LIFECYCLE_CONFIGS = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
EKS_ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
EC2_INSTANCE = "aws:ec2/instance:Instance"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_SUBNET = "aws:ec2/subnet:Subnet"
EBS_VOLUME = "aws:ebs/volume:Volume"
EBS_ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

# Deployability (AILAB-DEP-*): what the order and the path to the API are read from.
EKS_ADDON = "aws:eks/addon:Addon"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
EC2_VPC = "aws:ec2/vpc:Vpc"
EC2_ROUTE = "aws:ec2/route:Route"
EC2_SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
TGW_VPC_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
VPN_GATEWAY = "aws:ec2/vpnGateway:VpnGateway"
VPN_GATEWAY_ROUTE_PROPAGATION = "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"
VPC_PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
CLIENT_VPN_ENDPOINT = "aws:ec2clientvpn/endpoint:Endpoint"
INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
K3S_HELM_CHART_CONFIG = "kubernetes:helm.cattle.io/v1:HelmChartConfig"
"""k3s's customisation of a bundled chart (its Traefik): a CRD, so no pulumi-kubernetes class of its own."""
K8S_PROVIDER = "pulumi:providers:kubernetes"
