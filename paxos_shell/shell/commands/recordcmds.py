"""Handouts: record (a Markdown transcript of the session) and save (a replayable lesson)."""

from __future__ import annotations

from paxos_shell.core.text import counted, show_value
from paxos_shell.core.urls import scrub
from paxos_shell.shell.context import Context
from paxos_shell.shell.registry import ArgKind, Args, Group, UsageError, command, quote
from paxos_shell.shell.results import Result, Text
from paxos_shell.shell.transcript import Transcript

K = ArgKind


@command(
    "record", "record FILE | record off",
    "write every command and its output to a Markdown file, for a handout",
    "From now on each command goes into FILE as a fenced block with its output, and each trace "
    "also as a Mermaid diagram that renders in Markdown viewers. 'record off' closes the file. "
    "FILE '-' writes to standard output.",
    "record class-1.md",
    positional=(K.PATH,), group=Group.TEACH, saved=False,
)
def cmd_record(ctx: Context, args: Args) -> Result:
    if len(args.positional) != 1:
        raise UsageError("record: expected FILE or 'off', e.g. 'record class-1.md'")
    target = args.positional[0]
    if ctx.transcript is not None:
        previous = ctx.transcript.path
        ctx.transcript.close()
        ctx.transcript = None
        if target == "off":
            return Result("record", data={"file": previous, "recording": False}).say(
                f"Stopped recording to {previous}.")
    elif target == "off":
        raise UsageError("record: not recording")
    try:
        ctx.transcript = Transcript(target, "A paxos-shell session", ctx.out.secrets)
    except OSError as e:
        raise UsageError(f"cannot write {target}: {e.strerror}") from None
    return Result("record", data={"file": target, "recording": True}).say(
        f"Recording every command and its output to {target} ('record off' stops).")


def saved_script(ctx: Context) -> str:
    """The session as a lesson script: reset, every command that ran, and the outcome to expect."""
    chosen = sorted({str(c.value) for c in ctx.session.chosen()})
    if not chosen:
        expect, outcome = "expect nothing-chosen", "nothing is chosen"
    elif len(chosen) == 1:
        expect, outcome = f"expect chosen {quote(chosen[0])}", f"{show_value(chosen[0])} is chosen"
    else:
        expect, outcome = "expect two-chosen", "two values are chosen (a safety violation)"
    lines = ["# title: A saved session", "# goal: replay a session from the shell",
             f"# expect: {outcome}", "#"]
    commands = list(ctx.executed)
    if not commands or commands[0].split()[0] != "reset":
        lines += ["# A fresh pool, as the session had when it started.", "reset"]
    return "\n".join(lines + commands + ["# The outcome the session reached.", expect]) + "\n"


@command(
    "save", "save FILE",
    "write the session's commands as a lesson script that replays to the same outcome",
    "Writes every command that ran and touched the pool (prepare, accept, propose, duel, state, "
    "down, up, faults...) as a script that starts from a reset pool and ends with an 'expect' "
    "line for the outcome reached. Run it again with 'paxos-shell FILE'. Random choices are saved "
    "made explicit (the acceptors a --contact-count propose picked, a duel's seed). '-' prints it.",
    "save my-lesson.txt",
    positional=(K.PATH,), group=Group.TEACH, saved=False,
)
def cmd_save(ctx: Context, args: Args) -> Result:
    if len(args.positional) != 1:
        raise UsageError("save: expected FILE, e.g. 'save my-lesson.txt'")
    path = args.positional[0]
    script = scrub(saved_script(ctx), ctx.out.secrets)  # a file to share: no secret in it
    out = Result("save", data={"file": path, "script": script})
    if path == "-":
        out.blocks.append(Text(script.rstrip("\n"), wrap=False))
        return out
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None
    return out.say(f"Saved {counted(len(ctx.executed), 'command')} to {path}; 'paxos-shell {path}' replays them.")
