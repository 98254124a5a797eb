"""Standalone LoRA trainer: `python -m training.trainer --spec spec.json`.

This package never imports Django: it runs inside training containers and child
processes, and reports on stdout in the JSON-lines protocol (see docs/training-trainer.md).
"""
