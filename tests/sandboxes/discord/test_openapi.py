"""Response shapes checked against Discord's official OpenAPI description (../shared/specs)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from sandboxes.discord import DiscordSandbox
from tests.sandboxes.discord.conftest import ANA, BEN, OPENAPI

Check = Callable[[str, str, int, Any], None]
SPEC_URI = "urn:discord:openapi"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """Load Discord's OpenAPI description, skipping where a fresh clone has none."""
    if not OPENAPI.is_file():
        pytest.skip(
            f"Discord's OpenAPI description not present at {OPENAPI} "
            "(a fresh clone has no ../shared/specs)"
        )
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema_of(spec: dict[str, Any]) -> Callable[[dict[str, Any]], Callable[[Any], None]]:
    """Return a factory of validators for schemas that `$ref` into the description."""
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    # jsonschema checks these formats only with optional packages; check them here.
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        return not isinstance(value, str) or (
            "T" in value and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        )

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlsplit(value).scheme)

    @checker.checks("int32")
    def is_int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    def make(schema: dict[str, Any]) -> Callable[[Any], None]:
        rooted = json.loads(json.dumps(schema).replace('"#/', f'"{SPEC_URI}#/'))
        validator = Draft202012Validator(rooted, registry=registry, format_checker=checker)
        return validator.validate

    return make


@pytest.fixture(scope="module")
def check(
    spec: dict[str, Any], schema_of: Callable[[dict[str, Any]], Callable[[Any], None]]
) -> Check:
    """Return check(method, path template, status, body): validate a response body."""

    def run(method: str, template: str, status: int, body: Any) -> None:
        responses = spec["paths"][template][method.lower()]["responses"]
        response = responses.get(str(status)) or responses[f"{status // 100}XX"]
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        schema = response["content"]["application/json"]["schema"]
        schema_of(schema)(body)

    return run


@pytest.fixture(scope="module")
def component(
    schema_of: Callable[[dict[str, Any]], Callable[[Any], None]],
) -> Callable[[str, Any], None]:
    """Return component(name, value): validate against one of `components/schemas`."""

    def run(name: str, value: Any) -> None:
        schema_of({"$ref": f"#/components/schemas/{name}"})(value)

    return run


def assert_error_tree(tree: Any) -> None:
    """Check a 50035 `errors` tree: nested objects whose leaves are `_errors` lists.

    The OpenAPI description types a field error's `code` as an integer, but Discord's own
    documentation (and its real answers) use strings such as "BASE_TYPE_REQUIRED",
    which the sandbox follows; the tree is therefore checked here, not by the schema.
    """
    assert isinstance(tree, dict) and tree
    for key, value in tree.items():
        if key == "_errors":
            assert value and all(
                isinstance(e["code"], str) and isinstance(e["message"], str) and len(e) == 2
                for e in value
            )
        else:
            assert_error_tree(value)


