"""The Discord sandbox server: REST API, gateway and admin API on one aiohttp app."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from sandboxes.discord import (
    actions,
    admin,
    routes_commands,
    routes_guilds,
    routes_interactions,
    routes_messages,
    routes_users,
    saved_state,
    views,
)
from sandboxes.discord.api import CONTEXT, Context
from sandboxes.discord.errors import ApiError
from sandboxes.discord.faults import FaultList
from sandboxes.discord.gateway import GUILD_MEMBERS, MESSAGE_CONTENT, Gateway
from sandboxes.discord.interactions import Interactions
from sandboxes.discord.messaging import Messaging
from sandboxes.discord.middleware import API_PREFIX, middleware
from sandboxes.discord.operations import Operations
from sandboxes.discord.payloads import Payloads
from sandboxes.discord.ratelimits import RATE_LIMITER, RateLimiter, RateLimitSettings
from sandboxes.discord.responses import Responses
from sandboxes.discord.state import State
from sandboxes.discord.tokens import make_token
from sandboxes.persist import Saver, bind_preferred, read_json, touch_middleware
from sandboxes.threaded import ThreadedServer

T = TypeVar("T")
# The privileged intents the sandbox's application has enabled: message content, which
# lessonbot reads questions with, and server members; presences are off, as by default.
DEFAULT_PRIVILEGED_INTENTS = MESSAGE_CONTENT | GUILD_MEMBERS


class DiscordSandbox(ThreadedServer):
    """A Discord-compatible server the real discord.py client connects to unchanged.

    Point discord.py at it with `discord.http.Route.BASE = sandbox.api_base_url` and
    `DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sandbox.gateway_url)`; then act as users
    with the methods below (or the HTTP admin API under /_sandbox/).

    With `state_dir`, the world (guilds, channels, messages, users, commands) is kept in
    `state_dir/world.json` and restored on start, on the port of the last run when free.

    Without `bot_token`, the sandbox issues a token shaped like Discord's (base64 of the
    bot's user id, a timestamp part, an HMAC part), the same on every start of a kept world.
    `privileged_intents` are those the application has enabled: asking for another closes
    the gateway with 4014, as on Discord.
    """

    thread_name = "Discord sandbox"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str | None = None,
        bot_name: str = "lessonbot",
        heartbeat_interval: int = 41250,
        interaction_deadline: float = 3.0,
        enforce_intents: bool = True,
        privileged_intents: int = DEFAULT_PRIVILEGED_INTENTS,
        state_dir: Path | None = None,
        rate_limits: RateLimitSettings | None = None,
    ) -> None:
        self.host = host
        # Discord's rate limits apply unless the caller relaxes them.
        self.rate_limiter = RateLimiter(rate_limits)
        self.port = port
        # Without a configured token, issue one shaped like Discord's, derived from the bot's
        # user id: clients read that id from the token, and a kept world keeps its token.
        self._configured_token = bot_token
        state = State(bot_name)
        bot_token = bot_token or make_token(state.bot_user_id)
        self.bot_token = bot_token
        payloads = Payloads(state, privileged_intents=privileged_intents)
        gateway = Gateway(
            state,
            payloads,
            bot_token,
            heartbeat_interval=heartbeat_interval,
            enforce_intents=enforce_intents,
            privileged_intents=privileged_intents,
        )
        messages = Messaging(state, payloads, gateway)
        ops = Operations(state, payloads, gateway, messages)
        interactions = Interactions(state, payloads, gateway, ops)
        responses = Responses(state, payloads, messages, deadline=interaction_deadline)
        self._ctx = Context(
            state=state,
            payloads=payloads,
            gateway=gateway,
            ops=ops,
            messages=messages,
            interactions=interactions,
            responses=responses,
            faults=FaultList(),
            requests=[],
            token=bot_token,
        )
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.state_dir = state_dir
        self._saver: Saver | None = None
        self.world_id = uuid.uuid4().hex
        self.restored = False
        self.previous_base_url: str | None = None

    # Lifecycle

    async def start(self) -> None:
        """Start serving on host:port (port 0 picks a free one)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        saved = await asyncio.to_thread(self._load)
        if saved and self._configured_token is None:
            self._use_token(make_token(self._ctx.state.bot_user_id))
        # Bind first so the port (and every URL the payloads carry) is known up front.
        # PortInUseError names a busy port asked for; the last run's is only preferred.
        sock = bind_preferred(self.host, self.port, saved.get("port") if saved else None)
        family = sock.family
        port = sock.getsockname()[1]
        host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        self.base_url = f"http://{host}:{port}"
        if saved:
            self.previous_base_url = f"http://{host}:{saved['port']}"
        self._ctx.payloads.base_url = self.base_url
        self._ctx.gateway.url = f"ws://{host}:{port}/gateway"
        if self.state_dir is not None:
            self._saver = Saver(self.state_dir / "world.json", self._snapshot)
            await self._saver.save()  # the world exists on disk from its first moment
            self._saver.start()
        app = web.Application(
            middlewares=[touch_middleware(lambda: self._saver), middleware],
            client_max_size=32 * 1024 * 1024,
        )
        app[CONTEXT] = self._ctx
        app[RATE_LIMITER] = self.rate_limiter
        app.router.add_get("/gateway", self._ctx.gateway.handle)
        app.router.add_routes(admin.routes())
        app.router.add_routes(admin.control_routes())
        for module in (
            routes_users,
            routes_guilds,
            routes_messages,
            routes_commands,
            routes_interactions,
        ):
            app.router.add_routes(module.routes())
        # The viewer at Discord's web paths (`/channels/...`), where `web_url` links lead.
        app.router.add_routes(views.routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            await self._runner.setup()
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            sock.close()
            await self.close()
            raise

    async def close(self) -> None:
        """Close every gateway connection and stop serving."""
        if self._runner is None:
            return
        await self._ctx.gateway.close()
        await self._runner.cleanup()
        self._runner = None
        if self._saver is not None:
            await self._saver.close()
            self._saver = None

    # Keeping the world

    def _load(self) -> dict[str, Any] | None:
        """Restore the saved world, if `state_dir` holds one; return what was saved."""
        if self.state_dir is None:
            return None
        saved = read_json(self.state_dir / "world.json")
        if saved is None:
            return None
        saved_state.restore(self._ctx.state, saved)
        self.world_id = saved["world_id"]
        self.restored = True
        return saved

    def _use_token(self, token: str) -> None:
        """Accept `token` (and no other) on REST and the gateway."""
        self.bot_token = self._ctx.token = self._ctx.gateway.token = token

    def _snapshot(self) -> dict[str, Any]:
        """Return the world as saved to `state_dir/world.json`."""
        port = int(self.base_url.rsplit(":", 1)[1])
        return saved_state.snapshot(self._ctx.state, self.world_id, port)

    def _changed(self) -> None:
        """Note a change made through the Python API, to be saved shortly."""
        if self._saver is not None:
            self._saver.touch()

    # Running on the sandbox's loop

    def _elsewhere(self) -> bool:
        """Tell whether the caller runs outside the sandbox's loop thread."""
        return (
            self._loop is not None
            and self._loop.is_running()
            and (threading.get_ident() != self._loop_thread)
        )

    def _sync(self, function: Callable[[], T], timeout: float = 30.0) -> T:
        """Run a state change on the sandbox's loop (directly when already on it)."""
        if not self._elsewhere():
            try:
                return _plain(function)
            finally:
                self._changed()
        assert self._loop is not None

        async def call() -> T:
            try:
                return function()
            finally:
                self._changed()

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return _plain(future.result, timeout)

    async def _on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine on the sandbox's loop, from it or from another thread's loop."""
        if not self._elsewhere():
            try:
                return await coroutine
            except ApiError as error:
                raise _python_error(error) from error
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return await asyncio.wrap_future(future)
        except ApiError as error:
            raise _python_error(error) from error

    async def _act(self, function: Callable[[], T]) -> T:
        """Run a synchronous action on the sandbox's loop from async code."""

        async def call() -> T:
            try:
                return function()
            finally:
                self._changed()

        return await self._on_loop(call())

    # Addresses and identities

    @property
    def api_base_url(self) -> str:
        """Return the REST base URL, for `discord.http.Route.BASE`."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def web_url(self) -> str:
        """Return the viewer's base URL, the sandbox's `https://discord.com`: message links
        are `{web_url}/channels/{guild}/{channel}/{message}`."""
        return self.base_url

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL, for `DiscordWebSocket.DEFAULT_GATEWAY`."""
        return self._ctx.gateway.url

    @property
    def bot_user_id(self) -> int:
        """Return the bot's user id."""
        return self._ctx.state.bot_user_id

    @property
    def application_id(self) -> int:
        """Return the bot's application id."""
        return self._ctx.state.application_id

    @property
    def context(self) -> Context:
        """Return the sandbox's internals (state, payloads, gateway...), for deep tests."""
        return self._ctx

    # Building the world

    def create_guild(
        self,
        name: str,
        channels: Sequence[dict[str, Any]] = (),
        members: Sequence[dict[str, Any]] = (),
        roles: Sequence[dict[str, Any]] = (),
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """Create a guild the bot is in: channels `{name, type, topic?, parent?,
        available_tags?}`, members `{id?, username, locale?, roles?, accepts_dms?}`, roles
        `{name, permissions?}`; return `{"id", "channels": {name: id}, "roles", "members"}`.

        Connected sessions get a GUILD_CREATE, as when the bot joins a server.
        """
        return self._sync(
            lambda: actions.create_guild(
                self._ctx, name, list(channels), list(members), list(roles), locale
            )
        )

    def find_guild(self, name: str) -> dict[str, Any] | None:
        """Return the first guild named `name` as create_guild() describes one, or None
        (to pick up the guild of a restored world)."""

        def find() -> dict[str, Any] | None:
            state = self._ctx.state
            guild = next((g for g in state.guilds.values() if g.name == name), None)
            if guild is None:
                return None
            return {
                "id": guild.id,
                "name": guild.name,
                "channels": {c.name: c.id for c in state.guild_channels(guild)},
                "roles": {role.name: role.id for role in guild.roles.values()},
                "members": [uid for uid in guild.members if uid != state.bot_user_id],
            }

        return self._sync(find)

    def replace_text(self, old: str, new: str) -> int:
        """Replace `old` by `new` in every message (e.g. a moved server's base URL);
        return how many messages changed."""
        return self._sync(lambda: saved_state.replace_text(self._ctx.state, old, new))

    def create_user(
        self, username: str, *, id: int | None = None, locale: str = "en-US", **extra: Any
    ) -> int:
        """Create a user in no guild (to DM the bot, say); return the user id."""
        spec = {"username": username, "locale": locale, **extra}
        if id is not None:
            spec["id"] = id
        return self._sync(lambda: actions.create_user(self._ctx, spec))

    def update_user(self, user_id: int, **changes: Any) -> dict[str, Any]:
        """Change a user's settings: `accepts_dms=False` closes their DMs to the bot (a DM
        then fails with 403, code 50007), `locale`, `global_name`."""
        return self._sync(lambda: actions.update_user(self._ctx, user_id, changes))

    def set_role_permissions(self, guild_id: int, role_id: int, permissions: int) -> dict[str, Any]:
        """Change a role's permissions, e.g. the bot's own role (named as the bot, in
        create_guild's `roles`); the bot holds every permission while it owns the guild."""
        return self._sync(
            lambda: actions.set_role_permissions(self._ctx, guild_id, role_id, permissions)
        )

    def set_permission_overwrite(
        self, channel_id: int, target_id: int, *, kind: int = 0, allow: int = 0, deny: int = 0
    ) -> None:
        """Set a channel's permission overwrite for a role (kind 0) or a member (kind 1)."""
        self._sync(
            lambda: actions.set_permission_overwrite(
                self._ctx, channel_id, target_id, kind, allow, deny
            )
        )

    def dm_channel(self, user_id: int) -> int:
        """Return the id of the DM channel between the bot and a user."""
        return self._sync(lambda: actions.dm_channel(self._ctx, user_id))

    # Acting as users

    async def post_message(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        reply_to: int | None = None,
        *,
        embeds: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Post a message as a user (MESSAGE_CREATE); return it as Discord renders it."""
        return await self._act(
            lambda: actions.post_message(
                self._ctx, channel_id, author_id, content, reply_to, embeds
            )
        )

    async def edit_message(self, channel_id: int, message_id: int, content: str) -> dict[str, Any]:
        """Edit a user's message as its author (MESSAGE_UPDATE)."""
        return await self._act(
            lambda: actions.edit_message(self._ctx, channel_id, message_id, content)
        )

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a message as a moderator would (MESSAGE_DELETE)."""
        await self._act(lambda: actions.delete_message(self._ctx, channel_id, message_id))

    async def create_thread(
        self,
        channel_id: int,
        author_id: int,
        name: str,
        content: str | None = None,
        *,
        applied_tags: list[int] | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Open a thread as a user: a forum post, a thread on a message or in a channel."""
        return await self._act(
            lambda: actions.create_thread(
                self._ctx, channel_id, author_id, name, content, applied_tags, message_id
            )
        )

    async def add_reaction(
        self, channel_id: int, message_id: int, user_id: int, emoji: str
    ) -> bool:
        """React as a user (MESSAGE_REACTION_ADD); False when they already had."""
        return await self._act(
            lambda: actions.react(self._ctx, channel_id, message_id, user_id, emoji, True)
        )

    async def remove_reaction(
        self, channel_id: int, message_id: int, user_id: int, emoji: str
    ) -> bool:
        """Take back a user's reaction (MESSAGE_REACTION_REMOVE)."""
        return await self._act(
            lambda: actions.react(self._ctx, channel_id, message_id, user_id, emoji, False)
        )

    async def run_command(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        options: list[dict[str, Any]] | None = None,
        locale: str | None = None,
    ) -> int:
        """Run a registered slash command as a user (INTERACTION_CREATE type 2); return
        the interaction id. `guild_id` None runs it in the user's DM with the bot."""
        return await self._act(
            lambda: actions.run_command(
                self._ctx, guild_id, channel_id, user_id, name, options, locale
            )
        )

    async def autocomplete(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        options: list[dict[str, Any]] | None = None,
        locale: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the public interface takes a timeout
    ) -> list[dict[str, Any]]:
        """Type into an autocomplete option (INTERACTION_CREATE type 4); return the
        choices the bot answers with (callback type 8)."""
        return await self._on_loop(
            actions.autocomplete(
                self._ctx, guild_id, channel_id, user_id, name, options, locale, timeout
            )
        )

    async def submit_modal(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        custom_id: str | None = None,
        components: dict[str, Any] | None = None,
        locale: str | None = None,
    ) -> int:
        """Submit the modal the bot showed this user (the latest, or the one with
        `custom_id`), with field values keyed by custom_id or label; return the
        interaction id (INTERACTION_CREATE type 5)."""
        return await self._act(
            lambda: actions.submit_modal(
                self._ctx, guild_id, channel_id, user_id, custom_id, components, locale
            )
        )

    async def click(
        self,
        channel_id: int,
        message_id: int,
        user_id: int,
        custom_id: str,
        values: list[str] | None = None,
        locale: str | None = None,
    ) -> int:
        """Click a button or pick select values on a message (INTERACTION_CREATE type 3)."""
        return await self._act(
            lambda: actions.click(
                self._ctx, channel_id, message_id, user_id, custom_id, values, locale
            )
        )

    async def wait_for_interaction_response(
        self,
        interaction_id: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - the public interface takes a timeout
        *,
        count: int | None = None,
    ) -> list[dict[str, Any]]:
        """Wait for the bot's complete answer to an interaction and return every record:
        `{"kind": "callback"|"followup"|"edit"|"delete", "type", "data", "message",
        "ephemeral"}`. Complete means a non-deferred callback, or after a deferral a
        follow-up or edit; with `count`, that many records."""
        return await self._on_loop(
            actions.wait_for_responses(self._ctx, interaction_id, timeout, count)
        )

    def interaction_responses(self, interaction_id: int) -> list[dict[str, Any]]:
        """Return the bot's answers to an interaction so far, without waiting."""
        return self._sync(lambda: actions.responses(self._ctx, interaction_id))

    # Reading the world

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Return a channel's (or thread's) messages, oldest first."""
        return self._sync(lambda: actions.channel_messages(self._ctx, channel_id))

    def message(self, channel_id: int, message_id: int) -> dict[str, Any]:
        """Return one message."""
        return self._sync(lambda: actions.message(self._ctx, channel_id, message_id))

    def sent(self) -> list[dict[str, Any]]:
        """Return every message the bot posted or edited, each as it was right after, with
        `action` create or edit: interaction answers, ephemeral ones and DMs included."""
        return self._sync(lambda: [dict(entry) for entry in self._ctx.state.sent])

    def threads(self, parent_id: int) -> list[dict[str, Any]]:
        """Return a channel's or forum's threads, archived ones included."""
        return self._sync(lambda: actions.threads(self._ctx, parent_id))

    def dms(self, user_id: int) -> list[dict[str, Any]]:
        """Return the messages of the DM between the bot and a user, oldest first."""
        return self._sync(lambda: actions.dms(self._ctx, user_id))

    def channels(self, guild_id: int) -> list[dict[str, Any]]:
        """Return a guild's channels (threads excluded)."""
        return self._sync(lambda: actions.channels(self._ctx, guild_id))

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Return the registered application commands, global or of a guild."""
        return self._sync(lambda: actions.commands(self._ctx, guild_id))

    # Control

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Return the bot's REST requests so far: method, path and status."""
        return list(self._ctx.requests)

    def clear_requests(self) -> None:
        """Forget the request log."""
        self._ctx.requests.clear()

    def add_fault(
        self, match: str, mode: str = "rate_limit", count: int = 1, retry_after: float = 0.5
    ) -> dict[str, Any]:
        """Fail the next `count` requests matching `METHOD /path-glob` with a 429
        (`rate_limit`, or its old name `ratelimit`; waited out and retried by discord.py) or
        a 500 (`server_error`)."""
        return self._ctx.faults.add(match, mode, count, retry_after).to_json()

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._ctx.faults.clear()

    async def drop_gateway(self, code: int | None = 4000) -> int:
        """Close every gateway connection without ending its session, so the client
        must RESUME; `code` None cuts TCP without a close frame. Return how many."""
        return await self._on_loop(self._ctx.gateway.drop(code))

    @property
    def sessions(self) -> list[dict[str, Any]]:
        """Return every gateway session: id, seq, resumes, connected, ended, intents."""
        return [session.to_json() for session in self._ctx.gateway.sessions]

    @property
    def gateway_counts(self) -> dict[str, int]:
        """Return gateway totals: connections, identify, resume, invalid_session."""
        return dict(self._ctx.gateway.counts)


def _python_error(error: ApiError) -> Exception:
    """Turn Discord's error into what a Python caller expects: LookupError or ValueError."""
    detail = f"{error.code}: {error.message}"
    if error.errors:
        detail += f" {error.errors}"
    return LookupError(detail) if error.status == 404 else ValueError(detail)


def _plain(function: Callable[..., T], *args: Any) -> T:
    """Call a function, turning Discord's errors into Python ones."""
    try:
        return function(*args)
    except ApiError as error:
        raise _python_error(error) from error


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    bot_token: str | None = None,
    bot_name: str = "lessonbot",
    guilds: Sequence[dict[str, Any]] = (),
    rate_limits: RateLimitSettings | None = None,
) -> None:
    """Run a Discord sandbox until cancelled, printing where it listens; `guilds` holds
    keyword arguments of create_guild() for servers to create at start."""
    sandbox = DiscordSandbox(
        host=host, port=port, bot_token=bot_token, bot_name=bot_name, rate_limits=rate_limits
    )
    async with sandbox:
        for spec in guilds:
            sandbox.create_guild(**spec)
        print(f"Discord sandbox listening on {sandbox.base_url}")
        print(f"  REST API: {sandbox.api_base_url}")
        print(f"  gateway:  {sandbox.gateway_url}")
        print(f"  viewer:   {sandbox.web_url}/ (servers, channels, posts, DMs)")
        print(f"  admin:    {sandbox.base_url}/_sandbox/ (see /_sandbox/info)")
        print(f"  bot user {sandbox.bot_user_id}, application {sandbox.application_id}")
        print(f"  bot token: {sandbox.bot_token}", flush=True)
        await asyncio.Event().wait()
