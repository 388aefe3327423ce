"""The auditor: drives one acceptor through a battery of cases and says, rule by rule, whether it
obeys the paxos-server API and the Paxos acceptor rules of core/paxos.py, with the exchanges (requests,
replies and their times) that prove every failure; it judges only through core/paxos.py and
core/wire.py, never with a rule of its own.
"""
