"""The bot's answers to interactions: the callback (first response), follow-ups and the
original response, checked as Discord checks them and kept for tests to wait on."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from sandboxes.discord import errors as err
from sandboxes.discord.errors import ApiError, FormErrors
from sandboxes.discord.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    PING,
)
from sandboxes.discord.limits import (
    EPHEMERAL,
    LOADING,
    check_choices,
    check_int,
    check_message,
    check_modal,
)
from sandboxes.discord.messaging import Files, Messaging
from sandboxes.discord.payloads import JSON, Payloads
from sandboxes.discord.snowflakes import parse_snowflake
from sandboxes.discord.state import Interaction, Message, State

PONG, CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
# The callback types Discord accepts for each kind of interaction.
ALLOWED_CALLBACKS: dict[int, tuple[int, ...]] = {
    PING: (PONG,),
    APPLICATION_COMMAND: (CHANNEL_MESSAGE, DEFERRED_MESSAGE, MODAL),
    MESSAGE_COMPONENT: (CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL),
    AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
    MODAL_SUBMIT: (CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE),
}
TOKEN_LIFETIME = 15 * 60.0


class Responses:
    """Take the bot's callbacks, follow-ups and edits; wake whoever waits for them."""

    def __init__(
        self, state: State, payloads: Payloads, messages: Messaging, *, deadline: float = 3.0
    ) -> None:
        self.state = state
        self.payloads = payloads
        self.messages = messages
        self.deadline = deadline

    def callback(
        self,
        interaction_id: int,
        token: str,
        body: dict[str, Any],
        files: Files,
        *,
        with_response: bool,
    ) -> JSON | None:
        """Take the bot's first response to an interaction, as POST .../callback does."""
        interaction = self.state.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise err.unknown_interaction()
        if interaction.callback_type is not None:
            raise err.already_acknowledged()
        try:
            return self._callback(interaction, body, files, with_response=with_response)
        except ApiError as error:
            # Kept so that whoever waits on the interaction learns why no answer came.
            interaction.rejected.append({"type": body.get("type"), "error": error.body()})
            self._wake(interaction)
            raise

    def _callback(
        self,
        interaction: Interaction,
        body: dict[str, Any],
        files: Files,
        *,
        with_response: bool,
    ) -> JSON | None:
        """Check and apply a first response to a known, still unanswered interaction."""
        if asyncio.get_running_loop().time() - interaction.created > self.deadline:
            # Discord forgets an interaction nobody answered within three seconds.
            raise err.unknown_interaction()
        errors = FormErrors()
        kind = check_int(errors, body, "type", (), required=True)
        allowed = ALLOWED_CALLBACKS[interaction.type]
        if kind is not None and kind not in allowed:
            listed = ", ".join(map(str, allowed))
            errors.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {{{listed}}}.")
        data = body.get("data")
        if data is not None and not isinstance(data, dict):
            errors.add(
                ("data",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        data = data if isinstance(data, dict) else {}
        if kind == CHANNEL_MESSAGE:
            if not check_message(errors, data, ("data",)) and not files and not errors:
                raise err.empty_message()
        elif kind == UPDATE_MESSAGE:
            check_message(errors, data, ("data",), editing=True)
            if interaction.message_id is None:
                errors.add(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "No message to update.")
        elif kind == AUTOCOMPLETE_RESULT:
            if data.get("choices") is None:
                errors.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
            else:
                check_choices(errors, data["choices"], ("data", "choices"))
        elif kind == MODAL:
            check_modal(errors, data, ("data",))
        errors.raise_if_any()
        assert kind is not None
        message = self._respond(interaction, kind, data, files)
        interaction.callback_type = kind
        record: JSON = {"kind": "callback", "type": kind, "data": copy.deepcopy(data)}
        record["message"] = None if message is None else self.payloads.message(message)
        record["ephemeral"] = bool(message is not None and message.flags & EPHEMERAL)
        self._record(interaction, record)
        if not with_response:
            return None
        info: JSON = {"id": str(interaction.id), "type": interaction.type}
        if kind == MODAL:
            info["activity_instance_id"] = None
        if message is not None:
            info["response_message_id"] = str(message.id)
            info["response_message_loading"] = bool(message.flags & LOADING)
            info["response_message_ephemeral"] = bool(message.flags & EPHEMERAL)
        answer: JSON = {"interaction": info}
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE) and message is not None:
            answer["resource"] = {"type": kind, "message": self.payloads.message(message)}
        return answer

    def _respond(
        self, interaction: Interaction, kind: int, data: JSON, files: Files
    ) -> Message | None:
        """Apply a valid callback: post, defer, update a message, or keep choices or a modal."""
        if kind in (CHANNEL_MESSAGE, DEFERRED_MESSAGE):
            body = data if kind == CHANNEL_MESSAGE else {"content": ""}
            flags = int(data.get("flags") or 0) & EPHEMERAL
            if kind == DEFERRED_MESSAGE:
                flags |= LOADING
            message = self._post(
                interaction, {**body, "flags": int(body.get("flags") or 0) | flags}, files
            )
            interaction.original_id = message.id
            interaction.original_ephemeral = message.ephemeral
            interaction.loading = kind == DEFERRED_MESSAGE
            return message
        if kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            interaction.original_id = interaction.message_id
            if kind == DEFERRED_UPDATE:
                return None
            message = self.state.find_message(interaction.channel_id, interaction.message_id or 0)
            if message is None:
                raise err.unknown_message()
            return self._edit(interaction, message, data)
        if kind == AUTOCOMPLETE_RESULT:
            interaction.choices = list(data["choices"])
        elif kind == MODAL:
            interaction.modal = copy.deepcopy(data)
        return None

    def _post(self, interaction: Interaction, data: JSON, files: Files) -> Message:
        """Post a response message in the interaction's channel (kept aside if ephemeral)."""
        channel = self.state.channel(interaction.channel_id)
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        message_type = 20 if interaction.type == APPLICATION_COMMAND else 0
        message = self.messages.create_message(
            channel,
            self.state.bot_user_id,
            data,
            files=files,
            message_type=message_type,
            interaction_id=interaction.id,
            ephemeral=ephemeral,
            checked=True,
            # Only interaction responses may be ephemeral or loading.
            extra_flags=int(data.get("flags") or 0) & (EPHEMERAL | LOADING),
        )
        if ephemeral:
            interaction.ephemeral_messages[message.id] = message
        return message

    def _edit(
        self, interaction: Interaction, message: Message, data: JSON, files: Files | None = None
    ) -> Message:
        """Edit a message the interaction owns; the first edit of a deferral ends loading."""
        channel = self.state.channel(message.channel_id)
        if message.flags & LOADING:
            message.flags &= ~LOADING
            interaction.loading = False
        return self.messages.edit_message(channel, message, data, checked=True, files=files)

    # Webhook routes: follow-ups and the original response

    def by_webhook(self, application_id: int, token: str) -> Interaction:
        """Return the interaction a webhook token belongs to, or answer 10015/50027."""
        interaction = self.state.interaction_tokens.get(token)
        if interaction is None or application_id != self.state.application_id:
            raise err.unknown_webhook()
        if asyncio.get_running_loop().time() - interaction.created > TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return interaction

    def followup(self, interaction: Interaction, data: JSON, files: Files) -> Message:
        """Send a follow-up; after a deferral the first one fills the loading message."""
        if interaction.callback_type is None:
            raise err.unknown_webhook()
        errors = FormErrors()
        has_body = check_message(errors, data)
        errors.raise_if_any()
        if not has_body and not files:
            raise err.empty_message()
        if interaction.loading and interaction.original_id is not None:
            original = self.message_of(interaction, "@original")
            message = self._edit(
                interaction, original, {k: v for k, v in data.items() if k != "flags"}
            )
        else:
            message = self._post(interaction, data, files)
            interaction.followup_ids.append(message.id)
        self._record(interaction, self._message_record("followup", message, data))
        return message

    def message_of(self, interaction: Interaction, which: str) -> Message:
        """Return the original response (`@original`) or a follow-up, or answer 10008."""
        if which == "@original":
            message_id = interaction.original_id
        else:
            message_id = parse_snowflake(which)
            if message_id not in (interaction.original_id, *interaction.followup_ids):
                message_id = None
        message = (
            None
            if message_id is None
            else self.state.find_message(interaction.channel_id, message_id)
        )
        if message is None:
            raise err.unknown_message()
        return message

    def edit(
        self, interaction: Interaction, which: str, data: JSON, files: Files | None = None
    ) -> Message:
        """Edit the original response or a follow-up (new files join the kept ones)."""
        message = self.message_of(interaction, which)
        errors = FormErrors()
        check_message(errors, data, editing=True)
        errors.raise_if_any()
        edited = self._edit(interaction, message, data, files)
        self._record(interaction, self._message_record("edit", edited, data))
        return edited

    def delete(self, interaction: Interaction, which: str) -> None:
        """Delete the original response or a follow-up."""
        message = self.message_of(interaction, which)
        if message.ephemeral:
            interaction.ephemeral_messages.pop(message.id, None)
        else:
            self.messages.delete_message(self.state.channel(message.channel_id), message)
        if message.id == interaction.original_id:
            interaction.loading = False
        self._record(
            interaction,
            {
                "kind": "delete",
                "type": None,
                "data": {"id": str(message.id)},
                "message": None,
                "ephemeral": message.ephemeral,
            },
        )

    def _message_record(self, kind: str, message: Message, data: JSON) -> JSON:
        """Return the record of a follow-up or an edit."""
        return {
            "kind": kind,
            "type": None,
            "data": copy.deepcopy(data),
            "message": self.payloads.message(message),
            "ephemeral": bool(message.flags & EPHEMERAL),
        }

    # Waiting for answers

    def _record(self, interaction: Interaction, record: JSON) -> None:
        """Keep one answer and wake whoever waits on this interaction."""
        interaction.records.append(record)
        self._wake(interaction)

    def _wake(self, interaction: Interaction) -> None:
        """Wake whoever waits on an interaction."""
        waiters, interaction.waiters = interaction.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(
        self,
        interaction: Interaction,
        done: Callable[[Interaction], bool],
        timeout: float,  # noqa: ASYNC109 - a deadline for the whole wait, not one call
    ) -> None:
        """Wait until `done(interaction)` holds, or raise TimeoutError."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not done(interaction):
            remaining = end - loop.time()
            if remaining <= 0:
                kinds = [(r["kind"], r["type"]) for r in interaction.records] or "nothing"
                refused = [r["error"] for r in interaction.rejected]
                raise TimeoutError(
                    f"interaction {interaction.id} got no complete answer in {timeout}s "
                    f"(received: {kinds}; refused: {refused or 'nothing'})"
                )
            waiter = loop.create_future()
            interaction.waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                continue

    @staticmethod
    def settled(count: int | None) -> Callable[[Interaction], bool]:
        """Return a test for a complete answer: `count` records, or a final response."""

        def done(interaction: Interaction) -> bool:
            if count is not None:
                return len(interaction.records) >= count
            if interaction.callback_type is None:
                return False
            if interaction.callback_type in (DEFERRED_MESSAGE, DEFERRED_UPDATE):
                return any(r["kind"] != "callback" for r in interaction.records)
            return True

        return done
