"""Concurrent rounds of requests to acceptors.

A round asks every named acceptor at once: on a connection already open the
round's thread writes each request without waiting (transport.Link.write_ahead),
and the thread kept with that acceptor's connection (courier.py) reads the
reply, or sends the request itself when it needs a new connection. A round
lasts about as long as the slowest acceptor that answers, never more than the
timeout: five dead acceptors cost one timeout, not five. Ctrl-C returns the
round at once, and requests left in flight are cut short so their threads end
now. Those threads block the signals meant for the shell (runtime/signals), so
Ctrl-C always reaches the thread waiting for the round. Each acceptor has one
kept-alive connection (transport.Link, over requests), imported when the first
round runs so that the shell starts without requests. This module never judges
Paxos (engine/ and core/paxos.py do) and never shows a URL's secret.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence, cast
from urllib.parse import quote

from paxos_shell.core import wire
from paxos_shell.core.text import visible
from paxos_shell.core.wire import NO_RESPONSE, Phase, Reply, Round
from paxos_shell.net.clientopts import ClientOptions
from paxos_shell.net.courier import Courier, Job, Latch
from paxos_shell.runtime import signals

if TYPE_CHECKING:
    from paxos_shell.net.transport import Answer, Link

__all__ = ["Client", "FaultsUnavailable", "TransportBug"]

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
    """What a round has so far: each acceptor's reply (written once, by its courier or by the round
    giving up on it), and the job handed to each courier (recorded before it is handed over)."""

    replies: dict[int, Reply] = field(default_factory=dict)
    jobs: dict[Job, int] = field(default_factory=dict)


class FaultsUnavailable(ValueError):
    """The acceptor does not serve fault injection; one line for the user."""


class TransportBug(RuntimeError):
    """requests or urllib3 failed in a way they do not document (a library change, or a bug here):
    an internal error the shell reports and logs, never taken for an acceptor's silence."""


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
        self._couriers: dict[int, Courier] = {}
        """The thread kept with each link, stopped when the link is dropped."""
        self.proposer: Optional[str] = None
        """The proposer sending the next rounds, named in each request (wire.PROPOSER_HEADER)."""
        self._asking = _Gathered()
        """The round under way, or the last one (for in_flight)."""

    @property
    def insecure(self) -> bool:
        """Certificates are not verified: the shell says so wherever it shows the pool."""
        return self.options.insecure

    def _link(self, acceptor: int) -> Link:
        url = self.urls[acceptor]
        link = self._links.get(acceptor)
        if link is None or link.abandoned or link.url != url:
            if link is not None:
                self.forget(acceptor)
            from paxos_shell.net.transport import Link

            link = self._links[acceptor] = Link(url, self.options)
        if acceptor not in self._couriers:  # a Ctrl-C may have come between the link and this
            self._couriers[acceptor] = Courier(f"round_{acceptor}")
        link.label(self.proposer)
        return link

    def forget(self, acceptor: int) -> None:
        """Drop a connection, e.g. after the acceptor behind it was restarted.

        A request still in flight on it (an interrupted or timed-out round) is cut
        short, so its worker thread ends now rather than at the socket timeout.
        """
        self._drop(acceptor)

    def _drop(self, acceptor: int) -> bool:
        """Forget the link and stop its courier, cutting short the request in flight on it;
        whether that request may have left (link.abort)."""
        courier = self._couriers.pop(acceptor, None)
        if courier is not None:
            courier.stop()  # it ends once the request it runs, if any, is cut short
        link = self._links.pop(acceptor, None)
        return link.abort() if link is not None else True

    def prepare(self, n: int, servers: Sequence[int]) -> Round:
        return self.round(Phase.PREPARE, servers, {"id": n})

    def accept(self, n: int, value: str, servers: Sequence[int]) -> Round:
        return self.round(Phase.ACCEPT, servers, {"id": n, "value": value})

    def state(self, servers: Sequence[int]) -> Round:
        return self.round(Phase.STATE, servers, {})

    def round(self, phase: Phase, servers: Sequence[int], params: dict) -> Round:
        """Ask each server concurrently (once, however often it is named), each on its courier;
        Ctrl-C returns at once with what came. What has not come by the deadline is cut."""
        method, path = wire.PHASES[phase]
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        route = path + (f"?{query}" if query else "")
        _warm()
        servers = list(dict.fromkeys(servers))
        rnd = Round(phase, dict(params))
        ask = _Ask(phase, method, route, params, time.perf_counter(), time.time())
        got = self._asking = _Gathered()
        latch = Latch(len(servers))
        try:
            for sid in servers:
                self._ask(ask, sid, got, latch)
            # One wake-up for the whole round; a signal still interrupts the wait at once.
            latch.wait(ask.started + self.timeout + GRACE - time.perf_counter())
        except KeyboardInterrupt:
            rnd.interrupted = True
        except BaseException:
            self._settle(ask, servers, got, interrupted=True)
            raise
        with signals.interrupt_held() as came:  # a Ctrl-C now would lose the round and what it says
            self._settle(ask, servers, got, rnd.interrupted)
        rnd.interrupted = rnd.interrupted or bool(came)
        rnd.replies = [got.replies[sid] for sid in servers]
        rnd.elapsed = time.perf_counter() - ask.started
        return rnd

    def _ask(self, ask: _Ask, sid: int, got: _Gathered, latch: Latch) -> None:
        """Hand one acceptor's request to its courier (or say at once why it cannot be sent). The
        job is recorded before it is handed over: a Ctrl-C in between leaves it to be withdrawn."""
        try:
            link = self._link(sid)
        except ValueError as e:  # a URL that cannot be asked: nothing was sent
            got.replies[sid] = ask.reply(Reply(sid, ask.phase, NO_RESPONSE, cause=visible(str(e)), reached=False))
            latch.count_down()
            return
        link.hand_out()  # before the job is recorded: from then on, the link answers for this request
        job = Job(lambda: self._call(ask, sid, link, got), latch)
        got.jobs[job] = sid
        link.write_ahead(ask.method, ask.route)  # on a kept-alive connection; else the courier sends it
        self._couriers[sid].send(job)

    def _call(self, ask: _Ask, sid: int, link: Link, got: _Gathered) -> None:
        """On the courier: the whole request through requests' adapter, connecting if need be;
        its reply is the round's unless the round has already settled without it."""
        got.replies.setdefault(sid, _replied(ask, sid, lambda: link.call(ask.method, ask.route, self.timeout)))

    def _settle(self, ask: _Ask, servers: Sequence[int], got: _Gathered, interrupted: bool) -> None:
        """A reply for every server: what came, else silence (timeout or interrupted), the request
        cut short. Silence may have acted unless the request surely never left: it was neither
        written ahead nor begun to be written by its courier (transport.Link.abort)."""
        bug: Optional[tuple[int, BaseException]] = None
        cause = wire.INTERRUPTED if interrupted else wire.TIMEOUT
        for job, sid in list(got.jobs.items()):
            if sid in got.replies:
                continue
            if job.error is not None:
                bug = bug or (sid, job.error)
            silence = ask.reply(Reply(sid, ask.phase, NO_RESPONSE, cause=cause, reached=True))
            if got.replies.setdefault(sid, silence) is silence:  # else its reply came just now
                # Recorded before the request is cut: what the cut makes it say is not the round's.
                job.withdraw()  # a job not begun never will be; the link says if its request left
                silence.reached = self._give_up(sid)
        for sid in servers:  # not asked at all (Ctrl-C came first): it cannot have acted
            if sid not in got.replies:
                got.replies.setdefault(sid, ask.reply(Reply(sid, ask.phase, NO_RESPONSE, cause=cause, reached=False)))
        if bug is not None:
            sid, error = bug
            raise TransportBug(f"asking acceptor {sid} failed unexpectedly ({type(error).__name__}): "
                               "a bug, or a change in requests or urllib3") from error

    def _give_up(self, acceptor: int) -> bool:
        """Forget the connection, cutting short the request in flight on it; whether that
        request may have left (False: it had not begun to be written, and now never will be)."""
        return self._drop(acceptor)

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
        job = Job(lambda: link.call(method, route, timeout), Latch(1))
        self._couriers[acceptor].send(job)
        try:
            finished = job.latch.wait(timeout + GRACE)
        except KeyboardInterrupt:
            self.forget(acceptor)
            raise
        if not finished:
            self.forget(acceptor)
            raise ConnectionError(wire.TIMEOUT)
        if isinstance(job.error, Unanswered):
            raise ConnectionError(job.error.cause) from None
        if job.error is not None:
            raise job.error
        return cast("Answer", job.result)

    def connection(self, acceptor: int) -> Optional[socket.socket]:
        """The socket of the kept-alive connection to `acceptor`, None if none is open.

        A seam for tests, which watch what arrives on it (a FIN, a reset, bytes
        left unread); the shell never uses it, and nothing is sent or read on it here.
        """
        link = self._links.get(acceptor)
        return link.sock if link is not None else None

    def in_flight(self) -> list[int]:
        """The acceptors with a request in flight: asked by the round under way and not answered
        yet, or whose connection a request still holds. A seam for tests, which interrupt a round
        at a known point; a round that returned, even by Ctrl-C, leaves none (what it gave up on
        was cut and forgotten)."""
        got = self._asking
        asked = {sid for sid in list(got.jobs.values()) if sid not in got.replies}
        return sorted(asked | {sid for sid, link in list(self._links.items()) if link.busy.locked()})

    def answered(self) -> list[int]:
        """The acceptors whose reply the round under way (or the last one) holds. A seam for
        tests: an acceptor not in in_flight() may be answered, or not asked yet."""
        return sorted(list(self._asking.replies))

    def close(self) -> None:
        for sid in list(self._links):
            self.forget(sid)


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
