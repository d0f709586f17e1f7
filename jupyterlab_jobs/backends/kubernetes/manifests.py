"""Pure builders: a job spec and the backend's settings in, a ``batch/v1`` Job dict out.

Nothing here talks to a cluster or imports the Kubernetes client, so every manifest the
backend can produce is unit-tested (and schema-validated) without one, the way
kubespawner's ``objects.py`` builds its pods.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import shlex
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from ...catalog import Dataset, Image, InstanceType, parse_memory
from ..base import JobSpec

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "jupyterlab-jobs"
GROUP_LABEL = "jupyterlab-jobs/group"
USER_LABEL = "jupyterlab-jobs/user"
JOB_ID_LABEL = "jupyterlab-jobs/job-id"
# Label values are restricted (63 characters, no '@', no unicode): the exact names are
# kept in annotations, where anything goes.
NAME_ANNOTATION = "jupyterlab-jobs/name"
USER_ANNOTATION = "jupyterlab-jobs/user"
GROUP_ANNOTATION = "jupyterlab-jobs/group"

CONTAINER_NAME = "job"
HOME = "/home/jovyan"
PROJECT_ROOT = "/project"
# A notebook job's files (JobSpec.files) come from a ConfigMap mounted read-only here:
# the working directory's `.job/`, where the job's command expects them.
FILES_DIR = f"{HOME}/.job"
FILES_VOLUME = "job-files"
TERMINATION_LOG = "/dev/termination-log"  # the container's terminationMessagePath default
# A ConfigMap holds at most 1 MiB (its keys and metadata included).
MAX_FILES_BYTES = 900 * 1024
CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
DATASETS_ROOT = "/datasets"

LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# Kubernetes' quantity grammar (no spaces; 'k' but not 'K' for the decimal kilo).
QUANTITY = re.compile(r"^[+]?[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
MAX_NAME = 63

TOLERATION_FIELDS = {
    "key": "key",
    "operator": "operator",
    "value": "value",
    "effect": "effect",
    "tolerationSeconds": "tolerationSeconds",
    "toleration_seconds": "tolerationSeconds",
}
TOLERATION_OPERATORS = ("Exists", "Equal")
TOLERATION_EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclasses.dataclass(frozen=True)
class ManifestSettings:
    """The backend's configuration that shapes a Job (the KubernetesBackend traits)."""

    namespace: str = "default"
    name_prefix: str = "job"
    image_pull_policy: str = "IfNotPresent"
    service_account: str = ""
    run_as_uid: int = 1000
    run_as_gid: int = 100
    fs_gid: int | None = 100
    group_pvc_template: str = "project-{group}"
    artifacts_pvc: str = ""  # mounted at ~/artifacts, subPath <job id>; "": not kept
    grace_seconds: int = 30
    ttl_seconds_after_finished: int | None = 7 * 86400
    extra_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    extra_env: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _ascii_fold(text: str) -> str:
    """``"Modèle été"`` -> ``"Modele ete"``: what survives of a name in ASCII."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def dns_slug(text: str, max_length: int = MAX_NAME) -> str:
    """Lower-case letters, digits and single dashes, no dash at either end (maybe empty)."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii_fold(text).lower()).strip("-")
    return slug[:max_length].rstrip("-")


def job_name(job_id: str, name: str, prefix: str = "job") -> str:
    """The Job's name: a DNS label (at most 63 characters) whatever the job's name.

    ``<prefix>-<slug of the name>-<job id>``: readable in ``kubectl get jobs`` and unique
    through the id. The id is a hex token; anything else is hashed into one.
    """
    suffix = job_id.lower() if re.fullmatch(r"[0-9a-f]{1,32}", job_id.lower()) else _digest(job_id)
    head = dns_slug(prefix, 20) or "job"
    room = MAX_NAME - len(head) - len(suffix) - 2
    slug = dns_slug(name, max(room, 0))
    return "-".join(part for part in (head, slug, suffix) if part)


def label_value(value: str) -> str:
    """``value`` if it is a valid label value, else a readable slug plus a short hash."""
    if len(value) <= MAX_NAME and LABEL_VALUE.match(value):
        return value
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", _ascii_fold(value))[:50].strip("-_.")
    return f"{slug}-{_digest(value)}" if slug else _digest(value, 12)


def cpu_quantity(cpu: float) -> str:
    """``0.5`` -> ``"500m"``, ``2`` -> ``"2"`` (whole millicores, at least 1m)."""
    millis = max(1, round(cpu * 1000))
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def memory_quantity(memory: str) -> str:
    """A catalog memory size as a Kubernetes quantity (``"1K"`` is bytes for Kubernetes)."""
    text = memory.strip()
    return text if QUANTITY.match(text) else str(parse_memory(text))


def container_image(image: Image, gpu: int) -> str:
    """The image's container image, its GPU variant for instance types with GPUs."""
    return (image.gpu_container_image if gpu and image.gpu_container_image else "") or (
        image.container_image
    )