async def test_rest_responses_match_the_official_schemas(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any], check: Check
) -> None:
    async def call(method: str, template: str, path: str, body: Any = None, **options: Any) -> Any:
        status, headers, answer = await raw(method, path, body, **options)
        assert headers.get("Content-Type", "application/json") == "application/json"
        if answer is not None and "errors" in answer:
            assert_error_tree(answer["errors"])
            answer = {k: v for k, v in answer.items() if k != "errors"}
        if answer is not None:
            check(method, template, status, answer)
        return status, answer

    app, gid = sandbox.application_id, guild["id"]
    general, forum = guild["channels"]["general"], guild["channels"]["data-basics"]
    await call("GET", "/users/@me", "/users/@me")
    await call("GET", "/oauth2/applications/@me", "/oauth2/applications/@me")
    await call("GET", "/gateway", "/gateway", token=None)
    await call("GET", "/gateway/bot", "/gateway/bot")
    commands = [
        {
            "name": "lesson",
            "description": "Find a lesson",
            "options": [
                {
                    "name": "lesson",
                    "description": "Lesson",
                    "type": 3,
                    "required": True,
                    "autocomplete": True,
                },
                {
                    "name": "level",
                    "description": "Level",
                    "type": 4,
                    "choices": [{"name": "one", "value": 1}],
                },
            ],
        },
        {"name": "Report", "type": 3},
    ]
    await call(
        "PUT", "/applications/{application_id}/commands", f"/applications/{app}/commands", commands
    )
    await call("GET", "/applications/{application_id}/commands", f"/applications/{app}/commands")
    await call(
        "PUT",
        "/applications/{application_id}/guilds/{guild_id}/commands",
        f"/applications/{app}/guilds/{gid}/commands",
        commands[:1],
    )
    await call("GET", "/guilds/{guild_id}", f"/guilds/{gid}?with_counts=true")
    await call("GET", "/guilds/{guild_id}/channels", f"/guilds/{gid}/channels")
    for body in (
        {"name": "news", "type": 0, "topic": "t"},
        {"name": "Programs 2", "type": 4},
        {
            "name": "ai-basics",
            "type": 15,
            "available_tags": [{"name": "lesson", "emoji_name": "📘"}],
        },
    ):
        await call("POST", "/guilds/{guild_id}/channels", f"/guilds/{gid}/channels", body)
    for channel in (general, forum):
        await call("GET", "/channels/{channel_id}", f"/channels/{channel}")
    await call("PATCH", "/channels/{channel_id}", f"/channels/{general}", {"topic": "New topic"})
    _, post = await call(
        "POST",
        "/channels/{channel_id}/threads",
        f"/channels/{forum}/threads",
        {
            "name": "What is data?",
            "message": {"content": "Talk here"},
            "auto_archive_duration": 1440,
        },
    )
    await call(
        "PATCH",
        "/channels/{channel_id}",
        f"/channels/{post['id']}",
        {"archived": True, "locked": True},
    )
    await call("GET", "/channels/{channel_id}", f"/channels/{post['id']}")
    await call("GET", "/guilds/{guild_id}/threads/active", f"/guilds/{gid}/threads/active")
    _, archived = await call(
        "GET",
        "/channels/{channel_id}/threads/archived/public",
        f"/channels/{forum}/threads/archived/public?limit=2",
    )
    assert [t["id"] for t in archived["threads"]] == [post["id"]] and archived["members"]
    message = {
        "content": f"Hello <@{ANA}>",
        "embeds": [
            {
                "title": "Digest",
                "url": "https://example.org/digest",
                "color": 0x5865F2,
                "timestamp": "2025-01-01T00:00:00+00:00",
                "fields": [{"name": "a", "value": "b"}],
                "footer": {"text": "lessonbot"},
                "author": {"name": "bot"},
            }
        ],
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Yes", "custom_id": "yes"}]}
        ],
    }
    _, sent = await call(
        "POST", "/channels/{channel_id}/messages", f"/channels/{general}/messages", message
    )
    user_post = await sandbox.post_message(general, ANA, "A question", reply_to=int(sent["id"]))
    await sandbox.add_reaction(general, int(user_post["id"]), ANA, "✅")
    await call(
        "PUT",
        "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me",
        f"/channels/{general}/messages/{user_post['id']}/reactions/%F0%9F%91%8D/@me",
    )
    await call(
        "GET",
        "/channels/{channel_id}/messages/{message_id}",
        f"/channels/{general}/messages/{user_post['id']}",
    )
    await call(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        f"/channels/{general}/messages/{sent['id']}",
        {"content": "Edited"},
    )
    await call("GET", "/channels/{channel_id}/messages", f"/channels/{general}/messages?limit=10")
    await call(
        "POST",
        "/channels/{channel_id}/messages/{message_id}/threads",
        f"/channels/{general}/messages/{user_post['id']}/threads",
        {"name": "Follow-up"},
    )
    await call("POST", "/users/@me/channels", "/users/@me/channels", {"recipient_id": str(ANA)})
    interaction_id = await sandbox.run_command(
        gid, general, ANA, "lesson", options=[{"name": "lesson", "value": "x"}]
    )
    token = sandbox.context.state.interactions[interaction_id].token
    await call(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        f"/interactions/{interaction_id}/{token}/callback?with_response=true",
        {"type": 4, "data": {"content": "Here", "flags": 64}},
        token=None,
    )
    hook = f"/webhooks/{app}/{token}"
    template = "/webhooks/{webhook_id}/{webhook_token}"
    await call("POST", template, f"{hook}?wait=true", {"content": "More"}, token=None)
    await call(
        "PATCH",
        f"{template}/messages/@original",
        f"{hook}/messages/@original",
        {"content": "Edited"},
        token=None,
    )
    await call("GET", f"{template}/messages/@original", f"{hook}/messages/@original", token=None)
    # Errors: unknown ids, invalid bodies, a missing token, a rate limit.
    await call("GET", "/channels/{channel_id}", "/channels/1")
    await call(
        "POST",
        "/channels/{channel_id}/messages",
        f"/channels/{general}/messages",
        {"content": "x" * 2001},
    )
    await call("GET", "/users/@me", "/users/@me", token=None)
    sandbox.add_fault(f"GET /api/v10/channels/{general}", "rate_limit")
    status, _ = await call("GET", "/channels/{channel_id}", f"/channels/{general}")
    assert status == 429


