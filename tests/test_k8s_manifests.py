"""Job manifests: every case validated against the official Kubernetes schemas
(`kubernetes-validate`, strict: unknown fields fail), plus what a JSON schema cannot
check - names and labels that are valid DNS labels / label values, quantities the API
parses, restartPolicy and tolerations a Job accepts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from factories import make_job
from traitlets import TraitError

from jupyterlab_jobs.backends.base import JobSpec
from jupyterlab_jobs.backends.kubernetes import KubernetesBackend
from jupyterlab_jobs.backends.kubernetes import manifests as m
from jupyterlab_jobs.catalog import Catalog, Dataset, Image, InstanceType

# The oldest and newest schemas the package ships, and one between.
KUBERNETES_VERSIONS = ["1.25", "1.30", "1.37"]
K8S_BACKEND = "jupyterlab_jobs.backends.kubernetes.KubernetesBackend"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_KEY_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# The API's quantity grammar (resource.Quantity): digits, an optional fraction, a suffix.
QUANTITY = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
ENV_NAMES = {
    "PRIMEHUB_USER",
    "PRIMEHUB_GROUP",
    "JUPYTERHUB_USER",
    "JOB_ID",
    "JOB_NAME",
    "JOB_GROUP",
    "JOB_USER",
    "INSTANCE_TYPE",
    "IMAGE_NAME",
    "PYTHONUNBUFFERED",
}


def spec(
    *,
    name: str = "train",
    user: str = "alice",
    group: str = "research",
    job_id: str = "0123456789abcdef",
    command: str = "python train.py",
    instance_type: InstanceType | None = None,
    image: Image | None = None,
    datasets: list[Dataset] | None = None,
    max_runtime_seconds: int = 3600,
    files: dict[str, Path] | None = None,
) -> JobSpec:
    instance_type = instance_type or InstanceType(name="cpu-1", cpu=1, memory="2Gi")
    image = image or Image(name="base", container_image="team/base:1.0")
    job = make_job(
        id=job_id,
        name=name,
        user=user,
        group=group,
        instance_type=instance_type.name,
        image=image.name,
        command=command,
        max_runtime_seconds=max_runtime_seconds,
    )
    env = {
        "PRIMEHUB_USER": user,
        "PRIMEHUB_GROUP": group,
        "JUPYTERHUB_USER": user,
        "JOB_ID": job_id,
        "JOB_NAME": name,
        "JOB_GROUP": group,
        "JOB_USER": user,
        "INSTANCE_TYPE": instance_type.name,
        "IMAGE_NAME": image.name,
        "PYTHONUNBUFFERED": "1",
    }
    return JobSpec(job, instance_type, image, datasets or [], env, files or {})


# What a notebook job carries (names as the service makes them; the paths need not exist).
NOTEBOOK_FILES = {
    "Étude de cas (v2).ipynb": Path("/srv/snapshots/etude.ipynb"),
    "parameters.json": Path("/srv/snapshots/parameters.json"),
    "run_notebook.py": Path("/srv/run_notebook.py"),
}
NOTEBOOK_COMMAND = (
    "python .job/run_notebook.py '.job/Étude de cas (v2).ipynb' "
    "'research/notebook-runs/Étude de cas (v2)-0123456789abcdef.ipynb' .job/parameters.json"
)


GPU = InstanceType(
    name="gpu-2",
    cpu=8,
    memory="61Gi",
    gpu=2,
    node_selector={"accelerator": "nvidia-a100", "pool": "gpu"},
    tolerations=[
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {
            "key": "spot",
            "operator": "Equal",
            "value": "true",
            "effect": "NoExecute",
            "toleration_seconds": 300,
        },
    ],
)
TORCH = Image(
    name="torch",
    container_image="ml/torch:2.3-cpu",
    gpu_container_image="ml/torch:2.3-cuda12",
    pull_secret="registry-credentials",
)
DATASETS = [
    Dataset(name="mnist", pvc="mnist-data"),
    Dataset(name="imagenet.2012", host_path="/mnt/datasets/imagenet"),
]

CASES: dict[str, tuple[JobSpec, m.ManifestSettings]] = {
    "cpu": (spec(), m.ManifestSettings()),
    "half-cpu-odd-memory": (
        spec(instance_type=InstanceType(name="small", cpu=0.25, memory=" 1.5Gi ")),
        m.ManifestSettings(),
    ),
    "memory-with-capital-K": (
        spec(instance_type=InstanceType(name="tiny", cpu=0.001, memory="512K")),
        m.ManifestSettings(),
    ),
    "gpu": (spec(instance_type=GPU, image=TORCH), m.ManifestSettings()),
    "datasets": (spec(datasets=DATASETS), m.ManifestSettings()),
    "unicode-name": (spec(name="Modèle été 🚀 \u2013 run #1"), m.ManifestSettings()),
    "emoji-only-name": (spec(name="🚀🚀🚀"), m.ManifestSettings()),
    "long-name": (spec(name="x" * 200), m.ManifestSettings()),
    "leading-dashes-and-digits": (spec(name="--42 ÉTUDE--"), m.ManifestSettings()),
    "email-user-odd-group": (
        spec(user="Alice.O'Brien@example.org", group="data-team-"),
        m.ManifestSettings(),
    ),
    "unicode-user": (spec(user="józef_ßtraße"), m.ManifestSettings()),
    "multi-line-command": (
        spec(command='set -e\nfor i in 1 2 3; do\n  echo "$i"\ndone\n'),
        m.ManifestSettings(),
    ),
    "notebook": (
        spec(command=NOTEBOOK_COMMAND, files=NOTEBOOK_FILES, datasets=DATASETS),
        m.ManifestSettings(),
    ),
    "all-settings": (
        spec(instance_type=GPU, image=TORCH, datasets=DATASETS, name="Ünïcode " * 20),
        m.ManifestSettings(
            namespace="team-a",
            name_prefix="Batch Jobs",
            image_pull_policy="Always",
            service_account="jobs-runner",
            run_as_uid=4242,
            run_as_gid=4242,
            fs_gid=None,
            group_pvc_template="home-{group}-pvc",
            grace_seconds=0,
            ttl_seconds_after_finished=None,
            extra_labels={"cost-center": "ml-42"},
            extra_env={"HTTP_PROXY": "http://proxy:3128"},
        ),
    ),
}


def manifest_of(case: str) -> dict[str, Any]:
    job_spec, settings = CASES[case]
    return m.job_manifest(job_spec, settings)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_manifest_validates_against_the_official_schema(case: str, version: str) -> None:
    manifest = manifest_of(case)
    # Raises ValidationError (with the path of the offending field) when invalid.
    assert kubernetes_validate.validate(manifest, version, strict=True) == version


def test_the_schema_check_does_catch_mistakes() -> None:
    manifest = manifest_of("cpu")
    manifest["spec"]["template"]["spec"]["containers"][0]["workingdirectory"] = "/tmp"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.30", strict=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_the_schema_cannot_check(case: str) -> None:
    job_spec, settings = CASES[case]
    manifest = m.job_manifest(job_spec, settings)
    meta, job = manifest["metadata"], manifest["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]

    assert DNS_LABEL.match(meta["name"]) and len(meta["name"]) <= 63
    assert meta["name"].endswith(job_spec.job.id)
    for labels in (meta["labels"], job["template"]["metadata"]["labels"]):
        for key, value in labels.items():
            prefix, _, name = key.rpartition("/")
            assert LABEL_KEY_NAME.match(name) and len(name) <= 63, key
            assert not prefix or (len(prefix) <= 253 and re.match(r"^[a-z0-9.-]+$", prefix))
            assert LABEL_VALUE.match(value) and len(value) <= 63, (key, value)
    assert meta["labels"][m.MANAGED_BY_LABEL] == "jupyterlab-jobs"
    assert meta["annotations"] == {
        m.NAME_ANNOTATION: job_spec.job.name,
        m.USER_ANNOTATION: job_spec.job.user,
        m.GROUP_ANNOTATION: job_spec.job.group,
    }

    assert job["backoffLimit"] == 0
    assert pod["restartPolicy"] == "Never"  # a Job refuses Always; the schema allows it
    assert pod["activeDeadlineSeconds"] == job_spec.job.max_runtime_seconds
    assert job.get("ttlSecondsAfterFinished") == settings.ttl_seconds_after_finished

    for amounts in container["resources"].values():
        for resource, quantity in amounts.items():
            assert QUANTITY.match(quantity), (resource, quantity)
    assert container["resources"]["requests"] == container["resources"]["limits"]

    for toleration in pod.get("tolerations", []):
        assert toleration.get("operator", "Equal") in ("Exists", "Equal")
        assert toleration.get("effect", "") in ("", "NoSchedule", "PreferNoSchedule", "NoExecute")

    volume_names = [v["name"] for v in pod["volumes"]]
    assert len(set(volume_names)) == len(volume_names)
    assert all(DNS_LABEL.match(n) for n in volume_names)
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert len(mounts) == len(container["volumeMounts"])
    assert {mount["name"] for mount in mounts.values()} == set(volume_names)
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert all(DNS_LABEL.match(claim) for claim in claims)

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container["command"][:2] == ["bash", "-lc"]
    assert container["command"][2].endswith(job_spec.job.command)
    env = {e["name"]: e["value"] for e in container["env"]}
    assert set(env) >= ENV_NAMES and env["HOME"] == m.HOME == container["workingDir"]
    assert env["JOB_NAME"] == job_spec.job.name
    # The absolute paths a script may use instead of the links in $HOME.
    assert env["JOB_GROUP_DIR"] == f"/project/{job_spec.job.group}"
    assert mounts[env["JOB_GROUP_DIR"]]["name"] == "project"
    dataset_mounts = [
        path for path, mount in mounts.items() if mount["name"].startswith("dataset-")
    ]
    assert len(dataset_mounts) == len(job_spec.datasets)
    assert all(Path(path).parent == Path(env["JOB_DATASETS_DIR"]) for path in dataset_mounts)


def test_a_notebook_job_mounts_its_files_and_reports_through_the_termination_log() -> None:
    job_spec, settings = CASES["notebook"]
    manifest = m.job_manifest(job_spec, settings)
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (mount,) = [v for v in container["volumeMounts"] if v["name"] == m.FILES_VOLUME]
    assert mount == {"name": "job-files", "mountPath": "/home/jovyan/.job", "readOnly": True}
    (volume,) = [v for v in pod["volumes"] if v["name"] == m.FILES_VOLUME]
    config_map_name = manifest["metadata"]["name"] + "-files"
    assert volume["configMap"]["name"] == config_map_name
    assert sorted(item["path"] for item in volume["configMap"]["items"]) == sorted(NOTEBOOK_FILES)
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TERMINATION_MESSAGE_PATH"] == "/dev/termination-log"
    assert "terminationMessagePath" not in container  # the default: /dev/termination-log
    # A command job has neither.
    plain = m.job_manifest(spec(), settings)["spec"]["template"]["spec"]
    assert all(v["name"] != m.FILES_VOLUME for v in plain["volumes"])
    assert "TERMINATION_MESSAGE_PATH" not in {e["name"] for e in plain["containers"][0]["env"]}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_files_config_map_validates_and_matches_the_volume(version: str) -> None:
    job_spec, settings = CASES["notebook"]
    contents = {name: f"content of {name}".encode() for name in NOTEBOOK_FILES}
    owner = {"name": "job-train-0123456789abcdef", "uid": "5e1f-42"}
    config_map = m.files_config_map(job_spec, settings, contents, owner)
    assert kubernetes_validate.validate(config_map, version, strict=True) == version
    manifest = m.job_manifest(job_spec, settings)
    (volume,) = [
        v for v in manifest["spec"]["template"]["spec"]["volumes"] if v["name"] == m.FILES_VOLUME
    ]
    meta = config_map["metadata"]
    assert meta["name"] == volume["configMap"]["name"]
    assert len(meta["name"]) <= 253 and re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", meta["name"])
    assert meta["labels"] == manifest["metadata"]["labels"]
    assert meta["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "name": owner["name"], "uid": owner["uid"]}
    ]
    import base64

    by_key = {key: base64.b64decode(value) for key, value in config_map["binaryData"].items()}
    assert all(re.match(r"^[-._a-zA-Z0-9]+$", key) for key in by_key)
    files = {item["path"]: by_key[item["key"]] for item in volume["configMap"]["items"]}
    assert files == contents


def test_the_jobs_world() -> None:
    manifest = manifest_of("datasets")
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
    assert mounts["/home/jovyan"] == {"name": "home", "emptyDir": {}}
    assert mounts["/dev/shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert mounts["/project/research"]["persistentVolumeClaim"] == {"claimName": "project-research"}
    assert mounts["/datasets/mnist"]["persistentVolumeClaim"] == {
        "claimName": "mnist-data",
        "readOnly": True,
    }
    assert mounts["/datasets/imagenet.2012"]["hostPath"] == {
        "path": "/mnt/datasets/imagenet",
        "type": "Directory",
    }
    read_only = {mount["mountPath"] for mount in container["volumeMounts"] if mount.get("readOnly")}
    assert read_only == {"/datasets/mnist", "/datasets/imagenet.2012"}
    script = container["command"][2]
    assert script.splitlines() == [
        'ln -sfn /project/research "$HOME"/research 2>/dev/null || true',
        'ln -sfn /datasets "$HOME"/datasets 2>/dev/null || true',
        "python train.py",
    ]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}


def test_gpu_instance_types_get_gpus_the_gpu_image_and_their_nodes() -> None:
    manifest = manifest_of("gpu")
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "ml/torch:2.3-cuda12"
    assert container["resources"]["limits"] == {"cpu": "8", "memory": "61Gi", "nvidia.com/gpu": "2"}
    assert pod["nodeSelector"] == {"accelerator": "nvidia-a100", "pool": "gpu"}
    assert pod["tolerations"][1] == {
        "key": "spot",
        "operator": "Equal",
        "value": "true",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
    cpu_only = m.job_manifest(spec(image=TORCH), m.ManifestSettings())
    assert cpu_only["spec"]["template"]["spec"]["containers"][0]["image"].endswith("2.3-cpu")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("train", "job-train-0123456789abcdef"),
        ("Modèle été 🚀 \u2013 run #1", "job-modele-ete-run-1-0123456789abcdef"),
        ("🚀", "job-0123456789abcdef"),
        ("--42 ÉTUDE--", "job-42-etude-0123456789abcdef"),
        ("x" * 200, "job-" + "x" * 42 + "-0123456789abcdef"),
        ("a" * 41 + "-b", "job-" + "a" * 41 + "-0123456789abcdef"),
    ],
)
def test_job_names_are_readable_dns_labels(name: str, expected: str) -> None:
    result = m.job_name("0123456789abcdef", name)
    assert result == expected
    assert len(result) <= 63 and DNS_LABEL.match(result)


def test_names_stay_unique_per_job() -> None:
    names = {m.job_name(f"{i:016x}", "same name") for i in range(1000)}
    assert len(names) == 1000


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("alice", "alice"),
        ("research", "research"),
        ("a_b.c-d", "a_b.c-d"),
        # Invalid values keep what is readable and add a hash of the exact value.
        ("data-team-", r"data-team-[0-9a-f]{8}"),
        ("alice@example.org", r"alice-example\.org-[0-9a-f]{8}"),
        ("józef", r"jozef-[0-9a-f]{8}"),
        ("日本", r"[0-9a-f]{12}"),
        ("a" * 64, "a" * 50 + r"-[0-9a-f]{8}"),
    ],
)
def test_label_values(value: str, pattern: str) -> None:
    result = m.label_value(value)
    assert re.fullmatch(pattern, result), result
    assert LABEL_VALUE.match(result) and len(result) <= 63


def test_label_values_of_different_users_differ() -> None:
    users = ["a@x.org", "a@y.org", "a.x.org", "józef", "jozef", "日本", "中国"]
    assert len({m.label_value(user) for user in users}) == len(users)


@pytest.mark.parametrize(
    ("cpu", "expected"), [(1, "1"), (0.5, "500m"), (2.25, "2250m"), (0.0001, "1m"), (64, "64")]
)
def test_cpu_quantities(cpu: float, expected: str) -> None:
    assert m.cpu_quantity(cpu) == expected


@pytest.mark.parametrize(
    ("memory", "expected"),
    [("2Gi", "2Gi"), (" 1.5Gi ", "1.5Gi"), ("512M", "512M"), ("1K", "1000"), ("64", "64")],
)
def test_memory_quantities(memory: str, expected: str) -> None:
    assert m.memory_quantity(memory) == expected
    assert QUANTITY.match(expected)


@pytest.mark.parametrize(
    ("toleration", "problem"),
    [
        ({"key": "a", "effect": "NoScheduleEver"}, "unknown effect"),
        ({"key": "a", "operator": "In"}, "operator must be Exists or Equal"),
        ({"key": "a", "operator": "Exists", "value": "x"}, "takes no value"),
        ({"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}, "NoExecute only"),
        ({"key": "a", "tolerations": 1}, "unknown field"),
        ({"key": 5}, "key must be a string"),
    ],
)
def test_bad_tolerations_are_refused_before_the_job_is_accepted(
    toleration: dict[str, Any], problem: str
) -> None:
    bad = spec(instance_type=InstanceType(name="odd", tolerations=[toleration]))
    reason = KubernetesBackend(data_dir="/nonexistent").validate(bad)
    assert reason is not None and problem in reason


@pytest.mark.parametrize(
    ("job_spec", "problem"),
    [
        (spec(image=Image(name="local", prefix="/opt/env")), "has no container_image"),
        (spec(datasets=[Dataset(name="mnist", path="/srv/mnist")]), "no `pvc` or `host_path`"),
    ],
)
def test_catalog_entries_without_kubernetes_parts_are_refused(
    job_spec: JobSpec, problem: str
) -> None:
    reason = KubernetesBackend(data_dir="/nonexistent").validate(job_spec)
    assert reason is not None and problem in reason
    assert KubernetesBackend(data_dir="/nonexistent").validate(spec()) is None


def test_builders_are_pure() -> None:
    job_spec, settings = CASES["all-settings"]
    first = m.job_manifest(job_spec, settings)
    first["spec"]["template"]["metadata"]["labels"]["mutated"] = "yes"
    assert m.job_manifest(job_spec, settings) != first
    assert "mutated" not in m.job_manifest(job_spec, settings)["metadata"]["labels"]


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "kubernetes"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_shipped_rbac_validates(version: str) -> None:
    documents = list(yaml.safe_load_all((EXAMPLES / "rbac.yaml").read_text()))
    assert [d["kind"] for d in documents] == ["ServiceAccount", "Role", "RoleBinding"]
    for document in documents:
        assert kubernetes_validate.validate(document, version, strict=True) == version
    role, binding = documents[1], documents[2]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["name"] == documents[0]["metadata"]["name"]
    assert all("*" not in rule["verbs"] + rule["resources"] for rule in role["rules"])


def test_the_zero_to_jupyterhub_example_is_a_working_config(tmp_path: Path) -> None:
    values = yaml.safe_load((EXAMPLES / "z2jh-values.yaml").read_text())
    singleuser = values["singleuser"]
    assert singleuser["serviceAccountName"] == "jupyterlab-jobs"
    (extra,) = singleuser["extraFiles"].values()
    assert extra["mountPath"].startswith("/etc/jupyter/jupyter_server_config.d/")
    assert extra["mountPath"].endswith(".json")
    config = extra["data"]
    assert config["JobsApp"]["backend_class"] == K8S_BACKEND
    catalog = Catalog.load(
        **{k: config["JobsApp"][k] for k in ("groups", "instance_types", "images", "datasets")}
    )
    backend = KubernetesBackend(data_dir=str(tmp_path), **config["KubernetesBackend"])
    backend.check_catalog(catalog)
    for group in catalog.groups:
        for instance_type in group.instance_types:
            entry = catalog.instance_type(instance_type)
            image = catalog.image(group.images[0])
            assert entry is not None and image is not None
            datasets = [d for d in map(catalog.dataset, group.datasets) if d is not None]
            job_spec = spec(instance_type=entry, image=image, datasets=datasets)
            assert backend.validate(job_spec) is None
            manifest = m.job_manifest(job_spec, m.ManifestSettings())
            assert kubernetes_validate.validate(manifest, "1.30", strict=True) == "1.30"


@pytest.mark.parametrize("template", ["{grp}-data", "{0}", "Project_{group}", "{group}-"])
def test_a_bad_group_pvc_template_is_a_startup_error(template: str) -> None:
    with pytest.raises(TraitError, match="group_pvc_template"):
        KubernetesBackend(data_dir="/nonexistent", group_pvc_template=template)
    assert KubernetesBackend(data_dir="/x", group_pvc_template="data.{group}").group_pvc_template


def test_groups_differing_only_in_case_or_punctuation_clash() -> None:
    groups = ["ml_team", "ML-team", "ml.team", "research", "Research"]
    assert m.group_name_clashes("project-{group}", groups) == [
        "groups 'ML-team', 'ml.team', 'ml_team' would share the PersistentVolumeClaim "
        "'project-ml-team'",
        "groups 'Research', 'research' would share the PersistentVolumeClaim 'project-research'",
    ]
    # Label values keep case and punctuation: distinct groups keep distinct labels.
    assert len({m.label_value(group) for group in groups}) == len(groups)
    assert m.group_name_clashes("project-{group}", ["ml-team", "ml-team2", "data"]) == []
    # One claim for every group, by the administrator's choice: nothing to clash.
    assert m.group_name_clashes("shared-project", groups) == []


def test_a_catalog_with_clashing_groups_is_a_startup_error(tmp_path: Path) -> None:
    from jupyterlab_jobs.app import JobsApp

    app = JobsApp(
        data_dir=str(tmp_path / "data"),
        backend_class=K8S_BACKEND,
        groups=[{"name": "ml_team"}, {"name": "ML-team"}, {"name": "ops"}],
    )
    message = (
        "The catalog cannot run on Kubernetes: groups 'ML-team', 'ml_team' would share "
        "the PersistentVolumeClaim 'project-ml-team'. Rename all but one of each set of groups."
    )
    # initialize_settings logs this and exits the server (tests/test_startup.py).
    with pytest.raises(ValueError, match=re.escape(message)):
        app._initialize()
    app._close()
    # The local backend keeps each group's directory under its exact name: no clash.
    local = JobsApp(
        data_dir=str(tmp_path / "local"),
        groups=[{"name": "ml_team"}, {"name": "ML-team"}, {"name": "ops"}],
    )
    local.initialize_settings()
    local.store.close()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_jobs_service_manifests_validate_and_fit_together(version: str) -> None:
    documents = list(yaml.safe_load_all((EXAMPLES / "jobs-service.yaml").read_text()))
    for document in documents:
        assert kubernetes_validate.validate(document, version, strict=True) == version
    by_kind = {d["kind"]: d for d in documents}
    assert set(by_kind) == {
        "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "PersistentVolumeClaim",
        "Deployment", "Service", "NetworkPolicy",
    }  # fmt: skip
    pod = by_kind["Deployment"]["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert pod["spec"]["serviceAccountName"] == by_kind["ServiceAccount"]["metadata"]["name"]
    assert by_kind["RoleBinding"]["subjects"][0]["name"] == pod["spec"]["serviceAccountName"]
    assert by_kind["Service"]["spec"]["selector"].items() <= labels.items()
    assert by_kind["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    allowed = [
        p["podSelector"]["matchLabels"]
        for p in by_kind["NetworkPolicy"]["spec"]["ingress"][0]["from"]
    ]
    assert {"app": "jupyterhub", "component": "proxy"} in allowed
    (container,) = pod["spec"]["containers"]
    assert container["args"][:3] == ["python", "-m", "jupyterlab_jobs.hub"]
    env = {e["name"]: e for e in container["env"]}
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == "/services/jobs/"
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == (
        "hub.services.jobs.apiToken"
    )
    role = by_kind["Role"]
    assert all("*" not in rule["verbs"] + rule["resources"] for rule in role["rules"])
    config = by_kind["ConfigMap"]["data"]
    catalog = yaml.safe_load(config["catalog.yaml"])
    Catalog.load(**{"datasets": [], **catalog})  # a valid catalog
    compile(config["jobs_service_config.py"], "jobs_service_config.py", "exec")


def test_the_zero_to_jupyterhub_service_values_match_the_service() -> None:
    values = yaml.safe_load((EXAMPLES / "z2jh-service-values.yaml").read_text())
    documents = list(yaml.safe_load_all((EXAMPLES / "jobs-service.yaml").read_text()))
    service = next(d for d in documents if d["kind"] == "Service")
    url = f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    assert values["hub"]["services"]["jobs"]["url"] == url
    assert values["singleuser"]["extraEnv"]["JUPYTERLAB_JOBS_SERVICE_URL"] == (
        f"{url}/services/jobs/"
    )
    assert "access:services!service=jobs" in values["hub"]["loadRoles"]["user"]["scopes"]
    assert "custom:jobs:admin" in values["hub"]["config"]["JupyterHub"]["custom_scopes"]
    assert values["singleuser"]["extraPodConfig"]["automountServiceAccountToken"] is False
