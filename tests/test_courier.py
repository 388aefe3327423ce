"""The courier: one thread per acceptor runs its jobs in turn, a round waits once on a latch, and a
job withdrawn before it began never runs (its request surely never left)."""

from __future__ import annotations

import signal
import threading

from paxos_shell.net.courier import Courier, Job, Latch
from tests.helpers.wait import wait_until


def test_the_latch_opens_when_the_last_job_finishes() -> None:
    latch = Latch(2)
    gate = threading.Event()
    couriers = [Courier("round_t1"), Courier("round_t2")]
    try:
        couriers[0].send(Job(lambda: "fast", latch))
        couriers[1].send(Job(gate.wait, latch))
        assert not latch.wait(0.05)  # one job is still running
        gate.set()
        assert latch.wait(10.0)
    finally:
        for c in couriers:
            c.stop()


def test_a_latch_for_no_job_is_open() -> None:
    assert Latch(0).wait(0.0)


def test_a_job_withdrawn_before_it_began_never_runs() -> None:
    gate, ran = threading.Event(), []
    courier = Courier("round_t3")
    try:
        first = Job(gate.wait, Latch(1))
        second = Job(lambda: ran.append("second"), Latch(1))
        courier.send(first)
        courier.send(second)
        assert wait_until(lambda: first.state == Job.RUNNING), "the first job never started"
        assert not first.withdraw()  # running: too late, it may have sent its request
        assert second.withdraw()
        gate.set()
        assert first.latch.wait(10.0)
        third = Job(lambda: "after", Latch(1))
        courier.send(third)
        assert third.latch.wait(10.0) and third.result == "after"
        assert ran == [] and second.state == Job.WITHDRAWN
    finally:
        courier.stop()


def test_a_job_keeps_what_it_raised_and_the_latch_still_opens() -> None:
    courier = Courier("round_t4")
    try:
        job = Job(lambda: 1 / 0, Latch(1))
        courier.send(job)
        assert job.latch.wait(10.0)
        assert isinstance(job.error, ZeroDivisionError) and job.state == Job.DONE
    finally:
        courier.stop()


def test_a_stopped_courier_ends_and_blocks_the_shells_signals() -> None:
    courier = Courier("round_t5")
    job = Job(lambda: signal.pthread_sigmask(signal.SIG_BLOCK, set()), Latch(1))
    courier.send(job)
    assert job.latch.wait(10.0)
    assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= set(job.result)  # type: ignore[arg-type]
    courier.stop()
    courier.thread.join(10.0)
    assert not courier.thread.is_alive()