async def test_deferred_and_modal_callbacks_match_the_official_schemas(
    sandbox: DiscordSandbox, guild: dict[str, Any], raw: Callable[..., Any], check: Check
) -> None:
    app = sandbox.application_id
    await raw("PUT", f"/applications/{app}/commands", [{"name": "ping", "description": "Ping"}])
    template = "/interactions/{interaction_id}/{interaction_token}/callback"
    modal = {
        "custom_id": "m",
        "title": "Suggest",
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "f", "label": "F", "style": 2}]}
        ],
    }
    for body in ({"type": 5}, {"type": 9, "data": modal}):
        interaction_id = await sandbox.run_command(
            guild["id"], guild["channels"]["general"], ANA, "ping"
        )
        token = sandbox.context.state.interactions[interaction_id].token
        url = f"/interactions/{interaction_id}/{token}/callback?with_response=true"
        status, _, answer = await raw("POST", url, body, token=None)
        check("POST", template, status, answer)
        assert answer["interaction"]["type"] == 2


async def test_gateway_objects_match_the_official_schemas(
    sandbox: DiscordSandbox, guild: dict[str, Any], component: Callable[[str, Any], None]
) -> None:
    general = guild["channels"]["general"]
    forum = guild["channels"]["data-basics"]
    await sandbox.create_thread(forum, ANA, "Open thread", "Hello")
    async with aiohttp.ClientSession() as session, session.ws_connect(sandbox.gateway_url) as ws:
        await ws.receive(timeout=5)
        identify = {
            "token": sandbox.bot_token,
            "intents": ((1 << 16) - 1) & ~(1 << 8),
            "properties": {},
        }
        await ws.send_json({"op": 2, "d": identify})
        ready = json.loads((await ws.receive(timeout=5)).data)["d"]
        created = json.loads((await ws.receive(timeout=5)).data)["d"]
        posted = await sandbox.post_message(general, ANA, "hello")
        await sandbox.add_reaction(general, int(posted["id"]), ANA, "👋")
        message = json.loads((await ws.receive(timeout=5)).data)
        reaction = json.loads((await ws.receive(timeout=5)).data)
        await ws.close(code=4000)
    component("UserPIIResponse", ready["user"])
    for channel in created["channels"]:
        component("GuildChannelResponse", channel)
    for thread in created["threads"]:
        component("ThreadResponse", thread)
    for member in created["members"]:
        component("GuildMemberResponse", member)
    for role in created["roles"]:
        component("GuildRoleResponse", role)
    component(
        "GuildResponse", {k: v for k, v in created.items() if k not in ("channels", "threads")}
    )
    assert message["t"] == "MESSAGE_CREATE"
    component("MessageResponse", message["d"])
    # The schemas do bite: a numeric id, a missing field or a bad timestamp fails them.
    from jsonschema import ValidationError

    for broken in (
        {**message["d"], "id": 1},
        {k: v for k, v in message["d"].items() if k != "pinned"},
        {**message["d"], "timestamp": "yesterday"},
        {**message["d"], "author": {**message["d"]["author"], "primary_guild": 5}},
    ):
        with pytest.raises(ValidationError):
            component("MessageResponse", broken)
    assert reaction["t"] == "MESSAGE_REACTION_ADD"
    component("MessageReactionEmojiResponse", reaction["d"]["emoji"])
    component("GuildMemberResponse", reaction["d"]["member"])


# Every answer and dispatch of a broad scenario: required fields included ($ref, oneOf and
# allOf resolved by the validator), not only the properties a payload happens to carry.

Validate = Callable[[str, Any], None]
THREADS = {10, 11, 12}


