"""A thread per acceptor, kept with its connection: how a round's requests run side by side.

A round hands each acceptor's request to that acceptor's own Courier, a thread
that sleeps on its own queue between rounds, and then waits once, on a Latch
the last request to finish opens. A shared thread pool cost more for the same
work: a future per request, a waiter put on and taken off every future, any
free thread taking any acceptor's request. A job not yet begun can be
withdrawn: it never starts, so its request surely never left. Couriers block
the signals meant for the shell (runtime/signals), so Ctrl-C reaches the
thread waiting for the round; they are daemon threads, so a request still
being cut short never holds up the shell's exit. This module never speaks
HTTP (transport.py does) and never judges a reply.
"""

from __future__ import annotations

import threading
from queue import SimpleQueue
from typing import Callable, Optional

from paxos_shell.runtime import signals

__all__ = ["Courier", "Job", "Latch"]


class Latch:
    """Opens when `count` jobs have finished; a round waits on it once, however many it asked."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._count_lock = threading.Lock()
        self._closed = threading.Lock()
        if count > 0:
            self._closed.acquire()

    def count_down(self) -> None:
        with self._count_lock:
            self._left -= 1
            last = self._left == 0
        if last:
            self._closed.release()

    def wait(self, timeout: float) -> bool:
        """Whether every job finished within `timeout` seconds; a signal interrupts the wait
        (lock waits are interruptible on POSIX), raising what its handler raises."""
        if not self._closed.acquire(timeout=max(timeout, 0.0)):
            return False
        self._closed.release()
        return True


class Job:
    """One call for a courier: waiting, then running, then done (with the exception it raised,
    if any); a waiting job can be withdrawn instead, and then never runs."""

    WAITING, RUNNING, DONE, WITHDRAWN = range(4)

    def __init__(self, call: Callable[[], object], latch: Latch) -> None:
        self.call = call
        self.latch = latch
        self.state = Job.WAITING
        self.result: object = None
        self.error: Optional[BaseException] = None
        self._lock = threading.Lock()

    def withdraw(self) -> bool:
        """Whether the job was withdrawn before it began (it never will); False once it runs."""
        with self._lock:
            if self.state == Job.WAITING:
                self.state = Job.WITHDRAWN
            return self.state == Job.WITHDRAWN

    def run(self) -> None:
        with self._lock:
            if self.state != Job.WAITING:
                return
            self.state = Job.RUNNING
        try:
            self.result = self.call()
        except BaseException as e:  # kept for the round, which reports it (client.TransportBug)
            self.error = e
        finally:
            self.state = Job.DONE
            self.latch.count_down()


class Courier:
    """One daemon thread running one acceptor's jobs in turn, until stopped; a stopped courier
    finishes the job it is running (a request being cut short) and ends."""

    def __init__(self, name: str) -> None:
        self._jobs: SimpleQueue[Optional[Job]] = SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        try:
            self.thread.start()
        except BaseException:  # Ctrl-C while start() waited for the thread to run: it ends at once
            self.stop()
            raise

    def send(self, job: Job) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(None)

    def _serve(self) -> None:
        signals.main_thread_only()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job.run()
