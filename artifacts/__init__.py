"""Artifacts shared between hosts: dataset snapshots, adapters, base models (see artifacts.store)."""
