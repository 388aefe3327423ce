"""The live view in a real headless browser: the page follows the shell command by command.

Chromium and chromedriver come from the distribution (`apt-get install chromium
chromium-driver`; .ci/run installs them). Without them these tests FAIL, as in CI,
unless PAXOS_VIEW_BROWSER=optional says a local run may skip them. One browser and
one shell (on its own local pool, its view started as `--view` starts it) serve the
whole module, and the tests run in order, each waiting on the page's DOM, never sleeping.
Screenshots at 1280x720 and 1920x1080 go to pytest's temporary directory.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
from pathlib import Path
from typing import Any, Iterator

import pytest

import paxos_shell.pool.local as pool_module
from paxos_shell.core.text import show_value, visible
from paxos_shell.pool.local import LocalPool, Pool
from paxos_shell.shell.app import Shell
from paxos_shell.shell.lessons import load_lesson
from paxos_shell.view.command import running_view, view_at_start

from .helpers import HOST, run

OPTIONAL = os.environ.get("PAXOS_VIEW_BROWSER") == "optional"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run")
WAIT = 15.0

READ_PAGE = """
const $ = (id) => document.getElementById(id);
const all = (sel) => [...document.querySelectorAll(sel)];
return {
  seq: document.body.dataset.seq, line: $("line").textContent,
  verdict: $("verdict").textContent, kind: $("verdict-box").dataset.verdict,
  detail: all("#verdict-detail li").map((li) => li.textContent), futures: $("futures").textContent,
  cards: all("#cards .card").map((c) => ({
    id: c.dataset.id, status: c.dataset.status, changed: c.classList.contains("changed"),
    fields: Object.fromEntries([...c.querySelectorAll("dd")].map((d) => [d.dataset.field, d.textContent])),
    changedFields: [...c.querySelectorAll("dd.changed")].map((d) => d.dataset.field),
    badges: [...c.querySelectorAll(".badge")].map((b) => b.textContent)})),
  rounds: all("#diagram g.round").map((r) => r.dataset.round),
  lastRound: all("#diagram g.round:last-of-type g").map((g) => [g.getAttribute("class"), g.textContent]),
  proposers: all("#diagram svg:not(.heads) text.who.name.proposer").map((t) => t.textContent),
  explanation: all("#explanation li").map((li) => li.textContent),
  lesson: $("lesson").hidden ? null : [$("lesson-step").textContent, $("lesson-title").textContent,
                                       $("lesson-command").textContent],
};
"""


def need_browser() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    missing = [n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        why = (f"the live view's browser tests need {', '.join(missing)}: apt-get install chromium "
               "chromium-driver (set PAXOS_VIEW_BROWSER=optional to skip them on a local run)")
        if OPTIONAL:
            pytest.skip(why)
        pytest.fail(why)
    assert chromium is not None and driver is not None
    return chromium, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium, driver = need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    d = webdriver.Chrome(service=Service(driver), options=options)
    try:
        size(d, 1280, 720)
        yield d
    finally:
        d.quit()


def size(d: Any, width: int, height: int) -> None:
    """The page's viewport exactly (a headless window's outer size includes no-one's chrome)."""
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


@pytest.fixture(scope="module")
def live(browser: Any) -> Iterator[dict[str, Any]]:
    """A shell on its own local pool (free ports: the layout's first port is held), its view
    started as `paxos-shell --view` starts it, and the page open in the browser."""
    with pytest.MonkeyPatch.context() as mp, socket.socket() as hold:
        hold.bind((HOST, 0))
        hold.listen(1)
        mp.setattr(pool_module, "LAYOUT_BASE_PORT", hold.getsockname()[1])
        local = LocalPool(3)
    local.start()
    sh = Shell(Pool(local.urls, "Local pool of 3 acceptors", local), timeout=2.0, stream=io.StringIO(),
               err=io.StringIO(), colour=False)
    try:
        assert view_at_start(sh, interactive=False) == 0
        view = running_view(sh)
        assert view is not None
        browser.get(view.url() + "#projector,light")
        state = {"shell": sh, "browser": browser, "seq": 0}
        wait_seq(state)
        yield state
    finally:
        sh.close()


def wait_seq(state: dict[str, Any]) -> dict[str, Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    want = str(state["seq"])
    WebDriverWait(state["browser"], WAIT).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-seq") == want,
        f"the page never showed snapshot {want}")
    return dict(state["browser"].execute_script(READ_PAGE))


