"""Deployment examples: HAProxy in front of ckg serve replicas (see deploy/README.md and docs/SCALING.md)."""
