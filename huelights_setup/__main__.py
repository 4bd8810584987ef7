"""`python -m huelights_setup`: the setup and check tool (huelights_setup.cli)."""

from huelights_setup.cli import main

raise SystemExit(main())