def do(state: dict[str, Any], *lines: str, failing: str = "") -> dict[str, Any]:
    """Run lines in the shell (each runs, and publishes one snapshot); the page after the last.
    Each must succeed but `failing`, a round that runs and reaches no quorum (exit status 1)."""
    for line in lines:
        code, out = run(state["shell"], line)
        assert code == (1 if line == failing else 0), (line, out)
    view = running_view(state["shell"])
    assert view is not None
    state["seq"] = view.tracker.seq  # one snapshot a command, and one a turn of a watched duel or propose
    page = wait_seq(state)
    assert page["line"] == visible(lines[-1])  # the command line as typed, control characters escaped
    return page


def shoot(state: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, name: str) -> list[Path]:
    """Screenshots at both projector sizes, with animations off so the picture is complete."""
    d = state["browser"]
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion",
                                                                   "value": "reduce"}]})
    shots = []
    out = tmp_path_factory.getbasetemp() / "view-screenshots"
    out.mkdir(exist_ok=True)
    try:
        for w, h in ((1280, 720), (1920, 1080)):
            size(d, w, h)
            path = out / f"{name}-{w}x{h}.png"
            assert d.get_screenshot_as_file(str(path)) and path.stat().st_size > 10_000
            shots.append(path)
    finally:
        size(d, 1280, 720)
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    return shots


def is_a(kind: str, message: list[str]) -> bool:
    """A drawn message of this kind: its class is `msg req ...` or `msg rep ...`."""
    return message[0].split()[:2] == ["msg", kind]


def fields(page: dict[str, Any], key: str) -> list[str]:
    return [c["fields"][key] for c in page["cards"]]


def test_prepare_shows_promises_a_quorum_and_nothing_chosen(live: dict[str, Any]) -> None:
    page = do(live, "prepare 1")
    assert [(c["id"], c["status"], c["changed"]) for c in page["cards"]] == [
        ("1", "up", True), ("2", "up", True), ("3", "up", True)]
    assert fields(page, "promisedId") == ["1", "1", "1"] and fields(page, "acceptedValue") == ["\u2013"] * 3
    assert (page["verdict"], page["kind"]) == ("nothing chosen yet", "not chosen")
    msgs = page["lastRound"]
    assert [m for m in msgs if is_a("req", m)] == [["msg req prepare", "prepare 1"]] * 3
    assert [m for m in msgs if is_a("rep", m)] == [["msg rep promise", "promise 1"]] * 3
    assert msgs[-1] == ["mark quorum", "quorum: 3 of 3 promised"]
    assert page["explanation"][0].startswith("A quorum (3 promises, 2 needed) promised id 1")


def test_dueling_proposers_the_overtaken_accept_is_ignored(live: dict[str, Any]) -> None:
    page = do(live, "proposer A", "prepare", "proposer B", "prepare", "proposer A", "accept x", failing="accept x")
    assert page["proposers"] == ["A", "B"]  # the last three rounds: A prepares, B prepares, A accepts
    assert page["lastRound"][:3] == [["msg req accept", "accept 101 x"]] * 3
    assert [m for m in page["lastRound"] if is_a("rep", m)] == [["msg rep ignored", "ignored"]] * 3
    assert page["lastRound"][-1] == ["mark noquorum", "no quorum: 0 accepted, 2 needed"]
    assert fields(page, "promisedId") == ["102", "102", "102"] and page["verdict"] == "nothing chosen yet"


def test_accept_after_prepare_chooses_and_highlights_what_changed(live: dict[str, Any]) -> None:
    page = do(live, "proposer main", "prepare 200", "accept A")
    assert (page["verdict"], page["kind"]) == ("chosen: A", "chosen")
    assert page["futures"].startswith("Only A can ever be chosen: A is chosen (acceptors 1, 2 and 3 accepted it")
    assert page["detail"] == ["Chosen: A (accepted at id 200 by acceptors 1, 2 and 3, quorum is 2 of 3)"]
    assert fields(page, "acceptedId") == ["200"] * 3 and fields(page, "acceptedValue") == ["A"] * 3
    assert [c["changedFields"] for c in page["cards"]] == [["acceptedId", "acceptedValue"]] * 3
    assert page["lastRound"][-1] == ["mark quorum", "quorum: 3 of 3 accepted"]


