"""Sequence diagrams of rounds: one model drawn as terminal text, Mermaid or SVG.

`trace`, `trace --svg`, the live view and the auditor's evidence all draw with these modules.
"""
