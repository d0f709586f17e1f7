"""Run a notebook with papermill inside a job: ``python run_notebook.py IN OUT PARAMS``.

Copied into the job's home (``.job/``) and run by the job's own Python, so it imports
only papermill and its dependencies, never jupyterlab_jobs. Parameters come from a JSON
file and papermill injects them as data after the notebook's ``parameters`` cell: no code
is concatenated. A failing cell's error is written to ``$TERMINATION_MESSAGE_PATH`` so the
job's message names it.

Fast start (measured, see benchmarks/README.md): the kernel is started first, so that it
boots in its own process while this one imports papermill; and jsonschema's optional IRI
format checker (``rfc3987_syntax``, which builds a grammar at import, about 0.8 s) is kept
out, since nbformat's schemas use no IRI format and no cell code runs in this process.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

# nbclient's own default: no IPython history database in the job's home.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


def main(source: str, output: str, parameters_file: str) -> int:
    begin = time.monotonic()
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # as if absent
    print(f"Executing {os.path.basename(source)} -> {output}", flush=True)
    kernel = None
    try:
        with open(source, encoding="utf-8") as handle:
            kernel_name = _kernel_name(json.load(handle))
        kernel = start_kernel(kernel_name)
        kernel_started = time.monotonic()
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
            stop_kernel(kernel)
    print(
        f"Saved the executed notebook to {output} (kernel launched after "
        f"{kernel_started - begin:.2f} s, papermill imported after {imported - begin:.2f} s, "
        f"done after {time.monotonic() - begin:.2f} s)",
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


def start_kernel(kernel_name: str) -> Any:
    """Launch the kernel process (it boots while the caller goes on) and return its manager,
    for papermill to pass to nbclient, which then only connects to it."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    class StartedKernel(AsyncKernelManager):
        """Remembers the clients nbclient makes: it closes them only for kernels it
        started itself, so ``stop_kernel`` does."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.clients: list[Any] = []

        def client(self, **kwargs: Any) -> Any:
            made = super().client(**kwargs)
            self.clients.append(made)
            return made

    manager = StartedKernel(kernel_name=kernel_name)
    run_sync(manager.start_kernel)(extra_arguments=KERNEL_ARGUMENTS)
    return manager


def stop_kernel(manager: Any) -> None:
    """Shut the kernel down as nbclient does for a kernel it started itself (gracefully)."""
    from jupyter_core.utils import run_sync

    try:
        if run_sync(manager.is_alive)():
            run_sync(manager.shutdown_kernel)(now=False)
    finally:
        run_sync(manager.cleanup_resources)()
        for client in manager.clients:
            client.stop_channels()


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
