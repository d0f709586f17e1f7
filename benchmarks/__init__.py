"""Benchmarks of jupyterlab-jobs against a real Jupyter server: run ``python -m benchmarks``."""
