"""The JupyterHub service mode: one trusted jobs service for every user of a hub.

``python -m jupyterlab_jobs.hub`` (or ``jupyter jobs-service``) runs the same REST API as
the server extension, owning the store, the backend and the catalog; who calls it, and
in which groups, comes from the hub for every request.
"""
