"""Small factories around one PromptSession builder: history, toolbar, completer."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import HTML, FormattedText, StyleAndTextTuples
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.layout.processors import Processor, Transformation, TransformationInput
from prompt_toolkit.layout.utils import explode_text_fragments

from paxos_shell.core.text import visible, wrap
from paxos_shell.core.urls import scrub
from paxos_shell.engine.session import AcceptorStatus
from paxos_shell.runtime import signals
from paxos_shell.runtime.dirs import state_dir
from paxos_shell.shell.completer import ShellCompleter, view_of
from paxos_shell.shell.registry import ALIASES, REGISTRY, Command, names
from paxos_shell.shell.runner import HELP as STEP_HELP

if TYPE_CHECKING:
    from paxos_shell.shell.context import Context, Pause

STATUS_STYLE = {
    AcceptorStatus.UP: "ansigreen",
    AcceptorStatus.DOWN: "ansired",
    AcceptorStatus.TIMEOUT: "ansiyellow",
    AcceptorStatus.ERROR: "ansired",
}


class ScrubbedHistory(FileHistory):
    """A history file that never holds a secret the shell sends (a token pasted into a value)."""

    def __init__(self, path: str, secrets: tuple[str, ...]) -> None:
        super().__init__(path)
        self.secrets = secrets

    def store_string(self, string: str) -> None:
        super().store_string(scrub(string, self.secrets))


def make_history(secrets: tuple[str, ...] = ()) -> History:
    """History in the XDG state directory, private to the user (mode 0600), secrets masked."""
    directory = state_dir()
    path = os.path.join(directory, "history")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)
    except OSError:
        return InMemoryHistory()
    return ScrubbedHistory(path, secrets)


def toolbar_text(sh: Context, typed: str) -> FormattedText:
    """Each acceptor's last known status, the quorum, and the syntax being typed."""
    parts: list[tuple[str, str]] = []
    for i in sorted(sh.client.urls):
        st = sh.session.statuses.get(i)
        kind = st.kind if st else AcceptorStatus.UNKNOWN
        parts.append((f"bg:ansiblack fg:{STATUS_STYLE.get(kind, 'ansigray')}", f" {status_word(sh, i)} "))
    if sh.client.insecure:
        parts.append(("bold fg:ansired", " INSECURE "))
    parts.append(("", f"  quorum {sh.session.quorum}  "))
    outlook = sh.session.outlook()
    broken = outlook.violations
    parts.append(("bold fg:ansired" if broken else "bold", f"{visible(outlook.headline())}  "))
    cmd = typed_command(typed)
    if cmd is not None:
        parts.append(("bold", cmd.syntax))
    return FormattedText(parts)


def status_word(sh: Context, i: int) -> str:
    """`2:up`, `3:down`, `1:up·volatile`, `2:timeout·faults`: what the shell knows of acceptor i."""
    st = sh.session.statuses.get(i)
    word = f"{i}:{st.kind if st else AcceptorStatus.UNKNOWN}"
    if st is not None and st.volatile:
        word += "·volatile"
    if i in sh.session.faults:
        word += "·faults"
    return word


def typed_command(typed: str) -> Optional[Command]:
    """The command on the line: its full name, an alias, or the one name a prefix fits."""
    words = typed.split()
    if not words:
        return None
    word = ALIASES.get(words[0], words[0])
    if word in REGISTRY:
        return REGISTRY[word]
    fits = {ALIASES.get(n, n) for n in names() if n.startswith(word)} if len(words) == 1 else set()
    return REGISTRY[fits.pop()] if len(fits) == 1 else None


def build_prompt_session(sh: Context) -> PromptSession:
    def toolbar() -> FormattedText:
        from prompt_toolkit.application.current import get_app

        with sh.session.guard:  # the watch may be recording a foreign round
            return toolbar_text(sh, get_app().current_buffer.text)

    return PromptSession(
        history=make_history(sh.out.secrets),
        completer=ShellCompleter(lambda: view_of(sh)),
        complete_while_typing=True,
        # Greyed suggestions look typed when there is no colour (NO_COLOR): then there are none.
        auto_suggest=AutoSuggestFromHistory() if sh.out.colour else None,
        enable_history_search=False,
        bottom_toolbar=toolbar,
        mouse_support=False,
        input_processors=[ShowEscaped()],
        placeholder=HTML("<ansigray>try: prepare, accept, propose VALUE, state, help</ansigray>"),
    )


def make_pause(sh: Context) -> Pause:
    """At a lesson step: what the teacher typed (Enter is ""; Ctrl-C or Ctrl-D stop the lesson).
    Commands typed there complete like at the main prompt."""
    session: PromptSession = PromptSession(completer=ShellCompleter(lambda: view_of(sh)),
                                           complete_while_typing=True, input_processors=[ShowEscaped()])

    def pause(step: str, keys: str = STEP_HELP) -> str:
        try:
            with sh.session.guard.released():  # the teacher may think a while: the watch goes on recording
                answer = session.prompt(step_prompt(step, sh.out.width, keys))
        except (KeyboardInterrupt, EOFError):
            return "q"
        signals.check()  # a signal while this prompt was ending: leave, not run the step
        return answer

    return pause


def step_prompt(step: str, width: int, keys: str = STEP_HELP) -> FormattedText:
    """`next: [2/5] prepare 1 2 3 [Enter runs it, ...]` wrapped at spaces to the screen, as the
    renderer wraps prose (prompt_toolkit would cut it anywhere, mid-word); the answer is typed
    after the last line."""
    lines = wrap(f"next: {visible(step)} [{keys}]", width - 1)
    head, rest = lines[0][:5], "\n".join(lines)[5:]
    return FormattedText([("bold", head), ("", rest + " ")])


class ShowEscaped(Processor):
    """The line being typed as the terminal may show it: a value completed or pasted with a
    U+202E or an ESC in it appears as `\\u202e`, `\\x1b` (text.visible), the cursor kept on the
    character it stands on. The buffer itself holds what was typed."""

    def apply_transformation(self, ti: TransformationInput) -> Transformation:
        if all(text.isprintable() for _, text, *_ in ti.fragments):
            return Transformation(ti.fragments)
        out: StyleAndTextTuples = []
        starts = [0]  # display column of each source character, and of the end
        for style, ch, *_ in explode_text_fragments(ti.fragments):
            shown = visible(ch)
            out.append((style, shown))
            starts.append(starts[-1] + len(shown))

        def to_display(i: int) -> int:
            return starts[min(i, len(starts) - 1)]

        def to_source(d: int) -> int:
            return max(k for k, at in enumerate(starts) if at <= d)

        return Transformation(out, to_display, to_source)
