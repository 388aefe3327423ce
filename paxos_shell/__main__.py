"""`python -m paxos_shell` runs the shell."""

import sys

from paxos_shell.cli import main

sys.exit(main())