def toleration(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A catalog toleration as the API expects it (snake_case keys accepted)."""
    result: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in TOLERATION_FIELDS:
            raise ValueError(f"toleration: unknown field {key!r}")
        result[TOLERATION_FIELDS[key]] = value
    operator = result.get("operator", "Equal")
    if operator not in TOLERATION_OPERATORS:
        raise ValueError(f"toleration: operator must be Exists or Equal, not {operator!r}")
    effect = result.get("effect", "")
    if effect not in TOLERATION_EFFECTS:
        raise ValueError(f"toleration: unknown effect {effect!r}")
    if operator == "Exists" and result.get("value"):
        raise ValueError("toleration: operator Exists takes no value")
    if "tolerationSeconds" in result and (
        effect != "NoExecute" or not isinstance(result["tolerationSeconds"], int)
    ):
        raise ValueError("toleration: tolerationSeconds is a whole number, with NoExecute only")
    for field in ("key", "value"):
        if field in result and not isinstance(result[field], str):
            raise ValueError(f"toleration: {field} must be a string")
    return result


def dataset_volume(dataset: Dataset, volume_name: str) -> dict[str, Any]:
    """The read-only volume of a dataset: its PVC, or a host path on the node."""
    if dataset.pvc:
        return {
            "name": volume_name,
            "persistentVolumeClaim": {"claimName": dataset.pvc, "readOnly": True},
        }
    if dataset.host_path:
        return {"name": volume_name, "hostPath": {"path": dataset.host_path, "type": "Directory"}}
    raise ValueError(f"Dataset {dataset.name!r} has no `pvc` or `host_path` for Kubernetes")


def group_pvc_name(template: str, group: str) -> str:
    return template.format(group=dns_slug(group) or _digest(group))


def group_name_clashes(template: str, groups: list[str]) -> list[str]:
    """Why these groups cannot share one cluster: groups whose names differ only in case
    or punctuation (``ml_team``, ``ML-team``) would share a PersistentVolumeClaim (or a
    label value), so one group's jobs would write into another's project directory.

    A template without ``{group}`` names one claim for all groups on purpose: no clash.
    """
    derived: dict[str, Callable[[str], str]] = {"label value": label_value}
    if group_pvc_name(template, "a") != group_pvc_name(template, "b"):
        derived["PersistentVolumeClaim"] = lambda group: group_pvc_name(template, group)
    problems = []
    for what, derive in derived.items():
        sharing: dict[str, list[str]] = {}
        for group in groups:
            sharing.setdefault(derive(group), []).append(group)
        for name, names in sorted(sharing.items()):
            if len(names) > 1:
                listed = ", ".join(repr(group) for group in sorted(names))
                problems.append(f"groups {listed} would share the {what} {name!r}")
    return problems


def setup_script(group: str, datasets: list[Dataset]) -> str:
    """Shell lines run before the command: the links into the job's home."""
    links = [f'ln -sfn {shlex.quote(f"{PROJECT_ROOT}/{group}")} "$HOME"/{shlex.quote(group)}']
    if datasets:
        links.append(f'ln -sfn {DATASETS_ROOT} "$HOME"/datasets')
    return "".join(f"{line} 2>/dev/null || true\n" for line in links)


def files_config_map_name(job_name: str) -> str:
    """The name of the ConfigMap holding a Job's files (a Job name has at most 63)."""
    return f"{job_name}-files"


def file_keys(names: list[str]) -> dict[str, str]:
    """File name -> ConfigMap key: keys allow only ``[-._a-zA-Z0-9]``, so other names
    get a sanitized, numbered key (the mounted file keeps its own name via ``items``)."""
    keys: dict[str, str] = {}
    for index, name in enumerate(sorted(names)):
        if "/" in name or name in ("", ".", "..") or name.startswith(".."):
            raise ValueError(f"File name {name!r} cannot be placed in .job/")
        key = (
            name
            if CONFIG_MAP_KEY.match(name)
            else f"{index}-"
            + (re.sub(r"[^-._a-zA-Z0-9]+", "_", _ascii_fold(name)).strip("._") or "file")
        )
        keys[name] = key[:253]
    return keys


def files_config_map(
    spec: JobSpec,
    settings: ManifestSettings,
    contents: Mapping[str, bytes],
    owner: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ConfigMap with a job's files (name -> bytes), base64 in ``binaryData``.

    ``owner``: the created Job's ``name`` and ``uid``; the ConfigMap is then owned by the
    Job, so Kubernetes deletes it with the Job (cancel, TTL, retention).
    """
    name = job_name(spec.job.id, spec.job.name, settings.name_prefix)
    keys = file_keys(list(contents))
    metadata: dict[str, Any] = {
        "name": files_config_map_name(name),
        "namespace": settings.namespace,
        "labels": labels_for(spec, settings),
    }
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": owner["name"],
                "uid": owner["uid"],
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "binaryData": {
            keys[file]: base64.b64encode(data).decode("ascii") for file, data in contents.items()
        },
    }


def labels_for(spec: JobSpec, settings: ManifestSettings) -> dict[str, str]:
    job = spec.job
    return {
        **settings.extra_labels,
        MANAGED_BY_LABEL: MANAGED_BY,
        GROUP_LABEL: label_value(job.group),
        USER_LABEL: label_value(job.user),
        JOB_ID_LABEL: label_value(job.id),
    }


def resources(instance_type: InstanceType) -> dict[str, dict[str, str]]:
    amounts = {
        "cpu": cpu_quantity(instance_type.cpu),
        "memory": memory_quantity(instance_type.memory),
    }
    if instance_type.gpu:
        amounts["nvidia.com/gpu"] = str(instance_type.gpu)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def job_manifest(spec: JobSpec, settings: ManifestSettings) -> dict[str, Any]:
    """The ``batch/v1`` Job that runs ``spec``: one pod, never restarted, never retried.

    Raises ValueError for a catalog entry that cannot run on Kubernetes (the backend's
    ``validate`` reports it before the job is accepted).
    """
    job = spec.job
    instance_type = spec.instance_type
    image = container_image(spec.image, instance_type.gpu)
    if not image:
        raise ValueError(f"Image {spec.image.name!r} has no container_image for Kubernetes")
    name = job_name(job.id, job.name, settings.name_prefix)
    labels = labels_for(spec, settings)
    annotations = {
        NAME_ANNOTATION: job.name,
        USER_ANNOTATION: job.user,
        GROUP_ANNOTATION: job.group,
    }
    env = {
        **settings.extra_env,
        **spec.env,
        "HOME": HOME,
        "JOB_GROUP_DIR": f"{PROJECT_ROOT}/{job.group}",
        "JOB_DATASETS_DIR": DATASETS_ROOT,
    }
    if spec.files:
        # run_notebook.py writes a failing cell's error there: the termination message.
        env["TERMINATION_MESSAGE_PATH"] = TERMINATION_LOG
    mounts: list[dict[str, Any]] = [
        {"name": "home", "mountPath": HOME},
        {"name": "shm", "mountPath": "/dev/shm"},
        {"name": "project", "mountPath": f"{PROJECT_ROOT}/{job.group}"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "home", "emptyDir": {}},
        {
            "name": "shm",
            "emptyDir": {"medium": "Memory", "sizeLimit": memory_quantity(instance_type.memory)},
        },
        {
            "name": "project",
            "persistentVolumeClaim": {
                "claimName": group_pvc_name(settings.group_pvc_template, job.group)
            },
        },
    ]
    if settings.artifacts_pvc:
        volumes.append(
            {"name": "artifacts", "persistentVolumeClaim": {"claimName": settings.artifacts_pvc}}
        )
        mounts.append({"name": "artifacts", "mountPath": f"{HOME}/artifacts", "subPath": job.id})
    for index, dataset in enumerate(spec.datasets):
        volume = f"dataset-{index}"
        volumes.append(dataset_volume(dataset, volume))
        mounts.append(
            {"name": volume, "mountPath": f"{DATASETS_ROOT}/{dataset.name}", "readOnly": True}
        )
    if spec.files:
        keys = file_keys(list(spec.files))
        volumes.append(
            {
                "name": FILES_VOLUME,
                "configMap": {
                    "name": files_config_map_name(name),
                    "items": [{"key": keys[file], "path": file} for file in sorted(keys)],
                },
            }
        )
        mounts.append({"name": FILES_VOLUME, "mountPath": FILES_DIR, "readOnly": True})
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["bash", "-lc", setup_script(job.group, spec.datasets) + job.command],
        "workingDir": HOME,
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "resources": resources(instance_type),
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod_security: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": settings.run_as_uid,
        "runAsGroup": settings.run_as_gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if settings.fs_gid is not None:
        pod_security["fsGroup"] = settings.fs_gid
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # On the pod, the deadline counts from when a node took the pod: time waiting in
        # the cluster's queue is not run time (as on the local backend).
        "activeDeadlineSeconds": job.max_runtime_seconds,
        "terminationGracePeriodSeconds": settings.grace_seconds,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security,
        "containers": [container],
        "volumes": volumes,
    }
    if settings.service_account:
        pod_spec["serviceAccountName"] = settings.service_account
    if spec.image.pull_secret:
        pod_spec["imagePullSecrets"] = [{"name": spec.image.pull_secret}]
    if instance_type.node_selector:
        pod_spec["nodeSelector"] = dict(instance_type.node_selector)
    if instance_type.tolerations:
        pod_spec["tolerations"] = [toleration(entry) for entry in instance_type.tolerations]
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": dict(labels), "annotations": dict(annotations)},
            "spec": pod_spec,
        },
    }
    if settings.ttl_seconds_after_finished is not None:
        job_spec["ttlSecondsAfterFinished"] = settings.ttl_seconds_after_finished
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": job_spec,
    }
