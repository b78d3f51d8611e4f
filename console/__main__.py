"""`python -m console` is the `crisis-console` command."""

import sys

from console.cli import main

if __name__ == "__main__":
    sys.exit(main())
