"""The auditor: drives one acceptor through a battery of rules and proves every failure.

paxos-audit and the shell's `audit` command share it; see README "For acceptor authors".
"""
