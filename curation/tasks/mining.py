"""Celery tasks for git mining."""
