"""Discord's documented limits, checked the way Discord reports them (50035 field errors)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sandboxes.discord.errors import FormErrors

Path = tuple[str | int, ...]

MESSAGE_CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
EMBED_TOTAL = 6000
CHANNEL_NAME = 100
CHANNEL_TOPIC = 1024
FORUM_TOPIC = 4096
FORUM_TAGS = 20
FORUM_TAG_NAME = 20
APPLIED_TAGS = 5
AUTO_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
AUTOCOMPLETE_CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
MODAL_TITLE = 45
MODAL_COMPONENTS = 5
CUSTOM_ID = 100
TEXT_INPUT_LABEL = 45
LABEL_DESCRIPTION = 100
TEXT_INPUT_VALUE = 4000
PLACEHOLDER = 100
SELECT_PLACEHOLDER = 150
SELECT_OPTIONS = 25
BUTTON_LABEL = 80
ACTION_ROWS = 5
ROW_WIDTH = 5
COMMANDS = 100
COMMAND_NAME = 32
COMMAND_DESCRIPTION = 100
COMMAND_OPTIONS = 25
COMMAND_CHOICES = 25
ATTACHMENT_SIZE = 10 * 1024 * 1024

# Message flags a bot may set on a channel message: SUPPRESS_EMBEDS,
# SUPPRESS_NOTIFICATIONS and IS_COMPONENTS_V2 (EPHEMERAL only on interaction responses).
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12
COMPONENTS_V2 = 1 << 15
SENDABLE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | COMPONENTS_V2

COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")
SELECT_TYPES = (3, 5, 6, 7, 8)


def max_length(n: int) -> tuple[str, str]:
    """Return Discord's error for a string or list longer than `n`."""
    return "BASE_TYPE_MAX_LENGTH", f"Must be {n} or fewer in length."


def bad_length(low: int, high: int) -> tuple[str, str]:
    """Return Discord's error for a length outside low..high."""
    return "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."


REQUIRED = ("BASE_TYPE_REQUIRED", "This field is required")


def check_str(
    errors: FormErrors,
    data: dict[str, Any],
    key: str,
    path: Path,
    *,
    required: bool = False,
    low: int = 0,
    high: int | None = None,
) -> str | None:
    """Check an optional string field's type and length; return it when it is a string."""
    value = data.get(key)
    where = (*path, key)
    if value is None:
        if required:
            errors.add(where, *REQUIRED)
        return None
    if not isinstance(value, str):
        errors.add(where, "STRING_TYPE_CONVERT", f'Could not interpret "{value}" as string.')
        return None
    if required and not value and not low:
        # Discord reads an empty required string as a missing one.
        errors.add(where, *REQUIRED)
        return value
    if high is not None and not low <= len(value) <= high:
        errors.add(where, *(bad_length(low, high) if low else max_length(high)))
    elif high is None and len(value) < low:
        errors.add(where, "BASE_TYPE_MIN_LENGTH", f"Must be {low} or more in length.")
    return value


