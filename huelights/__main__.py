"""`python -m huelights`: the setup and check tool (huelights.cli)."""

from huelights.cli import main

raise SystemExit(main())
