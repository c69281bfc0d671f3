"""Long messages split at line ends, embeds fit Discord's limits, the port is implemented."""

from __future__ import annotations

import inspect

from bot.discord.chat import DiscordChat, split_message, to_discord_embed
from bot.services.ports import ChatEmbed, ChatPort


def test_short_content_is_one_message() -> None:
    assert split_message("hello\nworld") == ["hello\nworld"]


def test_splits_on_line_boundaries_within_the_limit() -> None:
    lines = [f"{number:02} " + "x" * 96 for number in range(45)]  # 45 lines of 99 + newline
    content = "\n".join(lines)
    assert len(content) == 4499
    parts = split_message(content)
    assert len(parts) == 3
    assert all(len(part) <= 2000 for part in parts)
    assert "\n".join(parts) == content  # nothing lost, nothing added
    assert all(part.split("\n")[0][:2].isdigit() for part in parts)  # whole lines only


def test_a_line_longer_than_a_message_is_cut_at_spaces() -> None:
    words = " ".join(["word"] * 1000)  # 4,999 characters on one line
    parts = split_message(words)
    assert all(len(part) <= 2000 for part in parts)
    assert " ".join(parts) == words
    assert all(not part.startswith(" ") and not part.endswith(" ") for part in parts)


def test_a_line_without_spaces_is_cut_hard() -> None:
    assert [len(part) for part in split_message("y" * 4500)] == [2000, 2000, 500]


def test_blank_content_gives_no_messages() -> None:
    assert split_message("") == []
    assert split_message("\n\n  \n") == []


def test_custom_limit() -> None:
    assert split_message("aa\nbb\ncc", limit=5) == ["aa\nbb", "cc"]


def test_embed_parts_are_cut_to_their_limits() -> None:
    embed = to_discord_embed(
        ChatEmbed(
            title="t" * 300,
            description="d" * 5000,
            fields=tuple((f"name {n}", "v" * 2000) for n in range(30)),
            footer="f" * 3000,
            url="https://example.org/lesson",
            colour=0x3B82F6,
        )
    )
    assert len(embed.title or "") == 256 and (embed.title or "").endswith("…")
    assert len(embed.fields) <= 25
    assert all(len(field.value or "") <= 1024 for field in embed.fields)
    assert len(embed.footer.text or "") <= 2048
    assert len(embed) <= 6000  # discord.py counts title, description, fields and footer
    assert embed.url == "https://example.org/lesson"


def test_small_embed_is_kept_whole() -> None:
    embed = to_discord_embed(
        ChatEmbed(title="Lesson", description="About data", fields=(("Program", ""),))
    )
    assert embed.title == "Lesson" and embed.description == "About data"
    assert embed.fields[0].name == "Program" and embed.fields[0].value == "\u200b"
    assert embed.footer.text is None


def test_discord_chat_implements_every_port_method_with_its_signature() -> None:
    port_methods = {
        name
        for name, value in vars(ChatPort).items()
        if inspect.iscoroutinefunction(value) and not name.startswith("_")
    }
    assert port_methods == {
        "post_message",
        "edit_message",
        "replace_messages",
        "delete_message",
        "create_forum_post",
        "create_thread",
        "send_dm",
        "dm_channel_id",
        "add_reaction",
        "ensure_forum",
        "edit_thread",
        "list_forum_threads",
        "fetch_message",
        "recent_messages",
    }
    assert isinstance(DiscordChat.user_id, property)
    for name in port_methods:
        expected = inspect.signature(getattr(ChatPort, name))
        assert inspect.signature(getattr(DiscordChat, name)) == expected, name
