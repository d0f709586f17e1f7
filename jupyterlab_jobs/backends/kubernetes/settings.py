"""KubernetesBackend's options, ``c.KubernetesBackend.*``.

A base class of the backend (as ``owners.OwnerAccounts`` is of LocalBackend): traitlets
looks a trait up under every configurable class name in the MRO, so each option is set
on ``c.KubernetesBackend`` as before, and validated when set.
"""

from __future__ import annotations

import re
from typing import Any

from traitlets import Bool, Dict, Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from . import manifests


class KubernetesSettings(LoggingConfigurable):
    """The cluster, timing and pod options of the Kubernetes backend."""

    namespace = Unicode(
        help="Namespace the jobs run in. Defaults to the server's own namespace in a "
        "cluster, else the kubeconfig context's namespace, else 'default'.",
    ).tag(config=True)

    config_source = Enum(
        ["auto", "in-cluster", "kubeconfig"],
        default_value="auto",
        help="How to reach the API server: 'in-cluster' (the pod's service account), "
        "'kubeconfig' (see `kubeconfig` and `kube_context`), or 'auto': in-cluster when "
        "KUBERNETES_SERVICE_HOST is set, else kubeconfig.",
    ).tag(config=True)

    kubeconfig = Unicode(
        "",
        help="Path of the kubeconfig file. Empty: $KUBECONFIG, else ~/.kube/config.",
    ).tag(config=True)

    kube_context = Unicode(
        "", help="The kubeconfig context to use. Empty: the file's current context."
    ).tag(config=True)

    request_timeout_seconds = Float(
        30.0,
        min=0.1,
        help="Timeout of one API request (connect and read). Watches and log streams use "
        "it to connect, then wait longer for data.",
    ).tag(config=True)

    watch_timeout_seconds = Int(
        300,
        min=1,
        help="The API server ends each watch after this long; it is then resumed from "
        "the last resourceVersion seen (no full list).",
    ).tag(config=True)

    max_backoff_seconds = Float(
        30.0,
        min=0.01,
        help="After API errors, watches and log streams retry with exponential backoff "
        "up to this many seconds between tries (they never give up).",
    ).tag(config=True)

    preparing_timeout_seconds = Float(
        600.0,
        min=1,
        help="A job whose pod was scheduled but has not started running after this long "
        "(image pull, volume mount, container creation stuck) is Failed with the reason. "
        "Time waiting for a node (Pending) is not counted: the cluster's queue may be long.",
    ).tag(config=True)

    start_grace_seconds = Float(
        60.0,
        min=0,
        help="A job claimed or created this recently whose Job is not (yet) in the watched "
        "cache is waited for; after that, it is Failed as vanished.",
    ).tag(config=True)

    log_drain_timeout_seconds = Float(
        30.0,
        min=0,
        help="When a job ends, its outcome waits at most this long for the log copy to "
        "reach the end of the pod's log.",
    ).tag(config=True)

    log_read_timeout_seconds = Float(
        120.0,
        min=1,
        help="A log stream that delivered nothing for this long is reopened (a silent job "
        "costs one request per period; a dead connection is noticed).",
    ).tag(config=True)

    service_account = Unicode(
        "",
        help="Service account of the jobs' pods. Empty: the namespace's default. The "
        "token is not mounted either way (automountServiceAccountToken: false).",
    ).tag(config=True)

    run_as_uid = Int(1000, min=1, help="User id the job's container runs as (never root).").tag(
        config=True
    )

    run_as_gid = Int(100, min=0, help="Primary group id of the job's container.").tag(config=True)

    fs_gid = Int(
        100,
        allow_none=True,
        help="fsGroup of the pod: volumes are made writable for this group. None: unset.",
    ).tag(config=True)

    group_pvc_template = Unicode(
        "project-{group}",
        help="Name of each group's PersistentVolumeClaim, mounted at /project/<group> and "
        "linked as ~/<group>; {group} is the group name made a DNS label.",
    ).tag(config=True)

    artifacts_pvc = Unicode(
        "",
        help="PersistentVolumeClaim that keeps the jobs' artifacts: mounted at "
        "$HOME/artifacts of each job's pod with subPath <job id>. The server must see the "
        "same volume at artifacts_root. Empty: artifacts are not kept.",
    ).tag(config=True)

    artifacts_root = Unicode(
        "",
        help="Where this server sees the volume of artifacts_pvc: a job's artifacts are in "
        "<artifacts_root>/<job id>, removed with its logs.",
    ).tag(config=True)

    usage_interval_seconds = Float(
        15.0,
        min=0.1,
        help="Seconds between two readings of the jobs' pods' CPU and memory from the "
        "metrics API (metrics.k8s.io), when the cluster has it (metrics-server).",
    ).tag(config=True)

    image_pull_policy = Enum(
        ["Always", "IfNotPresent", "Never"],
        default_value="IfNotPresent",
        help="imagePullPolicy of the job's container.",
    ).tag(config=True)

    name_prefix = Unicode(
        "job",
        help="First part of each Job's name: <prefix>-<job name as a DNS label>-<job id>.",
    ).tag(config=True)

    grace_seconds = Int(
        30,
        min=0,
        help="terminationGracePeriodSeconds: after SIGTERM (cancel, deadline) the job has "
        "this long to exit before it is killed.",
    ).tag(config=True)

    job_ttl_seconds = Int(
        None,
        allow_none=True,
        min=0,
        help="ttlSecondsAfterFinished of each Job (the cluster deletes it and its pod this "
        "long after it ended). None: the app's log_retention_seconds, so `kubectl logs` "
        "works as long as the copy kept by jupyterlab-jobs.",
    ).tag(config=True)

    extra_labels = Dict(
        value_trait=Unicode(),
        help="Labels added to every Job and pod (for cost reports, network policies).",
    ).tag(config=True)

    extra_env = Dict(
        value_trait=Unicode(), help="Environment variables added to every job's container."
    ).tag(config=True)

    watch_events = Bool(
        True,
        help="Also watch the namespace's Warning events, to show why a job waits or is "
        "stuck (quota exceeded, volume mount failed). Needs list/watch on events.",
    ).tag(config=True)

    connection_pool_size = Int(
        32,
        min=4,
        help="HTTP connections kept to the API server (three watches plus one log stream "
        "per running job).",
    ).tag(config=True)

    @validate("group_pvc_template")
    def _check_pvc_template(self, proposal: Any) -> str:
        template = str(proposal["value"])
        try:
            name = manifests.group_pvc_name(template, "group")
        except (KeyError, IndexError, ValueError) as error:
            raise TraitError(f"group_pvc_template {template!r}: only {{group}} is known") from error
        if len(name) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
            raise TraitError(f"group_pvc_template {template!r} does not make a valid name")
        return template
