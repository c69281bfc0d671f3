"""The `lessonbot` command: listing, checking, database upgrade, usage errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.store.migrate import head_revision
from tests.conftest import FIXTURES, PROJECT

DEFECTS = FIXTURES / "defects"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each command in an empty folder with no lessonbot settings in the environment."""
    for name in list(os.environ):
        if name.startswith("LESSONBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_list_json_has_one_record_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "list", "--content", str(FIXTURES / "content"), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 4
    assert records[0] == {
        "program": "demo",
        "slug": "pipes",
        "locale": "ar",
        "title": "اختبارات بالفواصل",
        "path": "programs/demo/lessons/ar/pipes.mdx",
        "order": 1,
        "published": True,
        "problems": [],
    }
    assert {record["published"] for record in records} == {True, False}


def test_list_text_shows_identity_locale_and_title(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "list", "--content", str(FIXTURES / "content")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[3].split() == ["demo/arrays", "en", "Quizzes", "With", "Arrays"]


def test_content_defaults_to_the_configured_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(FIXTURES / "content", tmp_path / "lessons")
    assert main(["lessons", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    (tmp_path / "site.toml").write_text('[content]\ndir = "elsewhere"\n')
    assert main(["--config", "site.toml", "lessons", "list"]) == 2
    assert "elsewhere" in capsys.readouterr().err


def test_missing_directory_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["lessons", "check", "--content", "does-not-exist"]) == 2
    err = capsys.readouterr().err
    assert err == "lessonbot: Content directory not found: does-not-exist\n"


@pytest.mark.parametrize(
    "argv",
    [["frobnicate"], ["lessons"], ["lessons", "list", "--bogus"], ["db"], []],
)
def test_usage_errors_exit_2_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert "usage: lessonbot" in capsys.readouterr().err


def test_bad_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "lessonbot.toml").write_text("[web]\nport = 'x'\n")
    assert main(["lessons", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "web.port" in err


def test_check_clean_content_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "check", "--content", str(PROJECT / "lessons")]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no problems found" in captured.err


def test_check_reports_injected_defects_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT / "lessons", content)
    english = content / "programs" / "data-basics" / "lessons" / "en"
    for name in ("invalid-yaml.mdx", "unclosed-component.mdx", "quiz-pipe-out-of-range.mdx"):
        shutil.copyfile(DEFECTS / name, english / name)
    assert main(["lessons", "check", "--content", str(content)]) == 1
    captured = capsys.readouterr()
    prefix = f"{content.as_posix()}/programs/data-basics/lessons/en/"
    assert captured.out.splitlines() == [
        f"{prefix}invalid-yaml.mdx:2: The front matter is not valid YAML: "
        "found unexpected end of stream",
        f"{prefix}quiz-pipe-out-of-range.mdx:6: <Quiz> answer is 3, but its 3 options are "
        "numbered 0 to 2.",
        f"{prefix}unclosed-component.mdx:8: <FunFact> is never closed: add </FunFact>.",
    ]
    assert "Found 3 problems" in captured.err


def test_check_speaks_the_configured_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content" / "programs" / "p" / "lessons" / "en"
    content.mkdir(parents=True)
    shutil.copyfile(DEFECTS / "quiz-no-answer.mdx", content / "q.mdx")
    monkeypatch.setenv("LESSONBOT_LOCALE", "es")
    assert main(["lessons", "check", "--content", str(tmp_path / "content")]) == 1
    assert "<Quiz> no tiene respuesta" in capsys.readouterr().out


def test_check_github_format_emits_annotations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "programs" / "p" / "lessons" / "en"
    content.mkdir(parents=True)
    shutil.copyfile(DEFECTS / "quiz-no-answer.mdx", content / "q.mdx")
    assert main(["lessons", "check", "--content", str(tmp_path), "--format", "github"]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(
        f"::error file={tmp_path.as_posix()}/programs/p/lessons/en/q.mdx,line=6::"
    )


def _unlinkable(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(FIXTURES / "unlinkable", content)
    english = content / "programs" / "good" / "lessons" / "en"
    shutil.copyfile(english / "fine.mdx", english / "bell\x07.mdx")
    return content


def test_list_reports_unlinkable_files_as_check_does_and_still_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = _unlinkable(tmp_path)
    assert main(["lessons", "check", "--content", str(content)]) == 1
    checked = capsys.readouterr().out.splitlines()
    assert main(["lessons", "list", "--content", str(content), "--json"]) == 0
    captured = capsys.readouterr()
    # The same lines as check, but for the quiz in a body, which does not stop linking.
    assert captured.err.splitlines() == [line for line in checked if "<Quiz>" not in line]
    assert len(checked) == 9
    english = f"{content.as_posix()}/programs/good/lessons/en/"
    assert (
        f"{english}bell\\x07.mdx:1: The slug 'bell\\u0007' (the file name) cannot identify a "
        "lesson: it contains U+0007 ALERT. Rename the file." in checked
    )
    assert (
        f"{english}no\u00a0break.mdx:1: The slug 'no\\u00a0break' (the file name) cannot "
        "identify a lesson: it contains U+00A0 NO-BREAK SPACE. Rename the file." in checked
    )
    records = json.loads(captured.out)
    assert len(records) == 11  # the duplicate twice.mdx too
    problems = {r["path"]: [(p["line"], p["code"]) for p in r["problems"]] for r in records}
    assert {path: found for path, found in problems.items() if found} == {
        "programs/good/lessons/en/bell\x07.mdx": [(1, "slug_invalid")],
        "programs/good/lessons/en/blank-title.mdx": [(3, "key_empty")],
        "programs/good/lessons/en/broken-yaml.mdx": [(2, "front_matter_invalid")],
        "programs/good/lessons/en/no-title.mdx": [(1, "key_missing")],
        "programs/good/lessons/en/no\u00a0break.mdx": [(1, "slug_invalid")],
        "programs/good/lessons/en/twice.mdx": [(1, "duplicate_file")],
        "programs/good/lessons/en/with space.mdx": [(1, "slug_invalid")],
        "programs/my program/lessons/en/intro.mdx": [(1, "program_invalid")],
    }
    no_title = next(r for r in records if r["slug"] == "no-title")
    assert no_title["problems"][0]["message"] == (
        "The front matter is missing the required key 'title'."
    )


def test_list_text_marks_unlinkable_files_in_the_configured_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    content = _unlinkable(tmp_path)
    monkeypatch.setenv("LESSONBOT_LOCALE", "fr")
    assert main(["lessons", "list", "--content", str(content)]) == 0
    captured = capsys.readouterr()
    marked = [
        line.partition("  ")[0].rstrip()
        for line in captured.out.splitlines()
        if line.endswith("  [impossible à lier]")
    ]
    assert sorted(marked) == [
        "good/bell\\x07",  # escaped: a control character would reach the terminal
        "good/blank-title",
        "good/broken-yaml",
        "good/no-title",
        "good/no\u00a0break",
        "good/twice",
        "good/with space",
        "my program/intro",
    ]
    assert "\x07" not in captured.out + captured.err
    assert "Il manque la clé obligatoire 'title'" in captured.err


def test_check_github_format_escapes_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "programs" / "p,q" / "lessons" / "en"
    content.mkdir(parents=True)
    shutil.copyfile(DEFECTS / "quiz-no-answer.mdx", content / "q.mdx")
    assert main(["lessons", "check", "--content", str(tmp_path), "--format", "github"]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"::error file={tmp_path.as_posix()}/programs/p%2Cq/lessons/en/q.mdx,")


def test_db_upgrade_creates_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "state" / "bot.db"
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", f"sqlite:///{database}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0  # already at head: nothing to do, still fine
    assert database.is_file()
    assert f"latest schema ({head_revision()})" in capsys.readouterr().out


def test_db_upgrade_failure_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LESSONBOT_DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/none")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lessonbot: Cannot connect to the database at postgresql://nobody:***@")
    assert err.count("\n") == 1
    assert "hunter2" not in err


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    content = str(FIXTURES / "content")
    script = Path(sys.executable).with_name("lessonbot")
    for command in ([str(script)], [sys.executable, "-m", "bot"]):
        done = subprocess.run(
            [*command, "lessons", "list", "--content", content, "--json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)) == 4


def test_real_corpus_lists_all_files(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "list", "--content", str(corpus), "--json"]) == 0
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert len(records) == 553
    assert len({(r["program"], r["slug"]) for r in records}) == 153
    assert [r for r in records if r["problems"]] == [] and captured.err == ""


def test_sandbox_github_serves_the_content_repository(tmp_path: Path) -> None:
    import re
    import urllib.request

    script = Path(sys.executable).with_name("lessonbot")
    command = [
        str(script),
        "sandbox",
        "github",
        "--port",
        "0",
        "--content",
        str(FIXTURES / "content"),
        "--collaborator",
        "reviewer:triage",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first_line)
        assert match, first_line
        url = f"{match.group(1)}/repos/lessons/content"  # http on loopback, from the match
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310
            repository = json.load(reply)
        assert repository["full_name"] == "lessons/content"
        assert repository["default_branch"] == "main"
        with urllib.request.urlopen(f"{url}/collaborators/reviewer/permission") as reply:  # noqa: S310
            assert json.load(reply)["role_name"] == "triage"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sandbox_github_with_webhooks_needs_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    content = str(FIXTURES / "content")
    argv = ["sandbox", "github", "--content", content, "--webhook-url", "http://127.0.0.1:9/hook"]
    assert main(argv) == 2
    assert "--webhook-secret" in capsys.readouterr().err
