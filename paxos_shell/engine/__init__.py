"""The proposer at work: the session's memory, the prepare/accept/propose steps, the duel.

Runs rounds through net/ and hands every reply to the knowledge model; prints nothing (the
shell renders its results).
"""
