"""The ``memex-audit`` command line: thin commands over the library.

Each command module attaches its commands to the shared Typer ``app`` on import; the import
order is the order ``--help`` lists them in.
"""

# isort: skip_file

from __future__ import annotations

from memex_audit.cli import _info  # noqa: F401  (registers info, convert, formats, schema)
from memex_audit.cli import _aggregate  # noqa: F401  (registers aggregate, eval-aggregate)
from memex_audit.cli import _audit  # noqa: F401  (registers audit, eval-audit, show)
from memex_audit.cli import _check  # noqa: F401  (registers check)
from memex_audit.cli import _samples  # noqa: F401  (registers samples generate)
from memex_audit.cli import _app_cmd  # noqa: F401  (registers app)
from memex_audit.cli._app import app


def main() -> None:
    """Entry point of the ``memex-audit`` console script."""
    app()


__all__ = ["app", "main"]
