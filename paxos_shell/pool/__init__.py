"""Pools of acceptors: the paxos-server port layout, and the local pool the shell starts and stops."""
