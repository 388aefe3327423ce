"""Stepping through a lesson the way a teacher steers a class.

At each step the teacher sees the notes and the command; Enter runs it, `b`
goes back a step (the pool is reset and the steps before it are replayed
quietly, so the pool is exactly where it was), `s` skips it, `q` ends the
lesson, and anything else is a shell command run there and then without
moving on (`state`, `trace`, `explain`...). Outside the REPL a lesson runs
straight through. Teach mode is on while a lesson runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from paxos_shell.shell.context import Context, LessonStep
from paxos_shell.shell.lessons import Lesson
from paxos_shell.shell.results import Style, Text

NEXT, BACK, SKIP, QUIT = "", ("b", "back"), ("s", "skip"), ("q", "quit", "stop")
HELP = "Enter runs it, b back, s skip, q quit, or type a command"


@dataclass(frozen=True)
class Outcome:
    stopped: bool
    """The teacher quit before the last step (q): the lesson's expectations are not judged."""


class Runner:
    def __init__(self, ctx: Context, lesson: Lesson) -> None:
        self.ctx = ctx
        self.lesson = lesson

    def run(self) -> Outcome:
        was_teaching, self.ctx.teach = self.ctx.teach, True
        self.ctx.expectations = []
        try:
            return self._loop()
        finally:
            self.ctx.teach = was_teaching
            self.ctx.lesson_step = None

    def _loop(self) -> Outcome:
        steps = self.lesson.steps
        k = 0
        while k < len(steps):
            self._notes(k)
            answer = self._ask(k)
            if answer == NEXT:
                self._step(k)
                k += 1
            elif answer in SKIP:
                self.ctx.show([Text(f"Skipped step {k + 1}.", Style.DIM)])
                k += 1
            elif answer in BACK:
                k = self._back(k)
            elif answer in QUIT:
                return Outcome(True)
            else:
                self.ctx.run_step(answer)  # a look around between steps; the lesson stays put
        return Outcome(False)

    def _ask(self, k: int) -> str:
        if self.ctx.pause is None:
            return NEXT
        return self.ctx.pause(f"[{k + 1}/{len(self.lesson.steps)}] {self.lesson.steps[k].command}").strip()

    def _notes(self, k: int) -> None:
        blocks = [Text("")] + [Text(f"# {n}", Style.DIM, hang=2) for n in self.lesson.steps[k].notes]
        self.ctx.show(blocks)

    def _step(self, k: int) -> None:
        step = self.lesson.steps[k]
        self.ctx.show([Text(f"> {step.command}", Style.WARN)])
        self.ctx.lesson_step = LessonStep(self.lesson.name, self.lesson.title, k + 1, len(self.lesson.steps),
                                          step.command, tuple(step.notes))  # for listeners: the live view
        self.ctx.run_step(step.command)

    def _back(self, k: int) -> int:
        """Rebuild the pool as it was before step k - 1: reset, replay steps 1..k-2 quietly."""
        if k == 0:
            self.ctx.show([Text("Already at the first step.", Style.DIM)])
            return 0
        target = k - 1
        with self.ctx.out.quiet():
            self.ctx.run_step("reset")
            self.ctx.new_session()
            self.ctx.expectations = []
            for step in self.lesson.steps[:target]:
                self.ctx.run_step(step.command)
        replayed = {0: "nothing replayed", 1: "step 1 replayed"}.get(target, f"steps 1 to {target} replayed")
        self.ctx.show([Text(f"Back to step {target + 1}: the pool was reset, {replayed}.", Style.DIM)])
        return target