def _templates(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """Return (pattern, template) for every spec path, literal segments before parameters."""
    found = [
        (re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))), template)
        for template in spec["paths"]
    ]
    return sorted(found, key=lambda item: item[1].count("{"))


def _channel_schema(channel: dict[str, Any]) -> str:
    """Name the schema of a channel object by its type."""
    if channel["type"] in THREADS:
        return "ThreadResponse"
    return "PrivateChannelResponse" if channel["type"] == 1 else "GuildChannelResponse"


def check_dispatch(event: str, data: dict[str, Any], component: Validate) -> None:
    """Validate a gateway dispatch's objects against their component schemas."""
    if event == "READY":
        component("UserPIIResponse", data["user"])
    elif event == "GUILD_CREATE":
        for channel in data["channels"]:
            component("GuildChannelResponse", channel)
        for thread in data["threads"]:
            component("ThreadResponse", thread)
        for member in data["members"]:
            component("GuildMemberResponse", member)
        rest = {k: v for k, v in data.items() if k not in ("channels", "threads")}
        component("GuildResponse", rest)
    elif event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
        component("MessageResponse", data)
    elif event in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE"):
        component(_channel_schema(data), data)
    elif event in ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"):
        component("MessageReactionEmojiResponse", data["emoji"])
        if "member" in data:
            component("GuildMemberResponse", data["member"])
    elif event == "INTERACTION_CREATE":
        if "message" in data:
            component("MessageResponse", data["message"])
        if "member" in data:
            component("GuildMemberResponse", data["member"])
        if "user" in data:
            component("UserResponse", data["user"])


