"""Run a notebook with papermill inside a job: ``python run_notebook.py IN OUT PARAMS``.

Copied into the job's home (``.job/``) and run by the job's own Python, so it imports
only papermill, never jupyterlab_jobs. Parameters come from a JSON file and papermill
injects them as data after the notebook's ``parameters`` cell: no code is concatenated.
A failing cell's error is written to ``$TERMINATION_MESSAGE_PATH`` so the job's message
names it.
"""

from __future__ import annotations

import json
import logging
import os
import sys


def main(source: str, output: str, parameters_file: str) -> int:
    import papermill

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with open(parameters_file, encoding="utf-8") as handle:
        parameters = json.load(handle)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    print(f"Executing {os.path.basename(source)} -> {output}", flush=True)
    try:
        papermill.execute_notebook(
            source, output, parameters=parameters, log_output=True, progress_bar=False
        )
    except papermill.PapermillExecutionError as error:
        message = f"Cell {error.exec_count} raised {error.ename}: {error.evalue}"
        report(message)
        print(message, file=sys.stderr, flush=True)
        return 1
    except Exception as error:  # kernel missing, bad notebook: say which, in words
        message = f"The notebook could not run: {type(error).__name__}: {error}"
        report(message)
        print(message, file=sys.stderr, flush=True)
        return 1
    print(f"Saved the executed notebook to {output}", flush=True)
    return 0


def report(message: str) -> None:
    path = os.environ.get("TERMINATION_MESSAGE_PATH")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(message[:1000])


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
