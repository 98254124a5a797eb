#!/usr/bin/env python
"""Academy's command-line entry point."""

import importlib
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")
    from academy_site.env import ConfigError

    try:
        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    except ConfigError as exc:
        # One clear line naming the variable, not a traceback from inside Django.
        sys.exit(f"academy: configuration error: {exc}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
