"""``python -m memex_audit``: the same as the ``memex-audit`` command."""

from memex_audit.cli import main

if __name__ == "__main__":
    main()
