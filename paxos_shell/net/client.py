"""Concurrent rounds of requests to acceptors.

A round asks every named acceptor at once and lasts about as long as the
slowest one that answers, never more than the timeout: five dead acceptors
cost one timeout, not five. Ctrl-C returns the round at once, and requests
left in flight are cut short so their threads end now. Each acceptor has one
kept-alive connection (transport.Link, over requests), imported when the first
round runs so that the shell starts without requests. Where that connection
is open, the round's own thread writes every request and then reads each
reply that has arrived whole: a thread per request cost the shell about 40 %
more CPU a round on a small machine (docs/performance.md). This module
never judges Paxos (proposer.py and paxos.py do) and never shows a URL's
secret.
"""

from __future__ import annotations

import math
import select
import time
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence
from urllib.parse import quote

from paxos_shell.core import wire
from paxos_shell.core.text import visible
from paxos_shell.core.wire import NO_RESPONSE, Phase, Reply, Round
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.runtime import signals

if TYPE_CHECKING:
    from paxos_shell.net.transport import Answer, Link

__all__ = ["Client", "FaultsUnavailable"]

FAULT_KEYS = ("delay_ms", "drop_requests", "drop_replies")
"""What GET/POST /admin/faults of our acceptor answers, each an integer."""
GRACE = 0.05
"""Seconds a round waits past the timeout, so an answer sent at the timeout is still counted."""


@dataclass(frozen=True)
class _Ask:
    """One round's request, and when the round began: every reply's latency counts from there."""

    phase: Phase
    method: str
    route: str
    params: dict
    started: float
    at: float

    def reply(self, r: Reply) -> Reply:
        r.latency = time.perf_counter() - self.started
        r.params = dict(self.params)
        r.at = self.at
        return r


@dataclass
class _Gathered:
    """What a round has so far: replies read, requests this thread wrote and has not read, worker
    threads' futures, and every server a request was begun for."""

    replies: dict[int, Reply] = field(default_factory=dict)
    sent: dict[int, Link] = field(default_factory=dict)
    futures: dict[Future, int] = field(default_factory=dict)
    tried: set[int] = field(default_factory=set)


class FaultsUnavailable(ValueError):
    """The acceptor does not serve fault injection; one line for the user."""


def _warm() -> None:
    """Import requests (through transport) before a round's clock starts: it takes ~0.1 s once."""
    import_module(f"{__package__}.transport")


