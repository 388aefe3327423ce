"""The sans-IO core: the Paxos rules, the REST protocol, and the vocabulary every layer shares.

Pure functions and data only (no sockets, files, threads or clocks), like h11: the acceptor,
the proposer, the knowledge model, the auditor and the watch all decide with these rules.
"""
