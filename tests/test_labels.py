"""Labels, who may use a proxy, and where the proxies listen (watch/labels.py)."""

from __future__ import annotations

import pytest

from paxos_shell.watch.labels import MAX_LABEL, allowed, label_of, parse_allow, plan_ports


def test_a_proposer_is_its_name_else_its_address_without_the_port() -> None:
    assert label_of("alice", "127.0.0.1") == "alice"
    assert label_of(None, "127.0.0.1") == "127.0.0.1"
    assert label_of("  ", "::ffff:10.0.0.7") == "10.0.0.7"
    assert label_of("main", "10.0.0.7") == "main@10.0.0.7"  # every student's shell says main


def test_a_label_holds_no_foreign_control_character_and_is_bounded() -> None:
    assert label_of("\x1b[2Jev\u202eil <b>", "127.0.0.1") == "__2Jev_il__b_"
    assert len(label_of("x" * 10_000, "127.0.0.1")) == MAX_LABEL


def test_allow_limits_who_may_but_never_loopback() -> None:
    nets = parse_allow(["192.168.1.0/24"])
    assert allowed("192.168.1.9", nets) and allowed("127.0.0.1", nets) and allowed("::1", nets)
    assert not allowed("10.0.0.1", nets) and not allowed("::ffff:10.0.0.1", nets)
    assert allowed("10.0.0.1", ())
    with pytest.raises(ValueError, match="expected a network"):
        parse_allow(["192.168.1.0/33"])


def test_ports_follow_the_paxos_server_layout_or_are_named() -> None:
    assert plan_ports([1, 2, 3], 9081, []).ports == {1: 9081, 2: 9082, 3: 9083}
    assert plan_ports([1, 2, 3], None, ["2=9102"]).ports == {1: 0, 2: 9102, 3: 0}
    for bad, said in ((["4=9000"], "no acceptor 4"), (["2=x"], "bad port"), (["2"], "expected ID=PORT"),
                      (["1=9082"], "share a port")):
        with pytest.raises(ValueError, match=said):
            plan_ports([1, 2, 3], 9081, bad)
