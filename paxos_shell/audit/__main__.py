"""`python -m paxos_shell.audit`: the same program as `paxos-audit`."""

import sys

from paxos_shell.audit.cli import main

sys.exit(main())
