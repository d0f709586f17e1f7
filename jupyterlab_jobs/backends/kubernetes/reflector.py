"""A reflector: one long-lived list+watch of one kind in one namespace, cached in memory.

Like kubespawner's ``reflector.py``: readers never call the API, they read the cache.
Unlike it, a dropped or timed-out watch resumes from the last resourceVersion seen
(no full list), and only a 410 Gone (that version was compacted away) lists again.
Errors back off exponentially; the watch never gives up while the backend runs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes.client.exceptions import ApiException

from .api import json_body

Obj = dict[str, Any]
GONE = 410


def iter_lines(response: Any) -> Iterator[bytes]:
    """Complete lines of a chunked response; a line cut off by a dropped stream is not."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        yield from lines


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


class Reflector:
    """Keeps ``objects`` equal to the API's objects of one kind matching the selectors.

    ``on_change(obj)`` is called from the reflector's thread for every object that was
    added, modified or deleted (also those a re-list found changed). ``index`` maps an
    object to the key ``by_key`` finds it under (for us: the jupyterlab-jobs job id).
    """

    def __init__(
        self,
        *,
        kind: str,
        list_method: Callable[..., Any],
        namespace: str,
        label_selector: str = "",
        field_selector: str = "",
        index: Callable[[Obj], str | None],
        on_change: Callable[[Obj], None],
        request_timeout: float = 30.0,
        watch_timeout_seconds: int = 60,
        initial_backoff: float = 0.1,
        max_backoff: float = 30.0,
        page_size: int = 500,
        log: logging.Logger | None = None,
    ) -> None:
        self.kind = kind
        self.list_method = list_method
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.index = index
        self.on_change = on_change
        self.request_timeout = request_timeout
        self.watch_timeout_seconds = watch_timeout_seconds
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.page_size = page_size
        self.log = log or logging.getLogger(__name__)
        self.loaded = threading.Event()
        self.resource_version: str | None = None
        self.lists = 0
        self.watches = 0
        self.last_error = ""
        self._objects: dict[str, Obj] = {}
        self._keys: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._response: Any = None
        self._thread: threading.Thread | None = None

    # -- reading the cache (any thread) --------------------------------------------------
    def by_key(self, key: str) -> list[Obj]:
        with self._lock:
            return [self._objects[name] for name in self._keys.get(key, ())]

    def get(self, name: str) -> Obj | None:
        with self._lock:
            return self._objects.get(name)

    # -- life ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"the {self.kind} reflector is already running")
        self._thread = threading.Thread(
            target=self._run, name=f"jobs-reflector-{self.kind}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; an open watch is cut so it ends now, not at its timeout."""
        self._stopping.set()
        response = self._response
        if response is not None:
            try:
                response.shutdown()
            except Exception:  # already closed: nothing to cut
                self.log.debug("%s watch already closed", self.kind)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        delay = self.initial_backoff
        self.log.info(
            "Watching %s in namespace %s (%s)", self.kind, self.namespace, self.label_selector
        )
        while not self._stopping.is_set():
            try:
                if self.resource_version is None:
                    self._list()
                self._watch()
                delay = self.initial_backoff
                continue
            except ApiException as error:
                if error.status == GONE and not self._stopping.is_set():
                    self.log.info(
                        "%s: resourceVersion %s is too old; listing again",
                        self.kind,
                        self.resource_version,
                    )
                    self.resource_version = None
                    continue
                self.last_error = f"{error.status} {error.reason}"
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
            if self._stopping.is_set():
                break
            self.log.warning(
                "Watching %s failed (%s); retrying in %.1fs", self.kind, self.last_error, delay
            )
            self._stopping.wait(delay)
            delay = min(delay * 2, self.max_backoff)
        self.log.info("Stopped watching %s", self.kind)

    def _selectors(self) -> dict[str, Any]:
        selectors: dict[str, Any] = {}
        if self.label_selector:
            selectors["label_selector"] = self.label_selector
        if self.field_selector:
            selectors["field_selector"] = self.field_selector
        return selectors

    def _list(self) -> None:
        """Replace the cache with a full list; report what changed meanwhile."""
        items: list[Obj] = []
        token: str | None = None
        while True:
            extra = {"_continue": token} if token else {}
            response = self.list_method(
                self.namespace,
                limit=self.page_size,
                _request_timeout=self.request_timeout,
                _preload_content=False,
                **self._selectors(),
                **extra,
            )
            page = json_body(response)
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                break
        self.lists += 1
        fresh = {_name(item): item for item in items}
        with self._lock:
            old = self._objects
            self._objects = fresh
            self._keys = {}
            for name, obj in fresh.items():
                self._add_key(name, obj)
        self.resource_version = str(metadata.get("resourceVersion") or "") or None
        self.loaded.set()
        for name, obj in fresh.items():
            if old.get(name) != obj:
                self._notify(obj)
        for name, obj in old.items():
            if name not in fresh:
                self._notify(obj)

    def _watch(self) -> None:
        """Apply watch events until the server ends the watch; raise when it breaks."""
        response = self.list_method(
            self.namespace,
            watch=True,
            resource_version=self.resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=self.watch_timeout_seconds,
            _request_timeout=(self.request_timeout, self.watch_timeout_seconds + 30),
            _preload_content=False,
            **self._selectors(),
        )
        self._response = response
        self.watches += 1
        try:
            if self._stopping.is_set():
                return
            for line in iter_lines(response):
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise ApiException(
                        status=int(obj.get("code") or 500),
                        reason=f"{obj.get('reason')}: {obj.get('message')}",
                    )
                version = obj.get("metadata", {}).get("resourceVersion")
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self._apply(kind, obj)
                if version:
                    self.resource_version = str(version)
                if self._stopping.is_set():
                    return
        finally:
            self._response = None
            response.release_conn()

    def _add_key(self, name: str, obj: Obj) -> None:
        key = self.index(obj)
        if key:
            self._keys.setdefault(key, set()).add(name)

    def _apply(self, kind: str, obj: Obj) -> None:
        name = _name(obj)
        with self._lock:
            previous = self._objects.pop(name, None)
            if previous is not None:
                key = self.index(previous)
                if key:
                    self._keys.get(key, set()).discard(name)
            if kind != "DELETED":
                self._objects[name] = obj
                self._add_key(name, obj)
        self._notify(obj)

    def _notify(self, obj: Obj) -> None:
        try:
            self.on_change(obj)
        except Exception:
            self.log.exception("%s reflector: change callback failed", self.kind)
