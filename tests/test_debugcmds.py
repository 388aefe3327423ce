"""check, ping, bench and fault injection through the shell (shell/commands/debugcmds.py)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from paxos_shell.pool.local import Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.render import Format

from .helpers import Acceptor, free_port, run


def test_dropped_reply_leaves_the_acceptor_changed(local: Shell) -> None:
    run(local, "set timeout 0.3")
    code, out = run(local, "drop 1 replies 100")
    assert code == 0 and "drop 100% replies" in out
    code, out = run(local, "prepare 5 1")
    assert code == 1 and "timeout" in out
    run(local, "heal")
    local.out.fmt = Format.JSON
    _, out = run(local, "state 1")
    assert json.loads(out)["acceptors"]["1"]["promisedId"] == 5  # it promised; only the reply was lost


def test_dropped_request_leaves_the_acceptor_unchanged(local: Shell) -> None:
    run(local, "set timeout 0.3")
    run(local, "drop 2 requests 100")
    code, out = run(local, "prepare 5 2")
    assert code == 1 and "timeout" in out
    _, out = run(local, "pool")
    assert re.search(r"^2 .*drop 100% requests", out, re.M)
    code, out = run(local, "heal 9")
    assert code == 1 and out == "error: unknown acceptor 9: the pool is 1..3\n"
    run(local, "heal 2")
    local.out.fmt = Format.JSON
    _, out = run(local, "state 2")
    assert json.loads(out)["acceptors"]["2"]["promisedId"] == -1


def test_delay_slows_one_acceptor(local: Shell) -> None:
    run(local, "delay 3 200")
    rnd = local.engine.prepare(1)
    lat = {r.acceptor: r.latency for r in rnd.round.replies}
    assert lat[3] >= 0.2 and lat[1] < 0.2 and rnd.quorum_reached
    run(local, "heal 3")
    assert local.engine.prepare(2).round.replies[2].latency < 0.2


def test_faults_work_on_any_acceptor_with_faults_and_are_refused_by_others(acceptors: Any, tmp_path: Any) -> None:
    plain = acceptors(1)[0]
    faulty = Acceptor(2, free_port(), str(tmp_path), extra=("--faults",))
    faulty.start()
    try:
        sh = Shell(Pool({1: plain.url, 2: faulty.url}, "t"), stream=io.StringIO(), err=io.StringIO(), colour=False)
        code, out = run(sh, "drop 2 replies 50")
        assert code == 0 and out == "Acceptor 2: drop 50% replies\n"  # not a local pool, but ours with --faults
        code, out = run(sh, "drop 1 replies 50")
        assert code == 1 and out.startswith("error: acceptor 1: ") and "--faults" in out
        sh.close()
    finally:
        faulty.kill()


def test_fault_endpoint_is_loopback_only_and_off_by_default(acceptors: Any) -> None:
    from paxos_shell.acceptor.server import admin_allowed

    assert admin_allowed("127.0.0.1") and admin_allowed("127.3.4.5") and admin_allowed("::1")
    assert not admin_allowed("10.0.0.1") and not admin_allowed("192.168.1.2") and not admin_allowed("junk")
    assert admin_allowed("::ffff:127.0.0.1") and not admin_allowed("::ffff:10.0.0.1")  # dual-stack sockets
    (plain,) = acceptors(1)
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", plain.port, timeout=5)
    conn.request("POST", "/admin/faults?drop_replies=100")
    assert conn.getresponse().status == 404  # not started with --faults: no such endpoint
    conn.close()


def test_volatile_acceptor_says_it_is_unsafe(tmp_path: Any) -> None:
    a = Acceptor(1, free_port(), str(tmp_path), extra=("--volatile",))
    a.start()
    a.kill()
    log = (tmp_path / "acceptor-1.log").read_text()
    assert "VOLATILE" in log and "UNSAFE" in log


def test_teach_mode_counts_the_other_proposer_violations_in_words(local: Shell) -> None:
    # Was: "(and 1 more: see 'check')", the words issue 20 found reading badly.
    run(local, "set teach on")
    run(local, "accept 7 X 1 --force")
    _, out = run(local, "accept 8 Y 2 --force")
    assert "broke a proposer's rule (accept-without-quorum) (and 1 more proposer violation: see 'check')" in (
        " ".join(out.split()))


def test_check_is_silent_on_a_correct_run(local: Shell) -> None:
    for v in ("a", "b", "c"):
        run(local, f"propose {v} --contact-count 2")
    run(local, "restart 2")
    run(local, "propose d")
    code, out = run(local, "check")
    assert code == 0 and out.startswith("OK: no violation")


def test_check_counts_one_reply_in_the_singular(tmp_path: Any) -> None:
    a = Acceptor(1, free_port(), str(tmp_path)).start()
    sh = Shell(Pool({1: a.url}, "one"), timeout=5.0, stream=io.StringIO(), err=io.StringIO(), colour=False)
    try:
        code, out = run(sh, "check")  # check reads the one acceptor first: one reply
        assert code == 0 and out.startswith("OK: no violation in 1 reply (quorum 1).")
    finally:
        sh.close()
        a.kill()


def test_check_catches_a_forced_unsafe_accept(local: Shell) -> None:
    run(local, "propose A")
    run(local, "prepare 5 2 3")
    code, out = run(local, "accept 5 B 2 3 --force")
    assert "WARNING" in out
    code, out = run(local, "check")
    assert code == 1
    text = " ".join(out.split())
    assert ("VIOLATION: two different values were chosen: A at id 0 by acceptors 1, 2 and 3 and B at id 5 by "
            "acceptors 2 and 3: at most one value is ever chosen.") in text
    assert "acceptor 2 accepted B at id 5 in round 4 (accept 5 B)" in text  # the proof, in words
    assert "{'ignored'" not in out and "None" not in out  # never a Python repr


def test_check_catches_a_volatile_acceptor_forgetting(local: Shell) -> None:
    run(local, "restart 1 --volatile")
    _, out = run(local, "pool")
    assert "VOLATILE" in out
    run(local, "prepare 4 1")
    run(local, "restart 1")
    run(local, "state 1")
    code, out = run(local, "check")
    assert code == 1 and ("VIOLATION: acceptor 1 stopped after round 1 and kept its state in memory only: it "
                          "forgot promise 4: acceptors must keep what they acknowledged.") in " ".join(out.split())
    assert out.count("VIOLATION") == 1  # said once, however often check runs
    assert "Note: this holds only while" not in out  # no guarantee is left for a caveat to qualify
    _, out = run(local, "check")
    assert out.count("VIOLATION") == 1


def test_check_names_no_condition_a_durable_chosen_quorum_does_not_have(local: Shell) -> None:
    run(local, "restart 3 --volatile")
    run(local, "prepare 1 1 2")
    run(local, "accept 1 A 1 2")  # chosen by acceptors 1 and 2, which keep their state on disk
    code, out = run(local, "check")
    assert code == 0 and "OK: no violation" in out
    assert "acceptor 3" not in out
    run(local, "prepare 2 2 3")
    run(local, "accept 2 A 3")  # now 3 holds A too, but the durable quorum still decides
    _, out = run(local, "check")
    assert "Note:" not in out


def test_reset_is_not_amnesia(local: Shell) -> None:
    run(local, "propose A")
    run(local, "reset")
    assert [local.session.statuses[i].kind for i in (1, 2, 3)] == ["up", "up", "up"]  # the toolbar stays right
    run(local, "propose B")
    code, out = run(local, "check")
    assert code == 0, out


def test_ping_and_bench(local: Shell) -> None:
    code, out = run(local, "ping --count 3")
    assert code == 0 and re.search(r"^1\s+3/3\s+[\d.]+ ms", out, re.M)
    run(local, "down 3")
    code, out = run(local, "ping 3 --count 2")
    assert code == 1 and "connection refused" in out
    run(local, "up 3")
    code, out = run(local, "bench 20")
    rows = dict(re.findall(r"^(proposals|both phases ran|consensus)\s+(\S+)$", out, re.M))
    assert code == 0 and rows == {"proposals": "20", "both phases ran": "20/20", "consensus": "20/20"}
    assert re.search(r"^throughput\s+\d+ proposals/s$", out, re.M)
    assert len(local.session.history) < 30  # bench kept its rounds out of the history


def test_a_bench_cut_short_counts_only_the_proposals_that_finished(local: Shell, monkeypatch: Any) -> None:
    """Ctrl-C in the 4th proposal's prepare round: three proposals are figures, the 4th is not."""
    from paxos_shell.net.courier import Latch

    real_wait, rounds = Latch.wait, []

    def wait(latch: Latch, timeout: float) -> bool:
        done = real_wait(latch, timeout)
        rounds.append(1)
        if len(rounds) == 7:  # rounds 1-6 are three proposals' prepare and accept
            raise KeyboardInterrupt
        return done

    monkeypatch.setattr(Latch, "wait", wait)
    code, out = run(local, "bench 100")
    rows = dict(re.findall(r"^(proposals|both phases ran|consensus)\s+(.+?)\s*$", out, re.M))
    assert rows == {"proposals": "3 (interrupted)", "both phases ran": "3/3", "consensus": "3/3"}
    assert code != 0 and len(rounds) == 7




