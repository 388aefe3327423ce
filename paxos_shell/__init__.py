"""paxos_shell: drive single-decree Paxos by hand, and a durable acceptor to drive."""

__version__ = "0.2.0"
