"""Celery tasks for dataset builds."""
