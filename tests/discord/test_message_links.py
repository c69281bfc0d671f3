"""Message links as `/resolve` reads them: Discord's own and the sandbox viewer's."""

from __future__ import annotations

from bot.discord.cogs.questions import parse_message_link


def test_message_links_are_parsed() -> None:
    assert parse_message_link("https://discord.com/channels/1/22/333") == (22, 333)
    assert parse_message_link("<https://canary.discord.com/channels/1/22/333>") == (22, 333)
    assert parse_message_link(" 333 ") == (None, 333)
    assert parse_message_link("https://example.org/channels/1/2/3") is None
    assert parse_message_link("not a link") is None
    # The sandbox's viewer hands out links under `discord.web_url`: they are read too.
    viewer = "http://127.0.0.1:5005"
    assert parse_message_link(f"{viewer}/channels/1/22/333", viewer) == (22, 333)
    assert parse_message_link(f"{viewer}/channels/@me/22/333", f"{viewer}/") == (22, 333)
    assert parse_message_link("http://127.0.0.1:9/channels/1/22/333", viewer) is None
