"""Every relative link in README.md and docs/*.md points at a file that exists, and every
``#anchor`` at a heading of that file, so a reader following the docs never lands nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) outside code; images too. Targets with a scheme (https:, mailto:) are not ours to check.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def _prose(path: Path) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))


def _anchors(path: Path) -> set[str]:
    """GitHub's slugs: lower case, punctuation dropped, spaces to hyphens, duplicates numbered."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    anchors.update(re.findall(r'<a (?:name|id)="([^"]+)"', path.read_text(encoding="utf-8")))
    return anchors


def _relative_links() -> list[tuple[Path, str]]:
    links = []
    for doc in DOCS:
        for target in LINK.findall(_prose(doc)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                links.append((doc, target))
    return links


def test_the_docs_have_relative_links_to_check() -> None:
    # Guards the pattern itself: a regex that matched nothing would make the test below vacuous.
    assert len(_relative_links()) > 20


@pytest.mark.parametrize(("doc", "target"), _relative_links(), ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_relative_link_resolves(doc: Path, target: str) -> None:
    path_part, _, anchor = target.partition("#")
    dest = (doc.parent / path_part).resolve() if path_part else doc
    where = f"{doc.relative_to(ROOT)} links to {target!r}"
    assert dest.exists(), f"{where}: {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} does not exist"
    if anchor and dest.suffix == ".md":
        assert anchor in _anchors(dest), f"{where}: no heading with anchor #{anchor} in {dest.name}"


def test_anchors_are_githubs_slugs(tmp_path: Path) -> None:
    doc = tmp_path / "d.md"
    doc.write_text(
        "# The lab's CA\n## `ailab eval` (runs)\n## Choice 1: the gateway\n## Choice 1: the gateway\n```\n# not a heading\n```\n",
        encoding="utf-8",
    )
    assert _anchors(doc) == {"the-labs-ca", "ailab-eval-runs", "choice-1-the-gateway", "choice-1-the-gateway-1"}
