"""The knowledge model: what is known of each acceptor, and every Paxos judgement the shell prints.

Pure: it folds facts (replies, pool events) into knowledge and answers questions (chosen values,
possible futures, rule breaks, the outlook, the next sensible command) with reasons as data.
"""
