"""The live view: a picture of the pool in a browser, for a class to watch while the teacher types.

model.py makes a JSON-able snapshot of the session (cards, the verdict from
verdict_of, explanation, lesson step); svg.py draws the sequence diagram (the
page's and `trace --svg`'s); live.py is the shell listener that publishes a
snapshot after every command to the server, which runs in a process of its own
(process.py starts it, __main__.py is its entry, server.py serves what
routes.py allows: GET of the page, its assets and the event stream). Nothing
here is imported until `view`, `--view` or `trace --svg` is used, and
importing this package imports nothing.
"""
