"""Which questions point at a lesson's change: quotes, headings, distinctive words."""

from __future__ import annotations

import pytest

from bot.domain.change_match import changes_between, match_question, tokens

EN_BEFORE = """---
title: Pipes
---
# Pipes

## Reading the output

The shell prints what a command writes to standard output on the terminal.
Every command has one.

## Joining commands

A pipe connects the standard output of one command to the standard input of the next.
The vertical bar character builds the pipe between commands.

## Filtering with grep

Grep keeps only the lines that match a regular expression pattern.
Case sensitivity changes with the -i flag.
"""
EN_AFTER = EN_BEFORE.replace(
    "A pipe connects the standard output of one command to the standard input of the next.",
    "A pipe streams the standard output of one command into the standard input of the next,"
    " buffering at most 64 kilobytes.",
)


def match(question: str, before: str = EN_BEFORE, after: str = EN_AFTER) -> object:
    return match_question(question, changes_between(before, after), after)


def test_the_change_is_found_with_its_heading_and_both_sides() -> None:
    (change,) = changes_between(EN_BEFORE, EN_AFTER)
    assert change.heading == "Joining commands"
    assert "connects" in change.removed and "buffering" in change.added
    before, after = change.summary()
    assert before.startswith("A pipe connects") and after.endswith("at most 64 kilobytes.")


def test_a_summary_shows_the_words_that_differ_with_a_little_context() -> None:
    sentence = "one two three four five six seven eight nine ten eleven twelve thirteen"
    edited = sentence.replace("seven", "SEVEN")
    (change,) = changes_between(f"# T\n\n{sentence}\n", f"# T\n\n{edited}\n")
    assert change.summary() == (
        "… three four five six seven eight nine ten eleven …",
        "… three four five six SEVEN eight nine ten eleven …",
    )


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ('What does "connects the standard output of one command" mean?', "quote"),
        ("Can someone explain the joining commands section?", "heading"),
        ("How much does a pipe buffer in kilobytes between commands?", "words"),
    ],
)
def test_english_questions_about_the_change_match_with_their_reason(
    question: str, reason: str
) -> None:
    found = match(question)
    assert found is not None
    evidence = found.reasons()  # type: ignore[attr-defined]
    if reason == "quote":
        assert "connects the standard output" in evidence["quote"]
    elif reason == "heading":
        assert evidence["heading"] == "Joining commands"
    else:
        assert "kilobyt" in evidence["words"]
        assert evidence["quote"] == "" and evidence["heading"] == ""


@pytest.mark.parametrize(
    "question",
    [
        "thanks!",
        "great lesson",
        "Thank you so much, this was really helpful!",
        # About another part of the same lesson.
        "Why does grep keep only lines matching the regular expression pattern?",
        "How do I make case sensitivity go away with the -i flag?",
        "What does the terminal show when a command writes to standard output?",
    ],
)
def test_chatter_and_questions_about_other_parts_do_not_match(question: str) -> None:
    assert match(question) is None


AR_BEFORE = """# الأنابيب

## ربط الأوامر

يربط الأنبوب المخرجات القياسية لأمر بالمدخلات القياسية للأمر التالي في الطرفية.

## التصفية

يحتفظ الأمر بالأسطر التي تطابق النمط المحدد فقط ويتجاهل الباقي.
"""
AR_AFTER = AR_BEFORE.replace(
    "يربط الأنبوب المخرجات القياسية لأمر بالمدخلات القياسية للأمر التالي في الطرفية.",
    "ينقل الأنبوب المخرجات القياسية لأمر إلى المدخلات القياسية للأمر التالي مع ذاكرة مؤقتة.",
)


def test_arabic_questions_match_by_words_and_not_for_other_parts() -> None:
    about = "لماذا ينقل الأنبوب المخرجات القياسية إلى المدخلات مع ذاكرة مؤقتة؟"
    found = match(about, AR_BEFORE, AR_AFTER)
    assert found is not None
    assert "مؤقتة" in found.reasons()["words"]  # type: ignore[attr-defined]
    assert match("كيف يحتفظ الأمر بالأسطر التي تطابق النمط؟", AR_BEFORE, AR_AFTER) is None
    assert match("شكرا جزيلا!", AR_BEFORE, AR_AFTER) is None


ZH_BEFORE = """# 管道

## 连接命令

管道把一个命令的标准输出连接到下一个命令的标准输入。

## 过滤

过滤命令只保留与正则表达式匹配的行。
"""
ZH_AFTER = ZH_BEFORE.replace(
    "管道把一个命令的标准输出连接到下一个命令的标准输入。",
    "管道把一个命令的标准输出缓冲后传送到下一个命令的标准输入。",
)


def test_chinese_questions_match_by_bigrams_and_quotes() -> None:
    assert match("“标准输出缓冲后传送”是什么意思？", ZH_BEFORE, ZH_AFTER) is not None  # noqa: RUF001
    assert match("管道的缓冲后传送到标准输入是怎么做到的？", ZH_BEFORE, ZH_AFTER) is not None  # noqa: RUF001
    assert match("正则表达式匹配的行是怎么保留的？", ZH_BEFORE, ZH_AFTER) is None  # noqa: RUF001
    assert match("谢谢，讲得很好！", ZH_BEFORE, ZH_AFTER) is None  # noqa: RUF001


def test_words_are_normalised_stemmed_and_cjk_split_into_bigrams() -> None:
    assert tokens("The Pipes are BUFFERING") == ["pipe", "buffer"]
    assert tokens("标准输出") == ["标准", "准输", "输出"]
    assert tokens("what does it mean?") == []


def test_an_unchanged_file_has_no_change_and_front_matter_is_left_out() -> None:
    assert changes_between(EN_BEFORE, EN_BEFORE) == []
    retitled = EN_BEFORE.replace("title: Pipes", "title: Pipes and filters")
    assert changes_between(EN_BEFORE, retitled) == []
