"""Deployment examples (HAProxy in front of replicas); see deploy/README.md and docs/SCALING.md."""
