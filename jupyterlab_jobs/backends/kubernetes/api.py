"""The connection to the API server and the few requests the backend makes itself.

``ClusterClient`` builds the client on first use (in-cluster or from a kubeconfig, per
the settings) and resolves the namespace with it. Requests go with a timeout and
``_preload_content=False``: the JSON is read as it came, not into the client's models.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes import config as _config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from . import manifests
from .settings import KubernetesSettings

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
# The config loaders are untyped; the typed API classes are used through Any below, as
# raw responses (``_preload_content=False``) do not match their declared return types.
config: Any = _config
# The jobs' objects: their Jobs, pods and pod metrics are listed with it.
MANAGED_SELECTOR = f"{manifests.MANAGED_BY_LABEL}={manifests.MANAGED_BY}"


def api_message(error: ApiException) -> str:
    """The API server's own words for a refused request."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        message = json.loads(error.body or "{}").get("message")
        if message:
            return str(message)
    return f"{error.status} {error.reason}"


def json_body(response: Any) -> Any:
    """The decoded body of a raw (``_preload_content=False``) response; its connection
    goes back to the pool either way."""
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


class ClusterClient(KubernetesSettings):
    """The API client, the namespace and the backend's own requests (Jobs, ConfigMaps,
    pod metrics); the watches and log streams use ``batch`` and ``core`` directly."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client_lock = threading.Lock()
        self._api_client: client.ApiClient | None = None
        self._apis: dict[type[Any], Any] = {}  # BatchV1Api, CoreV1Api, ...
        self._resolved_namespace = ""

    def api_client(self) -> client.ApiClient:
        with self._client_lock:
            if self._api_client is None:
                self._api_client = self._make_client()
            return self._api_client

    def _make_client(self) -> client.ApiClient:
        configuration = client.Configuration()
        source = self.config_source
        if source == "auto":
            source = "in-cluster" if os.environ.get("KUBERNETES_SERVICE_HOST") else "kubeconfig"
        namespace = self.namespace
        if source == "in-cluster":
            config.load_incluster_config(client_configuration=configuration)
            if not namespace and IN_CLUSTER_NAMESPACE.exists():
                namespace = IN_CLUSTER_NAMESPACE.read_text(encoding="utf-8").strip()
        else:
            path = self.kubeconfig or None
            context = self.kube_context or None
            config.load_kube_config(
                config_file=path,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
            if not namespace:
                with contextlib.suppress(Exception):
                    contexts, active = config.list_kube_config_contexts(config_file=path)
                    chosen = next((c for c in contexts if c["name"] == context), active)
                    namespace = chosen.get("context", {}).get("namespace", "")
        configuration.connection_pool_maxsize = self.connection_pool_size
        self._resolved_namespace = namespace or "default"
        return client.ApiClient(configuration)

    def close_client(self) -> None:
        """Close the connections; the next request makes a new client."""
        with self._client_lock:
            if self._api_client is not None:
                closing: Any = self._api_client  # close() is untyped
                closing.close()
                self._api_client = None

    @property
    def ns(self) -> str:
        self.api_client()
        return self._resolved_namespace

    def _api(self, api_class: type[Any]) -> Any:
        """The ``api_class`` object of the current client (made once: the first costs
        about a second)."""
        api_client = self.api_client()
        with self._client_lock:
            api = self._apis.get(api_class)
            if api is None or api.api_client is not api_client:
                api = self._apis[api_class] = api_class(api_client)
            return api

    @property
    def batch(self) -> Any:
        return self._api(client.BatchV1Api)

    @property
    def core(self) -> Any:
        return self._api(client.CoreV1Api)

    # -- requests ------------------------------------------------------------------------
    def _request(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """The raw (undecoded) response of ``method(*args)``, with the request timeout."""
        return method(
            *args,
            _request_timeout=self.request_timeout_seconds,
            _preload_content=False,
            **kwargs,
        )

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = json_body(
            self._request(self.batch.create_namespaced_job, self.ns, body)
        )
        return created

    def read_job(self, name: str) -> dict[str, Any] | None:
        """The Job ``name`` as stored, or None if it cannot be read."""
        try:
            response = self._request(self.batch.read_namespaced_job, name, self.ns)
        except (ApiException, HTTPError):
            return None
        job: dict[str, Any] = json_body(response)
        return job

    def delete_job(self, name: str, propagation: str) -> None:
        """Delete a Job and its pods; one already gone is success."""
        try:
            self._request(
                self.batch.delete_namespaced_job, name, self.ns, propagation_policy=propagation
            ).release_conn()
        except ApiException as error:
            if error.status != 404:
                raise

    def create_config_map(self, body: dict[str, Any]) -> None:
        self._request(self.core.create_namespaced_config_map, self.ns, body).release_conn()

    def list_pod_metrics(self) -> Any:
        """The metrics API's PodMetrics of the jobs' pods (404 without metrics-server)."""
        return self._api(client.CustomObjectsApi).list_namespaced_custom_object(
            "metrics.k8s.io",
            "v1beta1",
            self.ns,
            "pods",
            label_selector=MANAGED_SELECTOR,
            _request_timeout=self.request_timeout_seconds,
        )