async def test_every_answer_and_dispatch_of_a_broad_scenario_meets_the_spec(
    sandbox: DiscordSandbox,
    guild: dict[str, Any],
    raw: Callable[..., Any],
    spec: dict[str, Any],
    check: Callable[[str, str, int, Any], None],
    component: Validate,
) -> None:
    templates = _templates(spec)
    checked: list[str] = []

    async def call(method: str, path: str, body: Any = None, **options: Any) -> Any:
        status, _, answer = await raw(method, path, body, **options)
        bare = path.split("?", 1)[0]
        template = next(t for pattern, t in templates if pattern.fullmatch(bare))
        if answer is not None:
            if "errors" in answer:
                assert_error_tree(answer.pop("errors"))
            check(method, template, status, answer)
            checked.append(f"{method} {template} {status}")
        return answer

    dispatches: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(sandbox.gateway_url) as ws:
        await ws.receive(timeout=5)
        identify = {
            "token": sandbox.bot_token,
            "intents": ((1 << 17) - 1) & ~(1 << 8),
            "properties": {},
        }
        await ws.send_json({"op": 2, "d": identify})

        async def listen() -> None:
            async for frame in ws:
                payload = json.loads(frame.data)
                if payload["op"] == 0:
                    dispatches.append(payload)

        listener = asyncio.create_task(listen())
        app, gid = sandbox.application_id, guild["id"]
        general, forum = guild["channels"]["general"], guild["channels"]["data-basics"]
        await call(
            "PUT",
            f"/applications/{app}/commands",
            [
                {"name": "suggest", "description": "Suggest an edit"},
                {"name": "Report", "type": 3},
                {"name": "Profile", "type": 2},
            ],
        )
        # A forum post, a reply, an edit, a reaction, history, a thread on a message.
        post = await call(
            "POST",
            f"/channels/{forum}/threads",
            {"name": "Lesson: data", "message": {"content": "Talk here"}},
        )
        await call("PATCH", f"/channels/{post['id']}", {"name": "Lesson: data 2"})
        sent = await call(
            "POST",
            f"/channels/{general}/messages",
            {
                "content": "Pick one",
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "Edit", "custom_id": "edit"}
                        ],
                    }
                ],
            },
        )
        learner = await sandbox.post_message(general, ANA, "Why?", reply_to=int(sent["id"]))
        await sandbox.add_reaction(general, int(learner["id"]), BEN, "👍")
        await call("PATCH", f"/channels/{general}/messages/{sent['id']}", {"content": "Pick"})
        await call("GET", f"/channels/{general}/messages?limit=50")
        await call("GET", f"/channels/{general}/messages/{learner['id']}")
        await call(
            "POST", f"/channels/{general}/messages/{learner['id']}/threads", {"name": "Why thread"}
        )
        dm = await call("POST", "/users/@me/channels", {"recipient_id": str(ANA)})
        await call("POST", f"/channels/{dm['id']}/messages", {"content": "Hi Ana"})
        await call("GET", f"/guilds/{gid}/threads/active")
        await call("GET", f"/channels/{forum}/threads/archived/public")
        # A slash command that shows a modal, the modal's submit and its answers.
        modal = {
            "custom_id": "suggest",
            "title": "Suggest",
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 4, "custom_id": "text", "label": "Text", "style": 2}],
                }
            ],
        }
        hooks = []
        command_id = await sandbox.run_command(gid, general, ANA, "suggest")
        token = sandbox.context.state.interactions[command_id].token
        await call(
            "POST",
            f"/interactions/{command_id}/{token}/callback?with_response=true",
            {"type": 9, "data": modal},
            token=None,
        )
        submit_id = await sandbox.submit_modal(gid, general, ANA, "suggest", {"text": "Fix"})
        token = sandbox.context.state.interactions[submit_id].token
        answer = await call(
            "POST",
            f"/interactions/{submit_id}/{token}/callback?with_response=true",
            {"type": 4, "data": {"content": "Thanks"}},
            token=None,
        )
        metadata = answer["resource"]["message"]["interaction_metadata"]
        assert metadata["type"] == 5
        assert metadata["triggering_interaction_metadata"]["id"] == str(command_id)
        hooks.append(f"/webhooks/{app}/{token}")
        # A button click on the bot's message, deferred then edited; a modal from a click.
        click_id = await sandbox.click(general, int(sent["id"]), ANA, "edit")
        token = sandbox.context.state.interactions[click_id].token
        await call(
            "POST",
            f"/interactions/{click_id}/{token}/callback?with_response=true",
            {"type": 9, "data": modal},
            token=None,
        )
        from_click = await sandbox.submit_modal(gid, general, ANA, "suggest", {"text": "Again"})
        token = sandbox.context.state.interactions[from_click].token
        await call("POST", f"/interactions/{from_click}/{token}/callback", {"type": 5}, token=None)
        hooks.append(f"/webhooks/{app}/{token}")
        for hook in hooks:
            await call("PATCH", f"{hook}/messages/@original", {"content": "Done"}, token=None)
            await call("GET", f"{hook}/messages/@original", token=None)
            await call("POST", f"{hook}?wait=true", {"content": "More", "flags": 64}, token=None)
        # Errors a client parses: unknown, invalid, unauthorized.
        await call("GET", "/channels/1")
        await call("POST", f"/channels/{general}/messages", {"content": ""})
        await call("GET", "/users/@me", token=None)
        await sandbox.delete_message(general, int(learner["id"]))
        # Let the last dispatches arrive, then stop listening.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(0.3), 1)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await ws.close(code=4000)

    events = {payload["t"] for payload in dispatches}
    for payload in dispatches:
        check_dispatch(payload["t"], payload["d"], component)
    replies = [
        p["d"]
        for p in dispatches
        if p["t"] == "MESSAGE_CREATE" and p["d"].get("interaction_metadata", {}).get("type") == 5
    ]
    assert replies and all(
        "triggering_interaction_metadata" in r["interaction_metadata"] for r in replies
    )
    assert {
        "READY",
        "GUILD_CREATE",
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "THREAD_CREATE",
        "INTERACTION_CREATE",
        "MESSAGE_REACTION_ADD",
    } <= events
    assert len(checked) >= 20


async def test_overwrites_and_application_flags_match_the_official_schemas(
    guild: dict[str, Any], raw: Callable[..., Any], check: Check
) -> None:
    forum, everyone = guild["channels"]["data-basics"], guild["id"]
    status, _, _ = await raw(
        "PUT", f"/channels/{forum}/permissions/{everyone}", {"type": 0, "deny": 1 << 10}
    )
    assert status == 204

    status, _, channel = await raw("GET", f"/channels/{forum}")
    check("GET", "/channels/{channel_id}", status, channel)
    assert channel["permission_overwrites"][0]["deny"] == str(1 << 10)
    status, _, application = await raw("GET", "/applications/@me")
    check("GET", "/applications/@me", status, application)
    assert application["flags"]
