"""The Kubernetes backend: each job runs as a ``batch/v1`` Job in one namespace.

Needs the ``kubernetes`` extra (``pip install "jupyterlab-jobs[kubernetes]"``). Select it
with ``c.JobsApp.backend_class = "jupyterlab_jobs.backends.kubernetes.KubernetesBackend"``.
"""

from .backend import KubernetesBackend

__all__ = ["KubernetesBackend"]
