"""An audit's findings as people and machines read them: the table, JSON, JUnit XML, SVG files.

The table fits the terminal (rule, verdict, one line why) and with `verbose`
draws each failure's evidence as a sequence diagram (evidence.py); JSON follows
the schema the issue fixes (url, verdict, rules: rule, kind, verdict, why,
evidence); JUnit has one testcase per rule, built with xml.etree. Every string
an acceptor sent is made visible (core/text.py) before it is written anywhere.
Returns text; the caller writes it. Judges nothing.
"""

from __future__ import annotations

import os
import textwrap
import xml.etree.ElementTree as ET
from typing import Any, Optional, Sequence

from paxos_shell.audit.auditor import SkipReason, Verdict
from paxos_shell.audit.battery import AuditReport, Finding
from paxos_shell.audit.evidence import as_svg, as_text
from paxos_shell.core.text import json_dumps, visible

MARKS = {Verdict.PASS: "pass", Verdict.FAIL: "FAIL", Verdict.SKIPPED: "skipped"}
ENABLE_DURABILITY = "the durability rules need --restart CMD (a command that restarts the acceptor on its data)"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def table(report: AuditReport, width: int, verbose: bool = False) -> str:
    """The report for a terminal: a header, one row per rule, the facts, and the evidence if asked."""
    lines = [f"paxos-audit {visible(report.url)}  (seed {report.seed}; rerun with --seed {report.seed})"]
    if report.forced:
        lines.append(f"  {report.forced}")
    rule_w = max(len(f.rule.name) for f in report.findings) if report.findings else 4
    for f in report.findings:
        lead = f"  {f.rule.name:<{rule_w}}  {MARKS[f.verdict]:<7}  "
        lines.append(lead + _cut(visible(f.why), max(20, width - len(lead))))
    lines.extend(f"  fact: {fact}" for fact in report.facts)
    if any(f.skipped == SkipReason.NEEDS_RESTART for f in report.findings):
        lines.append(f"  note: {ENABLE_DURABILITY}")
    counts = {v: sum(f.verdict == v for f in report.findings) for v in Verdict}
    lines.append(f"{report.verdict.value.upper()}: {counts[Verdict.PASS]} passed, {counts[Verdict.FAIL]} failed, "
                 f"{counts[Verdict.SKIPPED]} skipped")
    if verbose:
        for f in report.findings:
            if f.verdict == Verdict.FAIL:
                lines.extend(_evidence(f, width))
    return "\n".join(_cut(line, width) for line in lines) + "\n"


def _evidence(f: Finding, width: int) -> list[str]:
    out = ["", *textwrap.wrap(f"{f.rule.name}: {visible(f.why)}", width)]
    out.extend(f"  {x.said()}"[:width] for x in f.evidence)
    out.extend(as_text(f.evidence, f.window, width))
    return out


def record(report: AuditReport) -> dict[str, Any]:
    """One acceptor's report as the JSON schema says: url, verdict, rules."""
    return {"url": report.url, "verdict": report.verdict.value, "rules": [
        {"rule": f.rule.name, "kind": f.rule.kind.value, "verdict": f.verdict.value, "why": visible(f.why),
         "evidence": [x.record() for x in f.evidence]} for f in report.findings]}


def as_json(reports: Sequence[AuditReport], several: bool) -> str:
    """One object when one acceptor was named, an array when `several` were (whichever answered)."""
    data: Any = [record(r) for r in reports] if several else record(reports[0])
    return json_dumps(data) + "\n"


def junit(reports: Sequence[AuditReport]) -> bytes:
    """JUnit XML: a testsuite per acceptor, a testcase per rule (failure text: why, then evidence)."""
    root = ET.Element("testsuites", name="paxos-audit")
    for r in reports:
        suite = ET.SubElement(root, "testsuite", name=visible(r.url), tests=str(len(r.findings)),
                              failures=str(sum(f.verdict == Verdict.FAIL for f in r.findings)),
                              skipped=str(sum(f.verdict == Verdict.SKIPPED for f in r.findings)), errors="0")
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="seed", value=str(r.seed))
        if r.forced:
            ET.SubElement(props, "property", name="forced", value=r.forced)
        for f in r.findings:
            case = ET.SubElement(suite, "testcase", classname=f"paxos-audit.{f.rule.kind.value}", name=f.rule.name)
            if f.verdict == Verdict.FAIL:
                fail = ET.SubElement(case, "failure", message=visible(f.why))
                fail.text = "\n".join([visible(f.why), *(x.said() for x in f.evidence)])
            elif f.verdict == Verdict.SKIPPED:
                ET.SubElement(case, "skipped", message=visible(f.why))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def unwritable(path: str, directory: bool = False) -> Optional[str]:
    """Why `path` (a file, or a directory made if missing) could not be written after the audit, or
    None: asked before an audit, which changes the acceptor, so that its findings are not lost."""
    if os.path.isdir(path) != directory and os.path.exists(path):
        return f"{visible(path)} is {'not ' if directory else ''}a directory"
    parent = os.path.dirname(os.path.abspath(path))
    while directory and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"{visible(parent)} is not a directory"
    if not os.access(path if os.path.exists(path) else parent, os.W_OK):
        return f"{visible(path)}: permission denied"
    return None


def write_svgs(reports: Sequence[AuditReport], directory: str) -> list[str]:
    """One SVG per failing rule (per acceptor when several) in `directory`; the paths written."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for k, r in enumerate(reports, 1):
        for f in r.findings:
            if f.verdict != Verdict.FAIL:
                continue
            name = f"{f.rule.name}.svg" if len(reports) == 1 else f"{k}-{f.rule.name}.svg"
            path = os.path.join(directory, name)
            with open(path, "w", encoding="utf-8") as out:
                out.write(as_svg(f.rule.name, f.evidence, f.window))
            written.append(path)
    return written
