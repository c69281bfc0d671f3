"""`lessonbot sandbox --tour`: the whole story played against a fresh sandbox, narrated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import t
from bot.offline import holding_state_dir
from bot.offline.tour import STEPS
from tests.conftest import PROJECT

LESSONS = PROJECT / "lessons"


def tour(state_dir: Path) -> int:
    """Run `lessonbot sandbox --tour` over the sample lessons in `state_dir`."""
    return main(["sandbox", "--tour", "--content", str(LESSONS), "--state-dir", str(state_dir)])


def digest_subject(locale: str) -> str:
    """Return the subject of a digest with one open question and one waiting edit."""
    return t(
        locale,
        "digest.subject",
        questions=t(locale, "digest.open_count", count=1),
        edits=t(locale, "digest.waiting_count", count=1),
    )


def step_text(output: str, number: int) -> str:
    """Return what the tour printed for one step."""
    found = re.search(rf"^Step {number}/\d+: .*?(?=^Step |^The tour )", output, re.M | re.S)
    assert found is not None, output
    return found.group(0)


def test_the_tour_plays_every_step_and_shows_what_people_see(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", database_url)
    state = tmp_path / "state"
    # A world already there is wiped: the tour always starts afresh.
    (state / "sandbox" / "discord").mkdir(parents=True)
    (state / "sandbox" / "discord" / "world.json").write_text("{}", encoding="utf-8")

    assert tour(state) == 0

    printed = capsys.readouterr()
    output = printed.out
    assert "Traceback" not in output + printed.err
    assert f"Fresh start: removed the sandbox world in {state}" in output
    names = [step.name for step in STEPS]
    for number, name in enumerate(names, 1):
        assert f"Step {number}/{len(names)}: {name}" in output
    assert output.rstrip().endswith(f"all {len(names)} steps happened as narrated.")
    asked, answered, discord, web, review, taken, merged, pointed, note, digest = (
        step_text(output, number) for number in range(1, len(names) + 1)
    )
    assert (
        "✓ The bot counts open questions in data-basics: open in en: 1, open in es: 1, "
        "open in zh: 1" in asked
    )
    assert "✓ The bot now counts: answered in es: 1, open in en: 1, open in zh: 1" in answered
    # The Discord suggestion: the bot's answer, the PR's title and diff, the DM and the post.
    assert "/suggestions/1" in discord
    assert "✓ Pull request #7: “Suggest edit: What Is Data? (en)”" in discord
    assert "-Data is never perfectly neutral." in discord
    assert "+Data is never completely neutral." in discord
    assert "sam's DM from the bot: Your suggested edit to What Is Data? is now a pull" in discord
    assert "In the lesson's post: ✏️ sam suggested an edit" in discord
    # The web form's suggestion, and the email its sender gets.
    assert "/suggestions/2?locale=en&done=sent" in web
    assert "-**Structured data** fits neatly" in web and "(a table)" in web
    assert "✓ Zoé's email: “Your suggestion 2 for What Is Data?”" in web
    # The review's proposed text, told with a button, taken, committed.
    assert "```suggestion" in review and "Data is never fully neutral." in review
    assert "under it, a button: “Use the text for line" in review
    assert "The bot answers (only sam sees it): The reviewer's text will be added" in taken
    assert "+Data is never fully neutral." in taken
    assert "was merged. Thank you for improving the lesson!" in merged
    assert "🎉 The edit suggested by sam is now part of the lesson." in merged
    # Maya's question is about the merged sentence: she alone is told, and her ✅ resolves it.
    assert "the bot tells maya:" in pointed and "<@1003> " in pointed and "/pull/7" in pointed
    assert "Data is never fully neutral" in pointed
    assert "✓ The bot now counts: answered in es: 1, open in zh: 1, resolved in en: 1" in pointed
    for locale in ("es", "ar"):
        assert f"`programs/data-basics/lessons/{locale}/what-is-data.mdx`" in note
    assert "<!--" not in note  # the bot's hidden marker is not what a person reads
    assert "In #digests: “Open questions digest”" in digest
    assert "li's open question is listed:" in digest and "数据集里缺少的人会怎么样" in digest
    assert f"Email to maintainer-en@sandbox.test: “{digest_subject('en')}”" in digest
    assert f"Email to maintainer-ar@sandbox.test: “{digest_subject('ar')}”" in digest
    # The sandbox stopped: its folder is free for the next one.
    with holding_state_dir(state):
        pass


def test_a_step_that_does_not_happen_is_named_and_the_tour_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Broken by configuration: no replacement longer than 5 characters is taken, so the
    # Discord suggestion (step 3) is refused; what came before still happens.
    monkeypatch.setenv("LESSONBOT_SUGGESTIONS_MAX_REPLACE_CHARS", "5")
    state = tmp_path / "state"

    assert tour(state) == 1

    printed = capsys.readouterr()
    output = printed.out
    assert "Traceback" not in output + printed.err
    assert "Step 2/10" in output and "✓ The bot now counts: answered in es: 1" in output
    assert "Step 4/10" not in output
    assert (
        "The tour stopped: step 3 (A learner suggests an edit from Discord) did not happen."
        in output
    )
    failed = step_text(output, 3)
    assert "✗ expected: the suggest form to take sam's edit" in failed
    seen = re.search(r"^ +seen: +(.+)$", failed, re.M)
    assert seen is not None and "5" in seen.group(1), failed
    with holding_state_dir(state):
        pass
