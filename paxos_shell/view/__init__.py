"""The live view: a picture of the pool in a browser, for a class to watch while the teacher types.

model.py makes a JSON-able snapshot of the session (cards, verdict, explanation,
lesson step); svg.py draws the sequence diagram (the page's and `trace --svg`'s);
server.py serves the page, its assets and an event stream, GET only; live.py
ties them to the shell as a listener. Nothing here is imported until `view`,
`--view` or `trace --svg` is used, and importing this package imports nothing.
"""
