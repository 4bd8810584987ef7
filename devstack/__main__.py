"""python -m devstack (= make run): the whole stack on 127.0.0.1; see devstack/stack/runner.py."""

import sys

from devstack.stack.runner import main

if __name__ == "__main__":
    sys.exit(main())