class Client:
    """Sends rounds to a pool given as {acceptor id: base URL}, one round at a time, from the
    shell's main thread (the thread Ctrl-C reaches)."""

    def __init__(self, urls: Mapping[int, str], timeout: float = 1.0, options: Optional[ClientOptions] = None) -> None:
        self.urls = dict(urls)
        self.timeout = timeout
        self.options = options or ClientOptions()
        self.options.check()
        self._links: dict[int, Link] = {}
        self.proposer: Optional[str] = None
        """The proposer sending the next rounds, named in each request (wire.PROPOSER_HEADER)."""
        self._executor: Optional[ThreadPoolExecutor] = None

    @property
    def insecure(self) -> bool:
        """Certificates are not verified: the shell says so wherever it shows the pool."""
        return self.options.insecure

    def _link(self, acceptor: int) -> Link:
        url = self.urls[acceptor]
        link = self._links.get(acceptor)
        if link is None or link.abandoned or link.url != url:
            if link is not None:
                link.abort()
            from paxos_shell.net.transport import Link

            link = self._links[acceptor] = Link(url, self.options)
        link.label(self.proposer)
        return link

    def forget(self, acceptor: int) -> None:
        """Drop a connection, e.g. after the acceptor behind it was restarted.

        A request still in flight on it (an interrupted or timed-out round) is cut
        short, so its worker thread ends now rather than at the socket timeout.
        """
        link = self._links.pop(acceptor, None)
        if link is not None:
            link.abort()

    def prepare(self, n: int, servers: Sequence[int]) -> Round:
        return self.round(Phase.PREPARE, servers, {"id": n})

    def accept(self, n: int, value: str, servers: Sequence[int]) -> Round:
        return self.round(Phase.ACCEPT, servers, {"id": n, "value": value})

    def state(self, servers: Sequence[int]) -> Round:
        return self.round(Phase.STATE, servers, {})

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            # Threads start as needed; enough for a round to every acceptor plus stragglers being cut.
            self._executor = ThreadPoolExecutor(max_workers=max(32, 2 * len(self.urls)), thread_name_prefix="round",
                                                initializer=signals.main_thread_only)
        return self._executor

    def round(self, phase: Phase, servers: Sequence[int], params: dict) -> Round:
        """Ask each server concurrently (once, however often it is named); Ctrl-C returns at
        once with what came.

        Where a connection is open, this thread writes the request, and reads each reply
        that is already whole as soon as it arrives; a reply still coming in, or one it
        cannot see into (TLS), is read by a worker thread, as are requests that need a
        connection opened or go through a proxy. What has not come by the deadline is cut.
        """
        method, path = wire.PHASES[phase]
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        route = path + (f"?{query}" if query else "")
        _warm()
        servers = list(dict.fromkeys(servers))
        rnd = Round(phase, dict(params))
        ask = _Ask(phase, method, route, params, time.perf_counter(), time.time())
        due = ask.started + self.timeout + GRACE
        got = _Gathered()
        try:
            self._send(ask, servers, got)
            self._receive_all(ask, got, due)
            # One wake-up for the rest of the round; a signal still interrupts the wait at once.
            wait(got.futures, timeout=due - time.perf_counter(), return_when=ALL_COMPLETED)
        except KeyboardInterrupt:
            rnd.interrupted = True
        except BaseException:
            self._settle(ask, servers, got, interrupted=True)
            raise
        self._settle(ask, servers, got, rnd.interrupted)
        rnd.replies = [got.replies[sid] for sid in servers]
        rnd.elapsed = time.perf_counter() - ask.started
        return rnd

    def _send(self, ask: _Ask, servers: Sequence[int], got: _Gathered) -> None:
        """Write each request out on this thread where a connection is open; the rest to worker threads."""
        for sid in servers:
            got.tried.add(sid)
            try:
                link = self._link(sid)
            except ValueError as e:  # a URL that cannot be asked: nothing was sent
                got.replies[sid] = ask.reply(Reply(sid, ask.phase, NO_RESPONSE, cause=visible(str(e)), reached=False))
                continue
            if link.send(ask.method, ask.route):
                got.sent[sid] = link
            else:
                got.futures[self._pool().submit(self._call, ask, sid, link)] = sid

    def _receive_all(self, ask: _Ask, got: _Gathered, due: float) -> None:
        """Read on this thread each reply to what it sent that is whole as it arrives; hand the
        others to worker threads. What is read or handed over leaves `got.sent`."""
        poller = select.poll()
        owner: dict[int, int] = {}
        for sid, link in list(got.sent.items()):
            if link.tls:  # nothing to see into before reading: a worker reads it
                got.futures[self._pool().submit(self._finish, ask, sid, got.sent.pop(sid), due)] = sid
                continue
            owner[link.fileno()] = sid
            poller.register(link.fileno(), select.POLLIN | select.POLLPRI)
        while got.sent:
            left = due - time.perf_counter()
            if left <= 0:
                return
            for fd, _ in poller.poll(math.ceil(left * 1000)):
                sid = owner[fd]
                link = got.sent.pop(sid)
                poller.unregister(fd)
                if link.reply_waiting():
                    got.replies[sid] = self._finish(ask, sid, link, due)
                else:  # it has begun to come and may trickle: never let it hold up the others
                    got.futures[self._pool().submit(self._finish, ask, sid, link, due)] = sid

    def _finish(self, ask: _Ask, sid: int, link: Link, due: float) -> Reply:
        """The reply to a request send() wrote, read within the round."""
        return _replied(ask, sid, lambda: link.receive(ask.route, due - time.perf_counter()))

    def _call(self, ask: _Ask, sid: int, link: Link) -> Reply:
        """On a worker thread: the whole request through requests' adapter, connecting if need be."""
        return _replied(ask, sid, lambda: link.call(ask.method, ask.route, self.timeout))

    def _settle(self, ask: _Ask, servers: Sequence[int], got: _Gathered, interrupted: bool) -> None:
        """A reply for every server: what came, else silence (timeout or interrupted), its link dropped."""
        for link in got.sent.values():
            link.drop()  # sent from this thread, its reply never read
        for fut, sid in got.futures.items():
            if fut.done() and not fut.cancelled():
                got.replies[sid] = fut.result()
            else:
                fut.cancel()  # not started yet: it never will be
        for sid in servers:
            if sid not in got.replies:
                cause = wire.INTERRUPTED if interrupted else wire.TIMEOUT
                # Not asked at all (Ctrl-C came first): it cannot have acted.
                got.replies[sid] = ask.reply(Reply(sid, ask.phase, NO_RESPONSE, cause=cause, reached=sid in got.tried))
                self.forget(sid)  # a request still in flight on it is cut short, its thread freed

    def admin_faults(self, acceptor: int, query: str) -> dict:
        """Set faults on one of our acceptors (POST /admin/faults) and return those in force.

        FaultsUnavailable if the acceptor does not serve fault injection,
        ValueError if it refused these faults, OSError if it did not answer.
        """
        answer = self._bounded(acceptor, "POST", f"{wire.ADMIN_FAULTS}?{query}", max(self.timeout, 1.0))
        body = None
        if answer.status in (200, 400) and not answer.cut_off:
            try:
                body = wire.read_json(answer.body)
            except ValueError:
                body = None
        if answer.status == 200 and isinstance(body, dict) and all(wire.is_int(body.get(k)) for k in FAULT_KEYS):
            return body
        if answer.status == 400 and isinstance(body, dict) and isinstance(body.get("message"), str):
            raise ValueError(f"refused these faults: {wire.foreign(body['message'])}")
        what = f"answered {answer.status}" if answer.status != 200 else "answered, but not with faults"
        raise FaultsUnavailable(f"does not offer fault injection ({visible(answer.path)} {what}): "
                                "it must be our paxos-acceptor started with --faults, asked from its own machine")

    def _bounded(self, acceptor: int, method: str, route: str, timeout: float) -> Answer:
        """One request outside a round, held to the same deadline; OSError if unanswered."""
        _warm()
        from paxos_shell.net.transport import Unanswered

        link = self._link(acceptor)
        fut = self._pool().submit(link.call, method, route, timeout)
        try:
            return fut.result(timeout=timeout + GRACE)
        except Unanswered as e:
            raise ConnectionError(e.cause) from None
        except FutureTimeout:
            self.forget(acceptor)
            raise ConnectionError(wire.TIMEOUT) from None
        except KeyboardInterrupt:
            self.forget(acceptor)
            raise

    def close(self) -> None:
        for sid in list(self._links):
            self.forget(sid)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _replied(ask: _Ask, sid: int, answer: Callable[[], Answer]) -> Reply:
    """What `answer()` brought back, as the round's reply from `sid`; silence if it raised Unanswered."""
    from paxos_shell.net.transport import Unanswered

    try:
        reply = _interpret(sid, ask.phase, answer())
    except Unanswered as e:
        reply = Reply(sid, ask.phase, NO_RESPONSE, cause=e.cause, reached=e.reached)
    return ask.reply(reply)


def _interpret(sid: int, phase: Phase, a: Answer) -> Reply:
    return wire.interpret(sid, phase, a.status, a.body, content_type=a.content_type, encoding=a.encoding,
                          location=a.location, cut_off=a.cut_off, path=a.path)
