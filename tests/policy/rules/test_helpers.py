"""The shared accessors the rules rely on."""

from __future__ import annotations

import pytest

from ailab.policy.model import MISSING, Hidden, Record, RecordSet, get_path
from ailab.policy.rules import exposure, residency
from ailab.policy.rules.helpers.documents import policy_statements
from ailab.policy.rules.helpers.images import parse_image, registry_allowed
from ailab.policy.rules.helpers.linking import Linker
from ailab.policy.rules.helpers.namespaces import by_namespace
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES, containers, pod_spec
from ailab.policy.rules.helpers.values import as_bool, as_list, dig, elements, hides, is_unknown, mapping, strings


@pytest.mark.parametrize(
    ("reference", "registry", "repository", "tag", "digest"),
    [
        ("postgres", "docker.io", "library/postgres", None, None),
        ("postgres:16.6-bookworm", "docker.io", "library/postgres", "16.6-bookworm", None),
        ("qdrant/qdrant:v1.13.4", "docker.io", "qdrant/qdrant", "v1.13.4", None),
        ("ghcr.io/mlflow/mlflow:v3.1.1", "ghcr.io", "mlflow/mlflow", "v3.1.1", None),
        ("localhost:5000/tools/probe", "localhost:5000", "tools/probe", None, None),
        ("localhost/probe:1", "localhost", "probe", "1", None),
        ("nvcr.io/nvidia/k8s/dcgm-exporter:3.3.9", "nvcr.io", "nvidia/k8s/dcgm-exporter", "3.3.9", None),
        ("docker.io/library/nginx@sha256:abc", "docker.io", "library/nginx", None, "sha256:abc"),
        ("registry:5000/a/b:1@sha256:abc", "registry:5000", "a/b", "1", "sha256:abc"),
    ],
)
def test_parse_image(reference: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    image = parse_image(reference)
    assert (image.registry, image.repository, image.tag, image.digest) == (registry, repository, tag, digest)


def test_registry_prefixes_match_whole_segments() -> None:
    allowed = ["ghcr.io/mlflow", "docker.io/library/"]
    assert registry_allowed(parse_image("ghcr.io/mlflow/mlflow:v3"), allowed)
    assert registry_allowed(parse_image("postgres:16"), allowed)
    assert not registry_allowed(parse_image("ghcr.io/mlflowx/mlflow:v3"), allowed)
    assert not registry_allowed(parse_image("ghcr.io/mlflow:v3"), ["ghcr.io/mlflow/mlflow/extra"])


def test_as_bool_and_hides() -> None:
    assert as_bool(True) is True and as_bool("False") is False and as_bool("1") is True
    assert as_bool("[unknown]") is None and as_bool(MISSING) is None and as_bool(2) is None
    assert hides("[secret]") and hides(["a", "[unknown]"]) and not hides(["a"]) and not hides(MISSING)


def test_every_workload_kind_yields_its_containers() -> None:
    pod = {"containers": [{"name": "a", "image": "x:1"}], "initContainers": [{"name": "i", "image": "x:1"}]}
    template = {"template": {"spec": pod}}
    shapes = {
        "kubernetes:core/v1:Pod": {"spec": pod},
        "kubernetes:batch/v1:CronJob": {"spec": {"jobTemplate": {"spec": template}}},
    }
    for type_ in WORKLOAD_TYPES:
        record = Record(type_, "w", "urn:w", shapes.get(type_, {"spec": template}))
        spec = pod_spec(record)
        assert spec is not None and spec.spec is pod, type_
        refs = containers(record)
        assert [ref.name for ref in refs] == ["i", "a"]
        assert refs[1].path == f"{spec.path}.containers[0]"


def test_container_settings_inherit_from_the_pod() -> None:
    record = Record(
        "kubernetes:core/v1:Pod",
        "p",
        "urn:p",
        {"spec": {"securityContext": {"runAsNonRoot": True}, "containers": [{"name": "a", "securityContext": {"runAsUser": 7}}]}},
    )
    (ref,) = containers(record)
    assert ref.effective("runAsNonRoot") == ("spec.securityContext.runAsNonRoot", True)
    assert ref.effective("runAsUser") == ("spec.containers[0].securityContext.runAsUser", 7)
    assert ref.own("privileged") == ("spec.containers[0].securityContext.privileged", MISSING)


def test_linker_prefers_the_named_target_and_ignores_placeholders() -> None:
    a = Record("aws:s3/bucket:Bucket", "a", "urn:a", {"bucket": "bucket-a"})
    b = Record("aws:s3/bucket:Bucket", "b", "urn:b", {"bucket": "[unknown]"})
    linker = Linker([a, b], ("bucket",))
    by_name = Record("aws:s3/bucketPolicy:BucketPolicy", "p", "urn:p", {"bucket": "bucket-a"}, dependencies=("urn:b",))
    by_dependency = Record("aws:s3/bucketPolicy:BucketPolicy", "q", "urn:q", {"bucket": "[unknown]"}, dependencies=("urn:b",))
    unlinked = Record("aws:s3/bucketPolicy:BucketPolicy", "r", "urn:r", {"bucket": "[unknown]"})
    assert linker.targets(by_name, "bucket") == [a]
    assert linker.targets(by_dependency, "bucket") == [b]
    assert linker.targets(unlinked, "bucket") == []
    assert set(linker.covered(RecordSet([by_name, by_dependency]).of_type("aws:s3/bucketPolicy:BucketPolicy"), "bucket")) == {
        "urn:a",
        "urn:b",
    }


def test_hidden_is_not_absent() -> None:
    """A placeholder standing for a whole object or list reads as hidden below it, never as absent."""
    data = {"spec": "[unknown]", "items": [{"a": 1}, "[secret]"], "none": None}
    assert get_path(data, "spec.template.spec") == "[unknown]"
    assert get_path(data, "items[1].name") == "[secret]" and get_path(data, "items[0].b") is MISSING
    assert get_path(data, "none.x") is MISSING and get_path(data, "absent.x") is MISSING and get_path(data, "items[5]") is MISSING
    assert dig(data, "spec", "template") == "[unknown]" and dig(data, "absent", "x") is MISSING

    hidden = mapping("[unknown]")
    assert isinstance(hidden, Hidden) and is_unknown(hidden) and hides(hidden)
    assert hidden.get("runAsNonRoot", MISSING) == "[unknown]" and hidden["x"] == "[unknown]"
    assert "x" not in hidden and list(hidden) == [] and len(hidden) == 0 and not hidden
    assert (
        mapping(hidden) is hidden and mapping(None) == {} and mapping("text") == {} and mapping("[secret]") == Hidden("[secret]")
    )
    assert get_path({"metadata": hidden}, "metadata.labels") == "[unknown]"

    assert elements("[secret]") == ["[secret]"] and elements(None) == [] and elements([1]) == [1]
    assert strings("[unknown]") == ["[unknown]"] and strings({"a": 1}) == [] and as_list("[unknown]") == ["[unknown]"]
    assert hides(elements("[unknown]")) and not is_unknown({}) and not is_unknown("text")


def test_record_metadata_under_a_hidden_object() -> None:
    record = Record("kubernetes:core/v1:Namespace", "n", "urn:n", {"metadata": "[unknown]"})
    assert record.labels == Hidden("[unknown]") and record.annotations == Hidden("[unknown]")
    assert record.namespace == "[unknown]"
    record = Record("kubernetes:core/v1:Namespace", "n", "urn:n", {"metadata": {"name": "n", "labels": "[secret]"}})
    assert record.labels == Hidden("[secret]") and record.annotations == {}
    assert Record("kubernetes:core/v1:Namespace", "n", "urn:n", {}).labels == {}


def test_container_settings_under_hidden_security_contexts() -> None:
    def pod(pod_context: object, container_context: object) -> Record:
        container = {"name": "a", "securityContext": container_context}
        return Record(
            "kubernetes:core/v1:Pod", "p", "urn:p", {"spec": {"securityContext": pod_context, "containers": [container]}}
        )

    (ref,) = containers(pod({"runAsNonRoot": True}, "[unknown]"))
    assert ref.effective("runAsNonRoot") == ("spec.containers[0].securityContext.runAsNonRoot", "[unknown]")
    assert ref.own("privileged") == ("spec.containers[0].securityContext.privileged", "[unknown]")
    (ref,) = containers(pod("[secret]", {"runAsUser": 7}))
    assert ref.effective("runAsUser") == ("spec.containers[0].securityContext.runAsUser", 7)
    assert ref.effective("runAsNonRoot") == ("spec.securityContext.runAsNonRoot", "[secret]")
    assert ref.own("privileged") == ("spec.containers[0].securityContext.privileged", MISSING)


def test_environment_under_hidden_entries() -> None:
    def container(**fields: object) -> Record:
        return Record("kubernetes:core/v1:Pod", "p", "urn:p", {"spec": {"containers": [{"name": "a", **fields}]}})

    (ref,) = containers(container(env="[unknown]", envFrom="[secret]", args="[unknown]"))
    assert ref.env("KEY") == ("spec.containers[0].env", Hidden("[unknown]"))
    assert ref.env_from_secret() and ref.command_hidden
    (ref,) = containers(container(env=[{"name": "KEY", "value": "1"}, {"name": "[secret]", "value": "2"}], command=["mlflow"]))
    assert ref.env("KEY") == ("spec.containers[0].env[1]", Hidden("[secret]"))  # the hidden name may be KEY, and comes last
    assert not ref.command_hidden and not ref.env_from_secret()
    (ref,) = containers(container(env=["[unknown]", {"name": "KEY", "value": "1"}], envFrom=[{"configMapRef": {}}]))
    assert ref.env("KEY") == ("spec.containers[0].env[1]", {"name": "KEY", "value": "1"})  # a visible entry after it wins
    assert ref.env("OTHER") == ("spec.containers[0].env[0]", Hidden("[unknown]")) and not ref.env_from_secret()


def test_records_in_a_hidden_namespace_may_be_in_any() -> None:
    def quota(name: str, namespace: object) -> Record:
        return Record(
            "kubernetes:core/v1:ResourceQuota", name, f"urn:{name}", {"metadata": {"name": name, "namespace": namespace}}
        )

    placed, hidden, elsewhere = quota("q", "a"), quota("h", "[unknown]"), quota("x", "b")
    grouped = by_namespace(RecordSet([placed, hidden, elsewhere]), "kubernetes:core/v1:ResourceQuota")
    assert dict(grouped) == {"a": [placed], "b": [elsewhere]} and grouped.unplaced == [hidden]
    assert not grouped.lacks("c") and grouped.candidates("a") == [placed, hidden] and grouped.candidates("c") == [hidden]
    assert by_namespace(RecordSet([placed]), "kubernetes:core/v1:ResourceQuota").lacks("c")


def test_a_configuration_whose_target_is_hidden_may_configure_any() -> None:
    a = Record("aws:s3/bucket:Bucket", "a", "urn:a", {"bucket": "bucket-a"})
    hidden = Record("aws:s3/bucketPolicy:BucketPolicy", "p", "urn:p", {"bucket": "[unknown]"})
    elsewhere = Record("aws:s3/bucketPolicy:BucketPolicy", "q", "urn:q", {"bucket": "bucket-elsewhere"})
    covered = Linker([a], ("bucket",)).covered([hidden, elsewhere], "bucket")
    assert dict(covered) == {} and covered.unplaced == [hidden] and not covered.lacks("urn:a")
    assert Linker([a], ("bucket",)).covered([elsewhere], "bucket").lacks("urn:a")
    # A target whose own name is hidden may be the one a visible reference names.
    unnamed = Record("aws:s3/bucket:Bucket", "u", "urn:u", {"bucket": "[unknown]"})
    assert Linker([unnamed], ("bucket",)).covered([elsewhere], "bucket").unplaced == [elsewhere]


def test_policy_statements_accept_strings_objects_and_garbage() -> None:
    assert policy_statements('{"Statement": {"Effect": "Allow"}}') == [(0, {"Effect": "Allow"})]
    assert policy_statements({"Statement": [{"Effect": "Deny"}, "junk"]}) == [(0, {"Effect": "Deny"})]
    assert policy_statements("{not json") == [] and policy_statements("[unknown]") == [] and policy_statements(None) == []
    assert policy_statements({"Statement": "[secret]"}) == [(0, Hidden("[secret]"))]
    assert policy_statements({"Statement": [{"Effect": "Deny"}, "[unknown]"]}) == [
        (0, {"Effect": "Deny"}),
        (1, Hidden("[unknown]")),
    ]


@pytest.mark.parametrize(
    ("text", "regions"),
    [
        ("arn:aws:kms:eu-central-1:123456789012:key/k", ["eu-central-1"]),
        ("arn:aws:s3:::bucket/*", []),
        ("arn:aws:iam::123456789012:role/x", []),
        ("https://s3.us-west-2.amazonaws.com/bucket", ["us-west-2"]),
        ("https://s3-us-east-2.amazonaws.com", ["us-east-2"]),
        ("https://ABC.gr7.eusc-de-east-1.eks.amazonaws.com", ["eusc-de-east-1"]),
        ("db.abc.us-gov-west-1.rds.amazonaws.com:5432", ["us-gov-west-1"]),
        ("https://s3.amazonaws.com", []),
        ('{"Resource":["arn:aws:sqs:ap-south-1:1:q","arn:aws:sqs:eu-west-1:1:q"]}', ["ap-south-1", "eu-west-1"]),
    ],
)
def test_regions_named(text: str, regions: list[str]) -> None:
    assert [region for region, _ in residency._regions_named(text)] == regions


def test_wildcard_tls_hosts_cover_one_label() -> None:
    assert exposure._host_covered("a.lab.eu", ["*.lab.eu"])
    assert not exposure._host_covered("a.b.lab.eu", ["*.lab.eu"])
    assert not exposure._host_covered("lab.eu", ["*.lab.eu"])
    assert exposure._host_covered("lab.eu", ["lab.eu"])


def test_rules_import_no_pydantic_models() -> None:
    """The catalogue imports the spec's light modules only: building the models would cost start-up time."""
    import subprocess
    import sys

    code = "import sys, ailab.policy.model; ailab.policy.model.all_rules(); print('pydantic' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip() == "False"
