"""The read-only viewer at Discord's web paths: servers, channels, forum posts, messages, DMs."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from sandboxes.discord import DiscordSandbox
from tests.sandboxes.discord.conftest import ANA, BEN

SCRIPT = "<script>alert(1)</script>"
EMBED = {
    "title": "Pipes <i>lesson</i>",
    "url": "https://example.org/pipes",
    "description": "Read **the lesson** first.",
    "color": 0x5865F2,
    "fields": [{"name": "Status", "value": "open", "inline": True}],
    "footer": {"text": "lessonbot"},
}
BUTTONS = [
    {
        "type": 1,
        "components": [
            {"type": 2, "style": 1, "label": "Suggest an edit", "custom_id": "suggest:1"},
            {"type": 2, "style": 5, "label": "Issue", "url": "https://example.org/issue/1"},
        ],
    },
    {
        "type": 1,
        "components": [
            {
                "type": 3,
                "custom_id": "pick",
                "placeholder": "Pick a locale",
                "options": [
                    {"label": "English", "value": "en"},
                    {"label": "<b>es</b>", "value": "es"},
                ],
            }
        ],
    },
]

Fetch = Callable[..., Any]


@pytest.fixture
async def fetch(sandbox: DiscordSandbox) -> AsyncIterator[Fetch]:
    """Return a page getter: (path, status=200) -> the page's text, checked to be HTML."""
    async with aiohttp.ClientSession() as session:

        async def get(path: str, status: int = 200) -> str:
            async with session.get(sandbox.web_url + path) as response:
                text = await response.text()
                assert response.status == status, text[:500]
                assert response.content_type == "text/html"
                assert "script-src" not in response.headers["Content-Security-Policy"]
                assert "Discord sandbox (offline)" in text
                return text

        yield get


def visible(text: str) -> str:
    """Return a page's text without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


async def forum_post(raw: Fetch, forum: int) -> dict[str, Any]:
    """Open a forum post as the bot, with an embed and buttons, as lessonbot posts lessons."""
    body = {
        "name": "Pipes",
        "message": {"content": "Discuss **Pipes** here.", "embeds": [EMBED], "components": BUTTONS},
    }
    status, _, thread = await raw("POST", f"/channels/{forum}/threads", body)
    assert status in (200, 201), thread
    return thread


async def test_a_forum_post_with_embed_and_buttons(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Fetch, fetch: Fetch
) -> None:
    forum = guild["channels"]["data-basics"]
    thread = await forum_post(raw, forum)
    thread_id = int(thread["id"])
    # Discord refuses such a link button; one in the world anyway stays a disabled button.
    starter = sandbox.context.state.channels[thread_id].messages[thread_id]
    bad = {"type": 2, "style": 5, "label": "Bad", "url": "javascript:alert(1)"}
    starter.components[0]["components"].append(bad)
    reply = await sandbox.post_message(thread_id, ANA, f"Why? {SCRIPT} <@{BEN}> <#{forum}>")

    listing = await fetch(f"/channels/{guild['id']}/{forum}")
    assert f'href="/channels/{guild["id"]}/{thread_id}"' in listing and "Pipes" in listing

    # The link the bot gives a post: guild, thread and its starter message (the thread's id).
    text = await fetch(f"/channels/{guild['id']}/{thread_id}/{thread_id}")
    opening = text.split(f'id="message-{thread_id}"', 1)[0].rsplit("<article", 1)[1]
    assert "target" in opening and "autofocus" in opening
    assert "<strong>Pipes</strong>" in text
    assert (
        'href="https://example.org/pipes"' in text and "border-inline-start-color: #5865f2" in text
    )
    assert "<dt>Status</dt>" in text and "<strong>the lesson</strong>" in text
    assert '<button type="button" class="style-1" disabled>Suggest an edit</button>' in text
    assert 'href="https://example.org/issue/1"' in text and "javascript:" not in text
    assert '<button type="button" class="style-5" disabled>Bad</button>' in text
    assert '<select disabled aria-label="Pick a locale">' in text
    assert SCRIPT not in text and "<b>es</b>" not in text and "<i>lesson</i>" not in text
    shown = visible(text)
    assert SCRIPT in shown and "<b>es</b>" in shown and "Pipes <i>lesson</i>" in shown
    assert "@ben" in shown and "#data-basics" in shown and "ana" in shown
    assert f'id="message-{reply["id"]}"' in text

    anchored = await fetch(f"/channels/{guild['id']}/{thread_id}/{reply['id']}")
    assert (
        'class="message target" tabindex="-1" autofocus'
        in anchored.split(f'id="message-{reply["id"]}"')[0].rsplit("<article", 1)[1]
    )


async def test_servers_channels_and_dms(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Fetch, fetch: Fetch
) -> None:
    home = await fetch("/")
    assert f'href="/channels/{guild["id"]}"' in home and "Lessons" in home
    assert await fetch("/app") == home
    channels = await fetch(f"/channels/{guild['id']}")
    general = guild["channels"]["general"]
    assert f'href="/channels/{guild["id"]}/{general}"' in channels
    assert "(forum)" in channels and "Programs" in channels and "Say hello" in channels
    message = await sandbox.post_message(general, ANA, "hello **all**")
    page = await fetch(f"/channels/{guild['id']}/{general}")
    assert "hello <strong>all</strong>" in page

    channel_id = sandbox.dm_channel(ANA)
    status, _, _ = await raw("POST", f"/channels/{channel_id}/messages", {"content": "Hi ana"})
    assert status == 200
    dms = await fetch("/channels/@me")
    assert f'href="/channels/@me/{channel_id}"' in dms
    by_channel = await fetch(f"/channels/@me/{channel_id}")
    assert "Hi ana" in by_channel and "Direct messages with ana" in by_channel
    by_user = await fetch(f"/channels/@me/{ANA}")
    assert "Hi ana" in by_user
    assert message["content"] == "hello **all**"


async def test_unknown_things_are_html_404s(
    sandbox: DiscordSandbox, guild: dict[str, Any], fetch: Fetch
) -> None:
    general = guild["channels"]["general"]
    for path in (
        "/channels/1",
        "/channels/nope",
        f"/channels/{guild['id']}/1",
        f"/channels/{guild['id']}/{general}/1",
        "/channels/@me/1",
        f"/channels/{guild['id']}/%3Cscript%3E",
    ):
        text = await fetch(path, status=404)
        assert "Not found" in text and "<script>" not in text
    # The API keeps its JSON errors.
    url = f"{sandbox.api_base_url}/channels/{general}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 401 and response.content_type == "application/json"
