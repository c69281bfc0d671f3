"""The gateway: a websocket speaking Discord's protocol (HELLO, IDENTIFY, READY, RESUME,
heartbeats, dispatches), with per-session sequence numbers and a replay buffer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from sandboxes.discord.payloads import JSON, Payloads
from sandboxes.discord.state import State

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
GUILD_PRESENCES = 1 << 8
# Intents an application must have enabled in its settings; without, IDENTIFY gets 4014.
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Which intent an event needs in a server and in a DM (0: always sent).
EVENT_INTENTS: dict[str, tuple[int, int]] = {
    "GUILD_CREATE": (GUILDS, GUILDS),
    "GUILD_UPDATE": (GUILDS, GUILDS),
    "GUILD_DELETE": (GUILDS, GUILDS),
    "CHANNEL_CREATE": (GUILDS, GUILDS),
    "CHANNEL_UPDATE": (GUILDS, GUILDS),
    "CHANNEL_DELETE": (GUILDS, GUILDS),
    "THREAD_CREATE": (GUILDS, GUILDS),
    "THREAD_UPDATE": (GUILDS, GUILDS),
    "THREAD_DELETE": (GUILDS, GUILDS),
    "GUILD_MEMBER_ADD": (GUILD_MEMBERS, GUILD_MEMBERS),
    "MESSAGE_CREATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_DELETE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
    "MESSAGE_REACTION_REMOVE": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
}
BUFFER_SIZE = 10_000
# Transport compression Discord offers that the sandbox speaks (zstd-stream is not offered).
TRANSPORT_COMPRESSIONS = ("zlib-stream",)
TRACE = ['["lessonbot-sandbox-gateway",{"micros":0}]']


@dataclass(eq=False)
class Connection:
    """One websocket, with a queue its writer task drains in order."""

    ws: web.WebSocketResponse
    request: web.Request
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    session: Session | None = None
    server_closed: bool = False
    # zlib-stream: one deflate context for the whole connection, each payload sync-flushed.
    stream: Any = None
    # IDENTIFY's `compress: true`: each dispatch zlib-compressed on its own.
    payload_compression: bool = False

    def send(self, frame: str) -> None:
        """Queue a frame; the writer task sends frames in the order they were queued."""
        self.queue.put_nowait(frame)

    def encode(self, frame: str) -> str | bytes:
        """Return a frame as it goes on the wire: text, or binary when compressed."""
        if self.stream is not None:
            data = frame.encode()
            return self.stream.compress(data) + self.stream.flush(zlib.Z_SYNC_FLUSH)
        if self.payload_compression and frame.startswith('{"op": 0,'):
            return zlib.compress(frame.encode())
        return frame


@dataclass(eq=False)
class Session:
    """A gateway session: it outlives its connections until the client ends it."""

    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    resumes: int = 0
    ended: bool = False
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=BUFFER_SIZE))
    connection: Connection | None = None

    def receives_guild(self, guild_id: int | None) -> bool:
        """Tell whether a guild's events belong to this session's shard (DMs go to shard 0)."""
        if not self.shard or self.shard[1] <= 1:
            return True
        shard_id, count = self.shard
        return (0 if guild_id is None else (guild_id >> 22) % count) == shard_id

    def to_json(self) -> dict[str, Any]:
        """Return what tests look at: ids, counters and whether it is connected."""
        return {
            "session_id": self.id,
            "seq": self.seq,
            "identifies": 1,
            "resumes": self.resumes,
            "connected": self.connection is not None,
            "ended": self.ended,
            "intents": self.intents,
            "shard": self.shard,
        }


class Gateway:
    """Accept gateway connections and dispatch events to every live session of the bot."""

    def __init__(
        self,
        state: State,
        payloads: Payloads,
        token: str,
        *,
        heartbeat_interval: int = 41250,
        enforce_intents: bool = True,
        privileged_intents: int = PRIVILEGED_INTENTS,
    ) -> None:
        self.state = state
        self.privileged_intents = privileged_intents
        self.payloads = payloads
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.enforce_intents = enforce_intents
        self.url = ""
        self.sessions: list[Session] = []
        self.connections: set[Connection] = set()
        self.counts = {"connections": 0, "identify": 0, "resume": 0, "invalid_session": 0}

    # The websocket

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway connection until either side closes it."""
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        conn = Connection(ws, request)
        self.connections.add(conn)
        self.counts["connections"] += 1
        writer = asyncio.create_task(self._write(conn), name="discord-sandbox-gateway-writer")
        try:
            # ETF is a value Discord accepts but the sandbox does not speak: it is refused
            # the way Discord refuses a payload it cannot decode, before HELLO.
            if request.query.get("encoding", "json") != "json":
                await self._close(conn, 4002, "Error while decoding payload.")
                return ws
            if request.query.get("v", "10") not in ("9", "10"):
                await self._close(conn, 4012, "Invalid API version.")
                return ws
            compress = request.query.get("compress")
            if compress is not None and compress not in TRANSPORT_COMPRESSIONS:
                await self._close(conn, 4002, "Error while decoding payload.")
                return ws
            if compress == "zlib-stream":
                conn.stream = zlib.compressobj()
            data = {"heartbeat_interval": self.heartbeat_interval, "_trace": TRACE}
            conn.send(json.dumps({"op": HELLO, "d": data, "s": None, "t": None}))
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._receive(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await self._receive(conn, _binary_text(msg.data))
                if ws.closed:
                    break
        finally:
            self._forget(conn)
            conn.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(writer, 5)
        return ws

    def _forget(self, conn: Connection) -> None:
        """Detach a finished connection; a client's clean close (1000/1001) ends its session."""
        self.connections.discard(conn)
        session = conn.session
        if session is None or session.connection is not conn:
            return
        session.connection = None
        if not conn.server_closed and conn.ws.close_code in (1000, 1001):
            session.ended = True

    async def _write(self, conn: Connection) -> None:
        """Send queued frames in order until told to stop or the socket fails."""
        while (frame := await conn.queue.get()) is not None:
            if conn.ws.closed:
                return
            try:
                wire = conn.encode(frame)
                if isinstance(wire, bytes):
                    await conn.ws.send_bytes(wire)
                else:
                    await conn.ws.send_str(wire)
            except (ConnectionError, RuntimeError):
                return

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        """Close a connection from the server side with a gateway close code."""
        conn.server_closed = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.ws.close(code=code, message=reason.encode()), 5)

    async def _receive(self, conn: Connection, raw: str | None) -> None:
        """Handle one frame from the client."""
        try:
            if raw is None:
                raise ValueError("undecodable binary frame")
            message = json.loads(raw)
            op = message["op"]
        except (ValueError, TypeError, KeyError):
            await self._close(conn, 4002, "Error while decoding payload.")
            return
        data = message.get("d")
        if op == HEARTBEAT:
            conn.send(json.dumps({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None}))
        elif op == IDENTIFY:
            await self._identify(conn, data if isinstance(data, dict) else {})
        elif op == RESUME:
            await self._resume(conn, data if isinstance(data, dict) else {})
        elif conn.session is None:
            await self._close(conn, 4003, "Not authenticated.")
        elif op == REQUEST_MEMBERS:
            self._request_members(conn.session, data if isinstance(data, dict) else {})
        elif op not in (PRESENCE, VOICE_STATE):
            await self._close(conn, 4001, "Unknown opcode.")

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        """Start a session: READY, then one GUILD_CREATE per guild of the session's shard."""
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if isinstance(intents, bool) or not isinstance(intents, int) or intents < 0:
            await self._close(conn, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(n, int) for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            await self._close(conn, 4010, "Invalid shard.")
            return
        compress = data.get("compress", False)
        if not isinstance(compress, bool):
            await self._close(conn, 4002, "Error while decoding payload.")
            return
        # With zlib-stream on, Discord does not compress payloads a second time.
        conn.payload_compression = compress and conn.stream is None
        session = Session(secrets.token_hex(16), intents, shard)
        self.sessions.append(session)
        self.counts["identify"] += 1
        conn.session, session.connection = session, conn
        ready = self.payloads.ready(session.id, self.url, shard)
        ready["guilds"] = [
            stub for stub in ready["guilds"] if session.receives_guild(int(stub["id"]))
        ]
        self._emit(session, "READY", ready)
        for guild in self.state.guilds.values():
            if session.receives_guild(guild.id):
                self._emit(session, "GUILD_CREATE", self.guild_create(session, guild.id))

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        """Reattach a session: replay what it missed after `seq`, then RESUMED."""
        if data.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        session = next((s for s in self.sessions if s.id == data.get("session_id")), None)
        seq = data.get("seq")
        seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else 0
        oldest = session.buffer[0][0] if session and session.buffer else 1
        if session is None or session.ended or seq < oldest - 1 or seq > session.seq:
            self.counts["invalid_session"] += 1
            conn.send(json.dumps({"op": INVALID_SESSION, "d": False, "s": None, "t": None}))
            return
        previous = session.connection
        if previous is not None and previous is not conn:
            # Discord keeps one connection per session: the older socket is closed.
            previous.session = None
            asyncio.get_running_loop().create_task(
                self._close(previous, 4000, "Resumed elsewhere.")
            )
        conn.session, session.connection = session, conn
        session.resumes += 1
        self.counts["resume"] += 1
        for number, frame in session.buffer:
            if number > seq:
                conn.send(frame)
        self._emit(session, "RESUMED", {"_trace": TRACE})

    def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        """Answer REQUEST_GUILD_MEMBERS with one GUILD_MEMBERS_CHUNK."""
        guild_ids = data.get("guild_id")
        for raw in guild_ids if isinstance(guild_ids, list) else [guild_ids]:
            guild = self.state.guilds.get(int(raw)) if str(raw).isdigit() else None
            if guild is None:
                continue
            wanted = {int(uid) for uid in data.get("user_ids") or [] if str(uid).isdigit()}
            query = str(data.get("query") or "").lower()
            limit = data.get("limit") or 0
            members = []
            for member in guild.members.values():
                user = self.state.user(member.user_id)
                if wanted and member.user_id not in wanted:
                    continue
                if query and not user.username.lower().startswith(query):
                    continue
                members.append(self.payloads.member(guild, member))
            if limit and not wanted:
                members = members[:limit]
            chunk: JSON = {
                "guild_id": str(guild.id),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
            }
            if wanted:
                found = {int(m["user"]["id"]) for m in members}
                chunk["not_found"] = [str(uid) for uid in sorted(wanted - found)]
            if data.get("presences"):
                chunk["presences"] = []
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    # Dispatching

    def guild_create(self, session: Session, guild_id: int, *, joined: bool = False) -> JSON:
        """Return a guild's GUILD_CREATE as this session may see it."""
        all_members = not self.enforce_intents or bool(session.intents & GUILD_MEMBERS)
        guild = self.state.guild(guild_id)
        return self.payloads.guild_create(guild, all_members=all_members, joined=joined)

    def _emit(self, session: Session, event: str, data: JSON) -> None:
        """Number an event for a session, keep it for replay and send it if connected."""
        session.seq += 1
        frame = json.dumps({"op": DISPATCH, "s": session.seq, "t": event, "d": data})
        session.buffer.append((session.seq, frame))
        if session.connection is not None:
            session.connection.send(frame)

    def live_sessions(self) -> list[Session]:
        """Return the sessions that still receive events (connected or resumable)."""
        return [session for session in self.sessions if not session.ended]

    def dispatch(
        self,
        event: str,
        data: JSON,
        *,
        guild_id: int | None,
        content_gated: bool = False,
    ) -> None:
        """Send an event to every live session whose intents and shard cover it.

        `content_gated` marks a message payload whose content Discord withholds from bots
        without the MESSAGE_CONTENT intent.
        """
        guild_intent, dm_intent = EVENT_INTENTS.get(event, (0, 0))
        needed = dm_intent if guild_id is None else guild_intent
        for session in self.live_sessions():
            if not session.receives_guild(guild_id):
                continue
            if self.enforce_intents and needed and not session.intents & needed:
                continue
            payload = data
            if self.enforce_intents and content_gated and not session.intents & MESSAGE_CONTENT:
                payload = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
                payload.pop("poll", None)
            self._emit(session, event, payload)

    def dispatch_guild_create(self, guild_id: int) -> None:
        """Tell every live session the bot joined a guild."""
        for session in self.live_sessions():
            if session.receives_guild(guild_id) and (
                not self.enforce_intents or session.intents & GUILDS
            ):
                self._emit(
                    session, "GUILD_CREATE", self.guild_create(session, guild_id, joined=True)
                )

    # Control

    async def drop(self, code: int | None = 4000) -> int:
        """Close every connection without ending its session, so clients must RESUME.

        With `code` None the TCP connection is cut without a close frame.
        """
        connections = list(self.connections)
        for conn in connections:
            conn.server_closed = True
            if code is None and conn.request.transport is not None:
                conn.request.transport.abort()
        if code is not None:
            await asyncio.gather(
                *(
                    self._close(conn, code, "Sandbox dropped the connection.")
                    for conn in connections
                )
            )
        return len(connections)

    async def close(self) -> None:
        """Close every connection as the server shuts down."""
        await asyncio.gather(
            *(self._close(conn, 1001, "Sandbox shutting down.") for conn in list(self.connections))
        )


def _binary_text(data: bytes) -> str | None:
    """Read a client's binary frame: UTF-8 JSON, or a zlib-compressed one; None if neither."""
    if data[:1] == b"\x78":
        # A zlib header (0x78) cannot start JSON, so this is a compressed payload.
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data)
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None