def test_check_names_the_proposer_that_accepted_without_a_quorum_in_text_and_json(local: Shell) -> None:
    run(local, "prepare 1 1 2")
    run(local, "accept 1 A 1 2")
    run(local, "proposer demo")
    run(local, "prepare 5 3")                 # one promise; a quorum is 2
    run(local, "accept 5 B 3 --force")        # the old demo script's move
    code, out = run(local, "check")
    text = " ".join(out.split())
    assert code == 1
    assert ("PROPOSER VIOLATION: proposer shell:demo sent accept 5 B to acceptor 3 in round 4, but only acceptor 3 "
            "had granted it prepare 5, and a quorum is 2") in text
    assert ("acceptor 3 accepted B at id 5 in round 4 (accept 5 B, sent by shell:demo) acceptor 3 promised 5 in "
            "round 3 (prepare 5, sent by shell:demo)") in text  # the accept, then the promise it relied on
    local.out.fmt = Format.JSON
    _, out = run(local, "check")
    data = json.loads(out)
    (v,) = [v for v in data["violations"] if v["proposer"] is not None]
    assert (v["rule"], v["proposer"], v["id"]) == ("accept-without-quorum", "shell:demo", 5)
    assert [(e["request"], e["acceptor"], e["proposer"]) for e in v["evidence"]] == [
        ("accept 5 B", 3, "shell:demo"), ("prepare 5", 3, "shell:demo")]
    assert data["ok"] is False


