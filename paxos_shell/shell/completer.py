"""Completion as a pure function of (document, what the session knows).

Nothing here touches the network: acceptor statuses, ids and values all come
from the session's memory of earlier replies, so a keystroke never waits on
an acceptor (http-prompt's rule). What the menu shows is escaped (text.visible)
like every other string that reaches the terminal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from paxos_shell.core.options import is_whole_number
from paxos_shell.core.paxos import choose_value
from paxos_shell.core.text import show_value, visible
from paxos_shell.core.urls import redacted
from paxos_shell.shell import registry as reg
from paxos_shell.shell.registry import ArgKind as K

if TYPE_CHECKING:
    from paxos_shell.shell.context import Context


@dataclass
class View:
    """The slice of session state completion may read."""

    acceptors: dict[int, str] = field(default_factory=dict)
    current_id: Optional[int] = None
    next_id: Optional[int] = 0
    """None once the proposal ids are used up."""
    values: list[str] = field(default_factory=list)
    required_value: Optional[str] = None
    proposers: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)


def _tokens(text: str) -> tuple[list[str], str]:
    """Complete words before the cursor, and the word being typed."""
    try:
        words = shlex.split(text)
    except ValueError:  # an open quote: complete the quoted word as typed
        words = text.split()
        return words[:-1], words[-1] if words and not text.endswith(" ") else ""
    if text and not text[-1].isspace():
        return words[:-1], words[-1] if words else ""
    return words, ""


def _match(word: str, options: Iterable[tuple[str, str]], start: Optional[int] = None) -> list[Completion]:
    out = []
    for text, meta in options:
        if text.startswith(word):
            quoted = _quoted(text)
            # The menu is a terminal like any other: a value's U+202E or ESC is shown as \u202e, \x1b.
            out.append(Completion(quoted, start_position=-len(word) if start is None else start,
                                  display=visible(quoted), display_meta=visible(meta)))
    return out


def _quoted(text: str) -> str:
    return text if text and shlex.quote(text) == text else shlex.quote(text)


def _kind_at(cmd: reg.Command, words: list[str]) -> Optional[K]:
    """The kind of argument the cursor stands on, from the command's declaration."""
    if words and words[-1] in cmd.flags and cmd.flags[words[-1]] != K.FLAG:
        return cmd.flags[words[-1]]
    # Inside a --server-ids run, more ids may follow.
    for w in reversed(words):
        if w.startswith("--"):
            if cmd.flags.get(w) == K.SERVERS:
                return K.SERVERS
            break
        if not w.isdigit():
            break
    positional, skip = [], False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("--"):
            skip = cmd.flags.get(w) not in (K.FLAG, K.SERVERS, None)
            continue
        positional.append(w)
    kinds = cmd.positional
    # "An integer first argument is the id": a non-integer there means the id was left out.
    if kinds and kinds[0] == K.ID and positional and not is_whole_number(positional[0]):
        kinds = kinds[1:]
    if not kinds:
        return None
    if len(positional) < len(kinds):
        return kinds[len(positional)]
    return kinds[-1] if kinds[-1] == K.SERVERS else None


def complete(document: Document, view: View) -> list[Completion]:
    text = document.text_before_cursor
    words, word = _tokens(text)
    if not words:
        return _match(word, ((n, reg.lookup(n).summary) for n in reg.names()))
    try:
        cmd = reg.lookup(words[0])
    except reg.UsageError:
        return []
    args = words[1:]
    if word.startswith("-"):
        return _match(word, ((f, f"takes {k.value}" if k != K.FLAG else "switch") for f, k in cmd.flags.items()))
    kind = _kind_at(cmd, args)
    return _match(word, _options(kind, cmd, args, view))


def _choices(cmd: reg.Command, positional: list[str]) -> Optional[list[str]]:
    """The fixed words a CHOICE positional takes here, if the cursor is on one."""
    kinds = cmd.positional
    at = len(positional)
    if at >= len(kinds) or kinds[at] != K.CHOICE:
        if cmd.name == "expect" and positional[:1] == ["outcome"] and at == 1:
            return ["chosen", "not-chosen", "unknown"]
        return None
    which = sum(1 for k in kinds[:at] if k == K.CHOICE)
    return list(cmd.choices[which]) if which < len(cmd.choices) else None


def _options(kind: Optional[K], cmd: reg.Command, args: list[str], view: View) -> list[tuple[str, str]]:
    positional = [a for a in args if not a.startswith("--")]
    fixed = _choices(cmd, positional)
    if fixed is not None:
        return [(c, "") for c in fixed]
    if kind == K.SERVER:
        return [(str(i), meta) for i, meta in sorted(view.acceptors.items())]
    if kind == K.SERVERS:
        used = {a for a in args if a.isdigit()}
        return [(str(i), meta) for i, meta in sorted(view.acceptors.items()) if str(i) not in used]
    if kind == K.ID:
        opts = [(str(view.next_id), "next id: above every id seen")] if view.next_id is not None else []
        if view.current_id is not None and view.current_id != view.next_id and cmd.name == "accept":
            opts.insert(0, (str(view.current_id), "current id"))
        return opts
    if kind == K.VALUE:
        opts = [(v, "value seen") for v in reversed(view.values) if v != view.required_value]
        if view.required_value is not None:
            opts.insert(0, (view.required_value, "required by the promises"))
        return opts
    return _other_options(kind, args, view)


def _other_options(kind: Optional[K], args: list[str], view: View) -> list[tuple[str, str]]:
    if kind == K.COUNT:
        return [(str(i), "") for i in range(1, len(view.acceptors) + 1)]
    if kind == K.COMMAND:
        return [(n, reg.lookup(n).summary) for n in reg.names()]
    if kind == K.SETTING:
        return [(name, s.about) for name, s in sorted(reg.SETTINGS.items())]
    if kind == K.SETTING_VALUE and args and args[0] in reg.SETTINGS:
        return [(v, "") for v in reg.SETTINGS[args[0]].choices]
    if kind == K.PROPOSER:
        return [(p, "proposer") for p in view.proposers]
    if kind == K.LESSON:
        return [(name, "lesson") for name in view.lessons]
    return []


class ShellCompleter(Completer):
    """prompt_toolkit adapter: builds the View from the session, then calls complete()."""

    def __init__(self, view: Callable[[], View]) -> None:
        self.view = view

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        return complete(document, self.view())


def view_of(sh: Context) -> View:
    s = sh.session
    metas = {}
    for i, raw in sorted(sh.client.urls.items()):
        url = redacted(raw)
        st = s.statuses.get(i)
        if st is None:
            metas[i] = f"{url} · unknown"
            continue
        pair = f", accepted {st.accepted_id}: {show_value(st.accepted_value)}" if st.accepted_id >= 0 else ""
        metas[i] = f"{url} · {st.kind} · promised {st.promised_id}{pair}"
    p = s.proposer
    required = None
    if p.current_id is not None:
        ch = choose_value([x for x in p.promise_list() if x.promised_id == p.current_id], None)
        required = ch.value if ch.forced_by else None
    return View(metas, p.current_id, s.next_id(), list(s.values_seen), required,
                list(s.proposers), sh.lesson_names())
