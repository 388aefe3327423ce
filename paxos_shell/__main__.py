"""`python -m paxos_shell` runs the shell."""

import sys

from .cli import main

sys.exit(main())
