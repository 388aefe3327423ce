"""The shell's side of the wire: rounds of concurrent requests to acceptors, over requests.

Never judges Paxos (core/ and knowledge/ do) and never shows a URL's secret.
"""
