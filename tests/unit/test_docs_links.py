"""Every relative link of README.md and docs/ leads to a file that exists, and to a heading that exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
# [text](target), the target without spaces; an image's ![alt](target) too.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def links(path: Path) -> List[str]:
    """The link targets of a Markdown file, outside code blocks and code spans."""
    text = CODE.sub("", FENCE.sub("", path.read_text()))
    return LINK.findall(text)


def anchors(path: Path) -> Set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens."""
    found = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            title = match.group(1).replace("`", "").lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def relative_links() -> List[Tuple[Path, str]]:
    return [(path, target) for path in DOCUMENTS for target in links(path)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]


def test_the_documents_have_links() -> None:
    architecture = ROOT / "docs" / "architecture.md"
    assert architecture in DOCUMENTS
    assert len(relative_links()) > 20


@pytest.mark.parametrize("path, target", relative_links(),
                         ids=["%s->%s" % (path.relative_to(ROOT), target) for path, target in relative_links()])
def test_each_relative_link_leads_to_a_file_and_heading(path: Path, target: str) -> None:
    file_part, _hash, anchor = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    assert destination.exists(), "%s links to %s, which does not exist" % (path.relative_to(ROOT), target)
    if anchor and destination.suffix == ".md":
        where = (path.relative_to(ROOT), target, destination.relative_to(ROOT), anchor)
        assert anchor in anchors(destination), "%s links to %s: no heading of %s has the anchor #%s" % where
