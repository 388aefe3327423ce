"""A proposer the shell did not start, for the watch's end-to-end tests: a small program on `requests`.

Like the old course scripts it opens a new connection for every request
(`requests.post`), unless --keep-alive makes it keep one per acceptor
(`requests.Session`). It sends prepare N to the acceptors named, then accept N
to those that promised (or to --accept-to), with the value the Paxos rule
allows (the value of the highest accepted id among the promises, else its own),
unless --own-value makes it send its own value regardless. It prints one JSON
object: who promised, who accepted, the value sent, and the status of every
request, so a test can compare what the proposer saw with what the shell recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional

import requests

TIMEOUT = 5.0


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--urls", required=True, help="acceptor i's URL as the i-th of a comma-separated list")
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--value", required=True)
    p.add_argument("--to", default="", help="acceptor ids to prepare (default: all)")
    p.add_argument("--accept-to", default=None, help="acceptor ids to send accept to (default: those that promised)")
    p.add_argument("--name", default=None, help="sent as X-Paxos-Proposer")
    p.add_argument("--keep-alive", action="store_true")
    p.add_argument("--own-value", action="store_true", help="ignore the values the promises report")
    p.add_argument("--no-prepare", action="store_true")
    a = p.parse_args(argv)
    urls = {i + 1: u for i, u in enumerate(a.urls.split(","))}
    send = Sender(a.name, a.keep_alive)
    to = [int(x) for x in a.to.split(",") if x] or sorted(urls)
    promises: dict[int, dict] = {}
    if not a.no_prepare:
        for i in to:
            body = send(urls[i], "/api/paxos/prepare", {"id": a.id})
            if isinstance(body, dict) and body.get("ignored") is False:
                promises[i] = body
    reported = [(b["acceptedId"], b["acceptedValue"]) for b in promises.values() if "acceptedId" in b]
    value = max(reported)[1] if reported and not a.own_value else a.value
    accept_to = [int(x) for x in a.accept_to.split(",") if x] if a.accept_to is not None else sorted(promises)
    accepted = []
    for i in accept_to:
        body = send(urls[i], "/api/paxos/accept", {"id": a.id, "value": value})
        if isinstance(body, dict) and body.get("ignored") is False:
            accepted.append(i)
    print(json.dumps({"promised": sorted(promises), "accepted": accepted, "value": value,
                      "statuses": send.statuses}))
    return 0


class Sender:
    def __init__(self, name: Optional[str], keep_alive: bool) -> None:
        self.headers = {"X-Paxos-Proposer": name} if name is not None else {}
        self.session = requests.Session() if keep_alive else None
        self.statuses: list[Any] = []

    def __call__(self, base: str, path: str, params: dict) -> Any:
        post = self.session.post if self.session is not None else requests.post
        try:
            r = post(base + path, params=params, headers=self.headers, timeout=TIMEOUT)
        except requests.RequestException as e:
            self.statuses.append(type(e).__name__)
            return None
        self.statuses.append(r.status_code)
        try:
            return r.json()
        except ValueError:
            return None


if __name__ == "__main__":
    sys.exit(main())
