"""Run a notebook with papermill inside a job: ``python run_notebook.py IN OUT PARAMS``.

Copied into the job's home (``.job/``) and run by the job's own Python, so it imports
only papermill and its dependencies, never jupyterlab_jobs. Parameters come from a JSON
file and papermill injects them as data after the notebook's ``parameters`` cell: no code
is concatenated. A failing cell's error is written to ``$TERMINATION_MESSAGE_PATH`` so the
job's message names it.

Fast start, each part measured (benchmarks/README.md, "Notebook jobs"):
- the kernel is launched first, so that it boots in its own process while this one
  imports papermill (nbclient is then handed the started kernel);
- two of jsonschema's optional format checkers are kept out: ``rfc3987_syntax`` (IRI)
  builds a grammar at import (about 0.8 s of CPU), ``isoduration`` (duration) imports
  ``arrow`` (30 ms); nbformat's schemas use neither format, and no cell code runs in
  this process;
- the client's readiness handshake does not end with jupyter_client's 0.2 s wait for
  silence on IOPub: nbclient ignores messages that answer other requests anyway;
- the kernel's exit after the (graceful, as nbclient does it) shutdown request is polled
  every 10 ms rather than every 100 ms.
"""

from __future__ import annotations

import json
import os
import sys
import time
from queue import Empty
from typing import Any

STARTED = time.monotonic()

from jupyter_client.asynchronous.client import AsyncKernelClient  # noqa: E402  (after STARTED)
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from jupyter_core.utils import run_sync  # noqa: E402

# Optional imports of jsonschema's format checker that the run does not need.
SKIPPED_IMPORTS = ("rfc3987_syntax", "isoduration")
# nbclient's own default: no IPython history database in the job's home.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


class PromptClient(AsyncKernelClient):
    """A kernel client that is ready as soon as the kernel answers on shell and IOPub."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # IOPub connected too (a subscriber misses what comes before)?
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


class StartedKernel(AsyncKernelManager):
    """The manager of the kernel started before papermill is imported.

    nbclient closes the clients it makes only for kernels it started itself, so this one
    remembers them for ``stop``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(client_factory=PromptClient, **kwargs)
        self.clients: list[AsyncKernelClient] = []

    def client(self, **kwargs: Any) -> AsyncKernelClient:  # type: ignore[override]  # as the base
        made = super().client(**kwargs)
        self.clients.append(made)
        return made

    async def _async_finish_shutdown(
        self, waittime: float | None = None, pollinterval: float = 0.01, restart: bool = False
    ) -> None:
        await super()._async_finish_shutdown(waittime, pollinterval, restart)

    def stop(self) -> None:
        """Shut the kernel down gracefully (its atexit handlers run), as nbclient does."""
        try:
            if run_sync(self.is_alive)():
                run_sync(self.shutdown_kernel)(now=False)
        finally:
            run_sync(self.cleanup_resources)()
            for client in self.clients:
                client.stop_channels()


def main(source: str, output: str, parameters_file: str) -> int:
    for name in SKIPPED_IMPORTS:  # as if not installed: jsonschema skips those checkers
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    print(f"Executing {os.path.basename(source)} -> {output}", flush=True)
    kernel = None
    try:
        with open(source, encoding="utf-8") as handle:
            kernel_name = _kernel_name(json.load(handle))
        kernel = StartedKernel(kernel_name=kernel_name)
        run_sync(kernel.start_kernel)(extra_arguments=KERNEL_ARGUMENTS)
        launched = time.monotonic()
        import logging

        import papermill

        imported = time.monotonic()
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
        with open(parameters_file, encoding="utf-8") as handle:
            parameters = json.load(handle)
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        try:
            papermill.execute_notebook(
                source,
                output,
                parameters=parameters,
                kernel_name=kernel_name,
                log_output=True,
                progress_bar=False,
                km=kernel,
            )
        except papermill.PapermillExecutionError as error:
            return fail(f"Cell {error.exec_count} raised {error.ename}: {error.evalue}")
    except Exception as error:  # kernel missing, bad notebook: say which, in words
        return fail(f"The notebook could not run: {type(error).__name__}: {error}")
    finally:
        if kernel is not None:
            kernel.stop()
    print(
        f"Saved the executed notebook to {output} (kernel launched after "
        f"{launched - STARTED:.2f} s, papermill imported after {imported - STARTED:.2f} s, "
        f"done after {time.monotonic() - STARTED:.2f} s)",
        flush=True,
    )
    return 0


def _kernel_name(notebook: Any) -> str:
    """The notebook's kernel, as papermill picks it (``metadata.kernelspec.name``)."""
    try:
        name = notebook["metadata"]["kernelspec"]["name"]
    except (KeyError, TypeError):
        name = None
    if not isinstance(name, str) or not name:
        raise ValueError("the notebook names no kernel (metadata.kernelspec.name)")
    return name


def fail(message: str) -> int:
    report(message)
    print(message, file=sys.stderr, flush=True)
    return 1


def report(message: str) -> None:
    path = os.environ.get("TERMINATION_MESSAGE_PATH")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(message[:1000])


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