def test_propose_keeps_the_chosen_value(live: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    page = do(live, "propose B")
    assert page["verdict"] == "chosen: A" and fields(page, "promisedId") == ["300"] * 3
    assert [c["changedFields"] for c in page["cards"]] == [["promisedId"]] * 3
    assert ["msg rep promise", "promise 300 (accepted 200: A)"] in page["lastRound"]
    assert any("replaced by 'A'" in s for s in page["explanation"])
    for shot in shoot(live, tmp_path_factory, "chosen"):
        print(f"screenshot: {shot}")


def test_down_shows_on_its_card(live: dict[str, Any]) -> None:
    page = do(live, "down 1")
    assert [(c["status"], c["changed"]) for c in page["cards"]] == [("down", True), ("up", False), ("up", False)]
    assert page["cards"][0]["badges"] == ["down"]


def test_a_forced_unsafe_accept_shows_the_violation(live: dict[str, Any],
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    page = do(live, "accept 5000 B 2 3 --force")
    assert (page["verdict"], page["kind"]) == ("SAFETY VIOLATION", "violation")
    assert page["detail"][0] == ("SAFETY VIOLATION: two different values were chosen: A at id 200 by acceptors "
                                 "1, 2 and 3 and B at id 5000 by acceptors 2 and 3: at most one value is ever chosen.")
    assert fields(page, "acceptedValue") == ["A", "B", "B"] and fields(page, "acceptedId") == ["200", "5000", "5000"]
    assert [m for m in page["lastRound"] if is_a("req", m)] == [["msg req accept", "accept 5000 B"]] * 2
    assert page["explanation"][0].startswith("Safety is broken: two different values were chosen")
    for shot in shoot(live, tmp_path_factory, "violation"):
        print(f"screenshot: {shot}")


def test_foreign_text_is_shown_as_text_never_as_markup(live: dict[str, Any]) -> None:
    hostile = '<img src=x onerror="document.body.dataset.pwned=1">\x1b[31m'
    line = f"accept 6000 '{hostile}' 1 --force"
    page = do(live, "up 1", line, failing=line)  # one acceptor is no quorum
    shown = page["cards"][0]["fields"]["acceptedValue"]  # as text, escaped, shortened with its length said
    assert shown == show_value(hostile) and shown.startswith("'<img src=x onerror=\"document.body.dataset.pwned")
    assert "\\x1b[31" in shown and "\x1b" not in shown
    drawn = page["lastRound"][0]  # the label is the value as text, shortened to its arrow
    assert drawn[0] == "msg req accept" and drawn[1].startswith("accept 6000 '<img src=x onerror=")
    found = live["browser"].execute_script(
        "return [document.querySelectorAll('img, [onerror]').length, document.body.dataset.pwned || null]")
    assert found == [0, None]


def test_the_lesson_step_is_shown_while_the_lesson_runs(live: dict[str, Any]) -> None:
    lesson = load_lesson("happy-path")
    seen: list[Any] = []

    def pause(prompt: str) -> str:
        if prompt.startswith("[3/"):  # step 2 (prepare 1) has run and been published
            live["seq"] += 2
            seen.append(wait_seq(live)["lesson"])
        return ""

    live["shell"].pause = pause
    try:
        code, out = run(live["shell"], "lesson happy-path")
    finally:
        live["shell"].pause = None
    assert code == 0, out
    assert seen == [[f"step 2 of {len(lesson.steps)}", lesson.title, "prepare 1"]]
    live["seq"] += len(lesson.steps) - 2 + 1
    page = wait_seq(live)
    assert page["lesson"] is None and page["verdict"] == "chosen: A" and page["line"] == "lesson happy-path"


def test_a_duel_unfolds_turn_by_turn_on_the_page(live: dict[str, Any]) -> None:
    # Was: only the end state appeared. At each stop the page already shows that turn.
    sh = live["shell"]
    view = running_view(sh)
    assert view is not None
    seen: list[tuple[str, list[str]]] = []

    def pause(step: str, keys: str = "") -> str:
        live["seq"] = view.tracker.seq
        page = wait_seq(live)
        seen.append((page["line"], page["rounds"]))
        return ""

    sh.pause = pause
    try:
        code, out = run(sh, "duel x y --turns 3 --no-backoff --seed 1")
    finally:
        sh.pause = None
    assert code == 1, out  # a livelock in 3 turns: nothing chosen
    assert [line for line, _ in seen] == ["duel x y (turn 1 of 3)", "duel x y (turn 2 of 3)"]
    assert seen[0][1][-1] != seen[1][1][-1]  # the second stop draws a later round than the first
    page = do(live, "state")
    assert page["verdict"] != "" and page["line"] == "state"


def test_the_page_has_no_control_over_the_pool(live: dict[str, Any]) -> None:
    d = live["browser"]
    controls = d.execute_script(
        "return [document.querySelectorAll('form, input, select, textarea, [contenteditable]').length,"
        " [...document.querySelectorAll('button, a[href]')].map((b) => b.id)]")
    assert controls == [0, ["layout", "theme"]]
    rounds = live["shell"].session.rounds
    d.find_element("id", "layout").click()
    d.find_element("id", "theme").click()
    look = d.execute_script("return [document.documentElement.dataset.layout, document.documentElement.dataset.theme,"
                            " document.body.dataset.seq]")
    assert look == ["compact", "dark", str(live["seq"])]
    assert live["shell"].session.rounds == rounds