def check_int(
    errors: FormErrors, data: dict[str, Any], key: str, path: Path, *, required: bool = False
) -> int | None:
    """Check an optional whole-number field; return it when it is one."""
    value = data.get(key)
    if value is None:
        if required:
            errors.add((*path, key), *REQUIRED)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        errors.add((*path, key), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        return None
    return value


def check_bool(errors: FormErrors, data: dict[str, Any], key: str, path: Path) -> bool | None:
    """Check an optional boolean field; return it when it is one."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        errors.add((*path, key), "BOOLEAN_TYPE_CONVERT", "Must be either true or false.")
        return None
    return value


def check_list(errors: FormErrors, data: dict[str, Any], key: str, path: Path) -> list[Any] | None:
    """Check an optional list field; return it when it is one."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        errors.add((*path, key), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return None
    return value


def check_object(errors: FormErrors, value: Any, path: Path) -> dict[str, Any] | None:
    """Check that a value is a JSON object; return it when it is."""
    if not isinstance(value, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return None
    return value


def check_choice(
    errors: FormErrors, data: dict[str, Any], key: str, path: Path, choices: Sequence[int]
) -> int | None:
    """Check an optional number that must be one of `choices`."""
    value = check_int(errors, data, key, path)
    if value is not None and value not in choices:
        listed = ", ".join(str(choice) for choice in choices)
        errors.add((*path, key), "BASE_TYPE_CHOICES", f"Value must be one of {{{listed}}}.")
        return None
    return value


def _check_url(errors: FormErrors, data: dict[str, Any], key: str, path: Path) -> None:
    """Check that a URL field is an http(s) or attachment:// URL."""
    value = check_str(errors, data, key, path, high=2048)
    if value is not None and urlsplit(value).scheme not in ("http", "https", "attachment"):
        errors.add((*path, key), "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def check_embeds(errors: FormErrors, embeds: Any, path: Path) -> None:
    """Check a message's embeds against every embed limit, including the 6,000 total."""
    if not isinstance(embeds, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if len(embeds) > EMBEDS_PER_MESSAGE:
        errors.add(path, *max_length(EMBEDS_PER_MESSAGE))
        return
    total = 0
    for index, raw in enumerate(embeds):
        where = (*path, index)
        embed = check_object(errors, raw, where)
        if embed is None:
            continue
        for key, limit in (("title", EMBED_TITLE), ("description", EMBED_DESCRIPTION)):
            total += len(check_str(errors, embed, key, where, high=limit) or "")
        _check_url(errors, embed, "url", where)
        color = check_int(errors, embed, "color", where)
        if color is not None and not 0 <= color <= 0xFFFFFF:
            errors.add((*where, "color"), "NUMBER_TYPE_MAX", "int value should be <= 16777215.")
        stamp = check_str(errors, embed, "timestamp", where)
        if stamp is not None:
            try:
                datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                errors.add((*where, "timestamp"), "DATE_TYPE_PARSE", f"Could not parse {stamp}.")
        fields = check_list(errors, embed, "fields", where) or []
        if len(fields) > EMBED_FIELDS:
            errors.add((*where, "fields"), *max_length(EMBED_FIELDS))
        for number, raw_field in enumerate(fields[:EMBED_FIELDS]):
            field_path = (*where, "fields", number)
            item = check_object(errors, raw_field, field_path)
            if item is None:
                continue
            name = check_str(errors, item, "name", field_path, required=True, high=EMBED_FIELD_NAME)
            value = check_str(
                errors, item, "value", field_path, required=True, high=EMBED_FIELD_VALUE
            )
            total += len(name or "") + len(value or "")
            check_bool(errors, item, "inline", field_path)
        for key, text_key, limit in (
            ("footer", "text", EMBED_FOOTER),
            ("author", "name", EMBED_AUTHOR),
        ):
            part = embed.get(key)
            if part is None:
                continue
            obj = check_object(errors, part, (*where, key))
            if obj is None:
                continue
            total += len(
                check_str(errors, obj, text_key, (*where, key), required=True, high=limit) or ""
            )
            for url_key in ("url", "icon_url"):
                _check_url(errors, obj, url_key, (*where, key))
        for key in ("image", "thumbnail"):
            part = embed.get(key)
            if part is not None and (obj := check_object(errors, part, (*where, key))) is not None:
                _check_url(errors, obj, "url", (*where, key))
    if total > EMBED_TOTAL:
        errors.add(
            path, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL}"
        )


def _check_button(errors: FormErrors, button: dict[str, Any], path: Path) -> None:
    """Check one button: a style, a custom_id (or a URL for link buttons), a short label."""
    style = check_choice(errors, button, "style", path, (1, 2, 3, 4, 5, 6))
    if style is None and button.get("style") is None:
        errors.add((*path, "style"), *REQUIRED)
    check_str(errors, button, "label", path, high=BUTTON_LABEL)
    if style == 5:
        _check_url(errors, button, "url", path)
        if button.get("url") is None:
            errors.add((*path, "url"), *REQUIRED)
    elif style in (1, 2, 3, 4):
        check_str(errors, button, "custom_id", path, required=True, low=1, high=CUSTOM_ID)


def _check_select(errors: FormErrors, select: dict[str, Any], path: Path) -> None:
    """Check one select menu: a custom_id, a short placeholder, at most 25 options."""
    check_str(errors, select, "custom_id", path, required=True, low=1, high=CUSTOM_ID)
    check_str(errors, select, "placeholder", path, high=SELECT_PLACEHOLDER)
    if select.get("type") == 3:
        options = check_list(errors, select, "options", path)
        if options is None:
            errors.add((*path, "options"), *REQUIRED)
        elif not 1 <= len(options) <= SELECT_OPTIONS:
            errors.add((*path, "options"), *bad_length(1, SELECT_OPTIONS))
        for index, raw in enumerate(options or []):
            option = check_object(errors, raw, (*path, "options", index))
            if option is not None:
                where = (*path, "options", index)
                check_str(errors, option, "label", where, required=True, low=1, high=100)
                check_str(errors, option, "value", where, required=True, low=1, high=100)
                check_str(errors, option, "description", where, high=100)


def check_components(errors: FormErrors, components: Any, path: Path, *, v2: bool) -> None:
    """Check message components: action rows of buttons or one select (layout components
    of Components V2 are only checked for being objects with a type)."""
    if not isinstance(components, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if v2:
        for index, raw in enumerate(components):
            item = check_object(errors, raw, (*path, index))
            if item is not None and check_int(errors, item, "type", (*path, index)) is None:
                errors.add((*path, index, "type"), *REQUIRED)
        return
    if len(components) > ACTION_ROWS:
        errors.add(path, *max_length(ACTION_ROWS))
    seen: set[str] = set()
    for index, raw in enumerate(components):
        where = (*path, index)
        row = check_object(errors, raw, where)
        if row is None:
            continue
        if row.get("type") != 1:
            errors.add(
                (*where, "type"), "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).'
            )
            continue
        children = check_list(errors, row, "components", where)
        if not children:
            errors.add((*where, "components"), *bad_length(1, ROW_WIDTH))
            continue
        width = 0
        for number, raw_child in enumerate(children):
            child_path = (*where, "components", number)
            child = check_object(errors, raw_child, child_path)
            if child is None:
                continue
            kind = child.get("type")
            if kind == 2:
                width += 1
                _check_button(errors, child, child_path)
            elif kind in SELECT_TYPES:
                width += ROW_WIDTH
                _check_select(errors, child, child_path)
            else:
                errors.add(
                    (*child_path, "type"),
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).',
                )
                continue
            custom_id = child.get("custom_id")
            if isinstance(custom_id, str):
                if custom_id in seen:
                    errors.add(
                        (*child_path, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)
        if width > ROW_WIDTH:
            errors.add(
                (*where, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )


def check_message(
    errors: FormErrors, data: dict[str, Any], path: Path = (), *, editing: bool = False
) -> bool:
    """Check a message body (content, embeds, components, flags, reference); return
    whether it carries something to show, as Discord requires of a new message."""
    content = check_str(errors, data, "content", path, high=MESSAGE_CONTENT)
    flags = check_int(errors, data, "flags", path) or 0
    v2 = bool(flags & COMPONENTS_V2)
    embeds = data.get("embeds")
    if embeds is not None:
        check_embeds(errors, embeds, (*path, "embeds"))
    components = data.get("components")
    if components is not None:
        check_components(errors, components, (*path, "components"), v2=v2)
    mentions = data.get("allowed_mentions")
    if mentions is not None and (
        obj := check_object(errors, mentions, (*path, "allowed_mentions"))
    ):
        parse = check_list(errors, obj, "parse", (*path, "allowed_mentions")) or []
        for index, kind in enumerate(parse):
            if kind not in ("users", "roles", "everyone"):
                errors.add(
                    (*path, "allowed_mentions", "parse", index),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of ('roles', 'users', 'everyone').",
                )
    check_bool(errors, data, "tts", path)
    if editing:
        return True
    has_files = bool(data.get("attachments")) or bool(data.get("sticker_ids"))
    if v2:
        return bool(components)
    return bool(content) or bool(embeds) or has_files or data.get("poll") is not None


def check_channel_name(
    errors: FormErrors, data: dict[str, Any], path: Path, *, required: bool
) -> None:
    """Check a channel or thread name: 1 to 100 characters."""
    check_str(errors, data, "name", path, required=required, low=1, high=CHANNEL_NAME)


def check_forum_tags(errors: FormErrors, tags: Any, path: Path) -> list[dict[str, Any]]:
    """Check a forum's available tags: at most 20, each named with 1 to 20 characters."""
    if not isinstance(tags, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(tags) > FORUM_TAGS:
        errors.add(path, *max_length(FORUM_TAGS))
    checked: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, raw in enumerate(tags):
        tag = check_object(errors, raw, (*path, index))
        if tag is None:
            continue
        name = check_str(
            errors, tag, "name", (*path, index), required=True, low=1, high=FORUM_TAG_NAME
        )
        check_bool(errors, tag, "moderated", (*path, index))
        check_str(errors, tag, "emoji_name", (*path, index))
        if name is not None and name.lower() in names:
            errors.add(
                (*path, index, "name"), "CHANNEL_TAG_NAME_DUPLICATED", "Tag names must be unique"
            )
        names.add((name or "").lower())
        checked.append(tag)
    return checked


def check_applied_tags(errors: FormErrors, value: Any, known: set[int], path: Path) -> list[int]:
    """Check a thread's applied tags: at most 5, each one of the forum's available tags."""
    if not isinstance(value, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(value) > APPLIED_TAGS:
        errors.add(path, *max_length(APPLIED_TAGS))
        return []
    tags: list[int] = []
    for index, raw in enumerate(value):
        tag = int(raw) if isinstance(raw, (str, int)) and str(raw).isdigit() else None
        if tag is None or tag not in known:
            errors.add((*path, index), "CHANNEL_TAG_INVALID", "Tag does not exist in this channel")
        elif tag not in tags:
            tags.append(tag)
    return tags


def check_choices(errors: FormErrors, choices: Any, path: Path) -> list[dict[str, Any]]:
    """Check autocomplete choices: at most 25, names 1-100 chars, string values <= 100."""
    if not isinstance(choices, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(choices) > AUTOCOMPLETE_CHOICES:
        errors.add(path, *max_length(AUTOCOMPLETE_CHOICES))
    for index, raw in enumerate(choices):
        choice = check_object(errors, raw, (*path, index))
        if choice is None:
            continue
        check_str(errors, choice, "name", (*path, index), required=True, low=1, high=CHOICE_NAME)
        value = choice.get("value")
        if value is None:
            errors.add((*path, index, "value"), *REQUIRED)
        elif isinstance(value, str):
            check_str(errors, choice, "value", (*path, index), high=CHOICE_VALUE)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.add(
                (*path, index, "value"), "STRING_TYPE_CONVERT", "Must be a string or number."
            )
    return [choice for choice in choices if isinstance(choice, dict)]


def _check_text_input(
    errors: FormErrors, item: dict[str, Any], path: Path, *, labelled: bool
) -> None:
    """Check one text input of a modal."""
    check_str(errors, item, "custom_id", path, required=True, low=1, high=CUSTOM_ID)
    check_choice(errors, item, "style", path, (1, 2))
    if not labelled:
        check_str(errors, item, "label", path, required=True, low=1, high=TEXT_INPUT_LABEL)
    check_str(errors, item, "placeholder", path, high=PLACEHOLDER)
    check_str(errors, item, "value", path, high=TEXT_INPUT_VALUE)
    low = check_int(errors, item, "min_length", path)
    high = check_int(errors, item, "max_length", path)
    if low is not None and not 0 <= low <= TEXT_INPUT_VALUE:
        errors.add(
            (*path, "min_length"), "NUMBER_TYPE_MAX", f"int value should be <= {TEXT_INPUT_VALUE}."
        )
    if high is not None and not 1 <= high <= TEXT_INPUT_VALUE:
        errors.add(
            (*path, "max_length"), "NUMBER_TYPE_MAX", f"int value should be <= {TEXT_INPUT_VALUE}."
        )


def check_modal(errors: FormErrors, data: Any, path: Path) -> None:
    """Check a modal: title 1-45, custom_id 1-100, 1-5 rows or labels of inputs."""
    modal = check_object(errors, data, path)
    if modal is None:
        return
    check_str(errors, modal, "title", path, required=True, low=1, high=MODAL_TITLE)
    check_str(errors, modal, "custom_id", path, required=True, low=1, high=CUSTOM_ID)
    components = check_list(errors, modal, "components", path)
    if not components or len(components) > MODAL_COMPONENTS:
        errors.add((*path, "components"), *bad_length(1, MODAL_COMPONENTS))
        return
    for index, raw in enumerate(components):
        where = (*path, "components", index)
        item = check_object(errors, raw, where)
        if item is None:
            continue
        kind = item.get("type")
        if kind == 1:
            children = check_list(errors, item, "components", where) or []
            if len(children) != 1:
                errors.add((*where, "components"), *bad_length(1, 1))
            for number, child in enumerate(children):
                child_path = (*where, "components", number)
                if isinstance(child, dict) and child.get("type") == 4:
                    _check_text_input(errors, child, child_path, labelled=False)
                else:
                    errors.add(
                        (*child_path, "type"),
                        "UNION_TYPE_CHOICES",
                        'Value of field "type" must be one of (4,).',
                    )
        elif kind == 18:
            check_str(errors, item, "label", where, required=True, low=1, high=TEXT_INPUT_LABEL)
            check_str(errors, item, "description", where, high=LABEL_DESCRIPTION)
            child = check_object(errors, item.get("component"), (*where, "component"))
            if child is not None and child.get("type") == 4:
                _check_text_input(errors, child, (*where, "component"), labelled=True)
            elif child is not None and child.get("type") in (*SELECT_TYPES, 19, 21, 22, 23):
                check_str(
                    errors,
                    child,
                    "custom_id",
                    (*where, "component"),
                    required=True,
                    low=1,
                    high=CUSTOM_ID,
                )
            elif child is not None:
                errors.add(
                    (*where, "component", "type"),
                    "UNION_TYPE_CHOICES",
                    "Unsupported component type.",
                )
        elif kind != 10:
            errors.add(
                (*where, "type"),
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (1, 10, 18).',
            )


def _check_option(errors: FormErrors, option: dict[str, Any], path: Path, depth: int) -> None:
    """Check one command option and, for subcommands, its own options."""
    kind = check_int(errors, option, "type", path, required=True)
    name = check_str(errors, option, "name", path, required=True, low=1, high=COMMAND_NAME)
    if name is not None and (not COMMAND_NAME_RE.match(name) or name != name.lower()):
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    check_str(errors, option, "description", path, required=True, low=1, high=COMMAND_DESCRIPTION)
    choices = check_list(errors, option, "choices", path)
    if choices is not None:
        if len(choices) > COMMAND_CHOICES:
            errors.add((*path, "choices"), *max_length(COMMAND_CHOICES))
        if option.get("autocomplete") and choices:
            errors.add(
                (*path, "autocomplete"),
                "APPLICATION_COMMAND_OPTIONS_AUTOCOMPLETE_WITH_CHOICES",
                "Autocomplete cannot be set when choices are present",
            )
        for index, raw in enumerate(choices):
            choice = check_object(errors, raw, (*path, "choices", index))
            if choice is not None:
                check_str(
                    errors,
                    choice,
                    "name",
                    (*path, "choices", index),
                    required=True,
                    low=1,
                    high=CHOICE_NAME,
                )
    nested = check_list(errors, option, "options", path)
    if kind in (1, 2) and nested is not None:
        if depth >= 2:
            errors.add(
                (*path, "options"),
                "APPLICATION_COMMAND_OPTIONS_TOO_DEEP",
                "Options nested too deeply",
            )
            return
        _check_options(errors, nested, (*path, "options"), depth + 1)


def _check_options(errors: FormErrors, options: list[Any], path: Path, depth: int) -> None:
    """Check a list of options: at most 25, unique names, required ones first."""
    if len(options) > COMMAND_OPTIONS:
        errors.add(path, *max_length(COMMAND_OPTIONS))
    names: set[str] = set()
    optional_seen = False
    for index, raw in enumerate(options):
        option = check_object(errors, raw, (*path, index))
        if option is None:
            continue
        _check_option(errors, option, (*path, index), depth)
        if option.get("name") in names:
            errors.add(
                (*path, index, "name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(str(option.get("name")))
        if option.get("type") in (1, 2):
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    (*path, index, "required"),
                    "APPLICATION_COMMAND_OPTION_REQUIRED_AFTER_OPTIONAL",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True


def check_commands(errors: FormErrors, commands: Any) -> list[dict[str, Any]]:
    """Check a bulk overwrite: at most 100 commands with valid, unique names per type."""
    if not isinstance(commands, list):
        errors.add((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(commands) > COMMANDS:
        errors.add((), *max_length(COMMANDS))
    seen: set[tuple[int, str]] = set()
    checked: list[dict[str, Any]] = []
    for index, raw in enumerate(commands):
        command = check_object(errors, raw, (index,))
        if command is None:
            continue
        check_command(errors, command, (index,))
        key = (command.get("type") or 1, str(command.get("name")))
        if key in seen:
            errors.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[1]}",
            )
        seen.add(key)
        checked.append(command)
    return checked


def check_command(errors: FormErrors, command: dict[str, Any], path: Path) -> None:
    """Check one command: a chat command has a lowercase name and a description."""
    kind = check_choice(errors, command, "type", path, (1, 2, 3, 4)) or 1
    name = check_str(errors, command, "name", path, required=True, low=1, high=COMMAND_NAME)
    if kind == 1:
        if name is not None and (not COMMAND_NAME_RE.match(name) or name != name.lower()):
            errors.add(
                (*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        check_str(
            errors, command, "description", path, required=True, low=1, high=COMMAND_DESCRIPTION
        )
        options = check_list(errors, command, "options", path)
        if options is not None:
            _check_options(errors, options, (*path, "options"), 1)
    elif command.get("description"):
        errors.add(
            (*path, "description"),
            "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
            "Context menu commands cannot have description",
        )
