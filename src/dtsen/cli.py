"""The one `dtsen` command line. Every operation is a Django management command behind it."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    execute_from_command_line(["dtsen", *args])


if __name__ == "__main__":
    main()
