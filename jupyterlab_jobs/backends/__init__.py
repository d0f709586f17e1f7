"""Backends run jobs: locally as processes, or on Kubernetes.

Kept import-free: the local supervisor is a file in this package and must start fast.
"""