def test_the_verdict_and_teach_mode_say_which_proposer_broke_a_rule(local: Shell) -> None:
    from paxos_shell.view.model import verdict_of

    run(local, "set teach on")
    _, out = run(local, "accept 7 X 1 --force")   # no prepare at all, by the shell's main proposer
    flat = " ".join(out.split())
    assert ("This shell's proposer shell broke a proposer's rule (accept-without-quorum): without a quorum of "
            "promises for id 7 a proposer cannot know which value may already be chosen, so its accept can plant "
            "a second one.") in flat
    detail = " ".join(verdict_of(local)["detail"])
    assert "PROPOSER VIOLATION: proposer shell sent accept 7 X to acceptor 1 in round 1" in detail
    local.out.fmt = Format.JSON
    _, out = run(local, "state")
    assert [(p["rule"], p["proposer"]) for p in json.loads(out)["proposerViolations"]] == [
        ("accept-without-quorum", "shell")]


def test_check_stays_quiet_on_the_shells_own_correct_proposals(local: Shell) -> None:
    run(local, "proposer other")
    for line in ("propose a --contact-count 2", "prepare", "accept", "proposer main", "propose b 2 3"):
        run(local, line)
    code, out = run(local, "check")
    assert code == 0 and "PROPOSER VIOLATION" not in out, out
