"""`lessonbot sandbox --tour`: play the whole story against a fresh sandbox, as people would.

The tour starts the sandboxes and the bot as `lessonbot sandbox --fresh` does, then acts as
learners and a maintainer through the sandboxes' own HTTP APIs (a second client: plain
aiohttp, never the bot's internals) and narrates each step with what a person sees: the
Discord messages, the pull request's title and diff, the emails' subjects. The one thing
it does inside the process is what an operator does with `lessonbot digest --now`.

Each step is a name, an action and a check that waits (bounded) for the outcome people
would observe, so a step is a few lines to add: write two async functions and list them in
STEPS. The first step whose outcome does not show stops the tour with what was expected
and what was seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import aiohttp

from bot.config import Settings
from bot.i18n import t
from bot.offline.environment import SandboxEnvironment
from bot.offline.run import fresh_start, started_sandbox
from bot.offline.state import holding_state_dir

log = logging.getLogger(__name__)

T = TypeVar("T")
EXIT_TOUR_FAILED = 1
# How long a check waits for what people would see; each returns as soon as it shows.
CHECK_SECONDS = 30.0
POLL_SECONDS = 0.1

# The story's lesson (one of the sample lessons in lessons/) and its people.
LESSON = "data-basics/what-is-data"
PROGRAM, SLUG = LESSON.split("/")
TITLE = "What Is Data?"
PATH = f"programs/{PROGRAM}/lessons/en/{SLUG}.mdx"
ANA, LI, MAYA, SAM = 1001, 1002, 1003, 1004
NAMES = {ANA: "ana", LI: "li", MAYA: "maya", SAM: "sam"}
MAINTAINER = "maintainer"
ASKED = "¿Los datos siempre son números?"
STILL_OPEN = "数据集里缺少的人会怎么样？"  # noqa: RUF001 - Li asks in Chinese
ANSWER = "No: el texto, las fotos y los clics también son datos."
# Maya's question is about the sentence the maintainer's merge changes (DISCORD_FIND's).
ABOUT_THE_CHANGE = (
    "Why would a speech model trained on voices from one region struggle with accents?"
)
DISCORD_FIND = "Data is never perfectly neutral."
DISCORD_REPLACE = "Data is never completely neutral."
REVIEWED = "Data is never fully neutral."
# What Zoé selects on the rendered page: the source spells its start in bold (**...**).
WEB_SELECTED = "Structured data fits neatly into rows and columns"
WEB_REPLACE = "**Structured data** fits neatly into rows and columns (a table)"
WEB_EMAIL = "zoe@sandbox.test"

SUBCOMMAND, STRING, MODAL = 1, 3, 9
SUGGESTION_URL = re.compile(r"/suggestions/(\d+)")
METRIC = re.compile(r"^lessonbot_questions\{([^}]*)\}\s+(\S+)$", re.MULTILINE)
LABEL = re.compile(r'(\w+)="([^"]*)"')


class StepFailedError(Exception):
    """A step's outcome did not show: what was expected, and what was seen instead."""

    def __init__(self, expected: str, seen: str) -> None:
        super().__init__(expected)
        self.expected = expected
        self.seen = seen


Narration = list[str]
Action = Callable[["Tour"], Awaitable[Narration]]


@dataclass(frozen=True)
class Step:
    """One step of the story: what someone does, and what shows that it happened."""

    name: str
    act: Action
    check: Action


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status, its body (JSON or text) and where it redirects."""

    status: int
    body: Any
    location: str = ""


@dataclass
class Tour:
    """The running sandbox, seen from outside: where everything listens, and a client."""

    description: dict[str, Any]
    http: aiohttp.ClientSession
    # What an operator runs beside the bot: `lessonbot digest --now`, in this process.
    send_digest: Callable[[], Awaitable[None]]
    check_seconds: float = CHECK_SECONDS
    # What earlier steps found (post, issue, suggestions, pull requests) for later ones.
    found: dict[str, Any] = field(default_factory=dict)

    # --- where things are ---------------------------------------------------------------

    @property
    def discord_admin(self) -> str:
        """Return the Discord sandbox's admin API."""
        return f"{self.description['discord']['url']}/_sandbox"

    @property
    def repo(self) -> str:
        """Return the GitHub sandbox's REST path of the lessons' repository."""
        github = self.description["github"]
        return f"{github['url']}/repos/{github['repository']}"

    @property
    def web(self) -> str:
        """Return the bot's web server."""
        return str(self.description["bot"]["web_url"])

    def channel(self, name: str) -> int:
        """Return a guild channel's id by name."""
        channels = self.description["discord"]["channels"]
        if name not in channels:
            raise StepFailedError(f"a channel named {name} in the guild", _listed(channels))
        return int(channels[name])

    # --- acting and reading over HTTP ---------------------------------------------------

    async def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201, 204),
        what: str = "",
    ) -> Answer:
        """Send one request; return its answer (the body as JSON when it is JSON, else
        text); raise StepFailedError when the status is not one of `expect`."""
        try:
            async with self.http.request(
                method, url, json=json, data=data, headers=headers, allow_redirects=False
            ) as response:
                if response.content_type == "application/json":
                    body: Any = await response.json()
                else:
                    body = await response.text()
                status, location = response.status, response.headers.get("Location", "")
        except aiohttp.ClientError as error:
            raise StepFailedError(
                what or f"{method} {url} to answer", f"no answer: {error}"
            ) from None
        if status not in expect:
            shown = body if isinstance(body, str) else str(body)
            raise StepFailedError(
                what or f"{method} {url} to succeed", f"HTTP {status}: {_short(shown, 300)}"
            )
        return Answer(status, body, location)

    async def discord_post(self, path: str, body: dict[str, Any], what: str = "") -> Any:
        """POST to the Discord sandbox's admin API (acting as a member); `what` says
        what a failure did not let happen."""
        url = f"{self.discord_admin}{path}"
        return (await self.call("POST", url, json=body, what=what)).body

    async def discord_get(self, path: str) -> Any:
        """GET from the Discord sandbox's admin API."""
        return (await self.call("GET", f"{self.discord_admin}{path}")).body

    async def answers(self, interaction_id: str) -> list[dict[str, Any]]:
        """Wait for the bot's complete answer to an interaction; return its records."""
        seconds = self.check_seconds
        url = f"{self.discord_admin}/interactions/{interaction_id}/responses?timeout={seconds}"
        return list(
            (await self.call("GET", url, what="the bot to answer the interaction in time")).body
        )

    async def as_maintainer(
        self, method: str, path: str, json: Any = None, *, accept: str | None = None
    ) -> Any:
        """Call the GitHub sandbox's REST API as the maintainer; return the answer's body."""
        headers = {"Authorization": f"token {MAINTAINER}"}
        if accept:
            headers["Accept"] = accept
        return (await self.call(method, f"{self.repo}{path}", json=json, headers=headers)).body

    async def dms(self, user: int) -> list[dict[str, Any]]:
        """Return the bot's direct messages to a member, oldest first."""
        return list(await self.discord_get(f"/users/{user}/dms"))

    async def mail(self) -> list[dict[str, Any]]:
        """Return every email the catcher caught."""
        return list((await self.call("GET", self.description["mail"]["messages_url"])).body)

    async def eventually(
        self, expected: str, probe: Callable[[], Awaitable[tuple[T | None, str]]]
    ) -> T:
        """Poll `probe` (what it found, or None, and what is seen now) until it finds
        something or the check's time is up; then raise StepFailedError with the last seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.check_seconds
        while True:
            found, seen = await probe()
            if found is not None:
                return found
            if loop.time() > deadline:
                raise StepFailedError(expected, seen)
            await asyncio.sleep(POLL_SECONDS)


# --- the story's steps, each an action and a check ----------------------------------------


async def ask(tour: Tour) -> Narration:
    """Ana asks a question in the lesson's post; Li asks one nobody will answer."""
    forum = tour.channel(PROGRAM)
    threads = await tour.discord_get(f"/channels/{forum}/threads")
    posts = [post for post in threads if TITLE in str(post.get("name"))]
    if not posts:
        names = _listed(str(post.get("name")) for post in threads)
        raise StepFailedError(f"a post for {_q(TITLE)} in the {PROGRAM} forum", f"posts: {names}")
    thread = int(posts[0]["id"])
    tour.found["thread"] = thread
    asked = await tour.discord_post(
        f"/channels/{thread}/messages", {"author_id": ANA, "content": ASKED}
    )
    tour.found["asked"] = int(asked["id"])
    await tour.discord_post(
        f"/channels/{thread}/messages", {"author_id": LI, "content": STILL_OPEN}
    )
    await tour.discord_post(
        f"/channels/{thread}/messages", {"author_id": MAYA, "content": ABOUT_THE_CHANGE}
    )
    return [
        f"ana (Spanish) writes in the post {_q(posts[0]['name'])}: {ASKED}",
        f"li (Chinese) writes there too: {STILL_OPEN}",
        f"and maya, in English: {ABOUT_THE_CHANGE}",
    ]


async def questions_counted(tour: Tour) -> Narration:
    """The bot counts all three as open questions of the lesson's program."""
    counts = await tour.eventually(
        "the bot to count ana's, li's and maya's messages as open questions (/metrics)",
        lambda: _question_counts(
            tour,
            lambda c: all(c.get(("open", locale), 0) >= 1 for locale in ("es", "zh", "en")),
        ),
    )
    return [f"The bot counts open questions in {PROGRAM}: {_counts_text(counts)}"]


async def answer(tour: Tour) -> Narration:
    """Sam answers Ana by replying to her message."""
    await tour.discord_post(
        f"/channels/{tour.found['thread']}/messages",
        {"author_id": SAM, "content": ANSWER, "reply_to": tour.found["asked"]},
    )
    return [f"sam replies to ana: {ANSWER}"]


async def question_answered(tour: Tour) -> Narration:
    """Ana's question is counted as answered; Li's stays open."""
    counts = await tour.eventually(
        "ana's question to be counted as answered (/metrics)",
        lambda: _question_counts(
            tour, lambda c: c.get(("answered", "es"), 0) >= 1 and c.get(("open", "zh"), 0) >= 1
        ),
    )
    return [f"The bot now counts: {_counts_text(counts)}"]


async def suggest_on_discord(tour: Tour) -> Narration:
    """Sam runs /suggest edit on the English lesson and fills the modal."""
    guild = tour.description["discord"]["guild_id"]
    general = tour.channel("general")
    options = [
        {"name": "lesson", "type": STRING, "value": LESSON},
        {"name": "locale", "type": STRING, "value": "en"},
    ]
    started = await tour.discord_post(
        "/interactions/commands",
        {
            "guild_id": guild,
            "channel_id": general,
            "user_id": SAM,
            "name": "suggest",
            "locale": "en-US",
            "options": [{"name": "edit", "type": SUBCOMMAND, "options": options}],
        },
    )
    [shown] = (await tour.answers(started["interaction_id"]))[-1:]
    if shown.get("type") != MODAL:
        raise StepFailedError("the bot to open the suggest form (a modal)", _answer_text(shown))
    title = shown["data"].get("title", "")
    fields = {"find": DISCORD_FIND, "replace": DISCORD_REPLACE, "reason": "Fewer absolutes."}
    submitted = await tour.discord_post(
        "/interactions/modals",
        {
            "guild_id": guild,
            "channel_id": general,
            "user_id": SAM,
            "components": fields,
            "locale": "en-US",
        },
        what="the suggest form to take sam's edit",
    )
    [reply] = (await tour.answers(submitted["interaction_id"]))[-1:]
    text = _answer_text(reply)
    found = SUGGESTION_URL.search(text)
    if found is None:
        raise StepFailedError("the bot to thank sam with his suggestion's status page", text)
    tour.found["discord_suggestion"] = int(found.group(1))
    return [
        f"sam runs /suggest edit lesson:{LESSON} locale:en; the bot opens a form: {_q(title)}",
        f"sam changes {_q(DISCORD_FIND)} to {_q(DISCORD_REPLACE)} and sends it",
        f"The bot answers (only sam sees it): {text}",
    ]


async def discord_pr_opened(tour: Tour) -> Narration:
    """The bot opens a pull request with the change and tells sam and the lesson's post."""
    number = tour.found["discord_suggestion"]
    pull = await _pull_of(tour, number)
    tour.found["discord_pr"] = pull["number"]
    dm = await _dm_with(tour, SAM, str(pull["html_url"]), "sam's DM that the PR is open")
    posted = await tour.eventually(
        "the lesson's post to say an edit was suggested",
        lambda: _post_message(tour, str(pull["html_url"])),
    )
    return [
        *await _pull_lines(tour, pull),
        f"sam's DM from the bot: {dm['content']}",
        f"In the lesson's post: {posted}",
    ]


async def suggest_on_the_web(tour: Tour) -> Narration:
    """Zoé, with no Discord or GitHub account, selects a sentence on the lesson page and
    sends an edit through the embed's select-to-suggest button."""
    lesson = f"{quote(PROGRAM)}/{quote(SLUG)}"
    script = await tour.call("GET", f"{tour.web}/embed.js", what="the embed's script to load")
    discussion = (
        await tour.call(
            "GET",
            f"{tour.web}/api/lessons/{lesson}/discussion?locale=en",
            what="the embed's discussion of the lesson",
        )
    ).body
    counts = discussion.get("counts", {}) if isinstance(discussion, dict) else {}
    # What the script asks when she selects the sentence and presses its button.
    found = (
        await tour.call(
            "GET",
            f"{tour.web}/api/lessons/{lesson}/passage?{urlencode({'text': WEB_SELECTED})}",
            what="the embed to find the selected sentence in the lesson's source",
        )
    ).body
    if not isinstance(found, dict) or not found.get("found"):
        raise StepFailedError("the selection found in the lesson's source", _short(str(found), 200))
    passage = str(found["passage"])
    form_url = f"{tour.web}{found['form']}"
    page = str((await tour.call("GET", form_url, what="the suggest form to open")).body)
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    if token is None:
        raise StepFailedError("a suggest form with its CSRF field", _short(page, 200))
    if html.escape(passage, quote=True) not in page:
        raise StepFailedError(f"the form to open with {_q(passage)} filled in", _short(page, 300))
    form = {
        "csrf": token.group(1),
        "locale": "en",
        "find": passage,
        "replace": WEB_REPLACE,
        "reason": "A shorter example.",
        "name": "Zoé",
        "email": WEB_EMAIL,
        "action": "send",
    }
    sent = await tour.call(
        "POST", form_url, data=form, expect=(303,), what="the form to accept the suggestion"
    )
    sent_to = sent.location
    status = SUGGESTION_URL.search(sent_to)
    if status is None:
        raise StepFailedError("the form to lead to the suggestion's status page", sent_to or "none")
    tour.found["web_suggestion"] = int(status.group(1))
    return [
        f"Zoé reads the lesson on the site; its page loads the bot's embed "
        f"({len(str(script.body).encode())} bytes of script)",
        f"The embed shows open questions: {counts.get('questions', '?')}, "
        f"suggested edits awaiting review: {counts.get('suggestions', '?')}",
        f"She selects {_q(WEB_SELECTED)} and presses the embed's suggest button",
        f"The suggest form opens with the lesson's source filled in: {_q(passage)}",
        f"She changes it to {_q(WEB_REPLACE)}, gives {WEB_EMAIL} and sends it",
        f"The browser goes to her status page: {tour.web}{sent_to}",
    ]


async def web_pr_opened(tour: Tour) -> Narration:
    """Her suggestion becomes a pull request too, and she is emailed about it."""
    pull = await _pull_of(tour, tour.found["web_suggestion"])
    tour.found["web_pr"] = pull["number"]
    mail = await tour.eventually(
        f"an email to {WEB_EMAIL} about her pull request",
        lambda: _mail_to(tour, WEB_EMAIL, 1),
    )
    return [*await _pull_lines(tour, pull), f"Zoé's email: {_q(mail[-1]['subject'])}"]


async def request_changes(tour: Tour) -> Narration:
    """The maintainer asks for changes on sam's PR with a ```suggestion block."""
    number = tour.found["discord_pr"]
    pull = await tour.as_maintainer("GET", f"/pulls/{number}")
    head = pull["head"]
    text = await tour.as_maintainer(
        "GET",
        f"/contents/{quote(PATH)}?ref={quote(head['ref'], safe='')}",
        accept="application/vnd.github.raw",
    )
    lines = str(text).splitlines()
    at = [i for i, line in enumerate(lines, 1) if DISCORD_REPLACE in line]
    if not at:
        raise StepFailedError(
            f"the PR's lesson to hold {_q(DISCORD_REPLACE)}", _short(str(text), 200)
        )
    line = at[0]
    proposed = lines[line - 1].replace(DISCORD_REPLACE, REVIEWED)
    block = f"```suggestion\n{proposed}\n```"
    await tour.as_maintainer(
        "POST",
        f"/pulls/{number}/reviews",
        {
            "commit_id": head["sha"],
            "body": "Nearly: one word.",
            "event": "REQUEST_CHANGES",
            "comments": [{"path": PATH, "line": line, "body": block}],
        },
    )
    tour.found["proposed_line"] = proposed
    return [
        f"The maintainer reviews PR #{number}: requests changes, 'Nearly: one word.'",
        _block(f"On line {line} of {PATH} the maintainer proposes:", block),
    ]


async def proposal_told(tour: Tour) -> Narration:
    """Sam is told, with a button to take the proposed text."""
    suggestion = tour.found["discord_suggestion"]
    use = f"lessonbot:suggestion:use:{suggestion}:"

    async def probe() -> tuple[tuple[dict[str, Any], dict[str, Any]] | None, str]:
        dms = await tour.dms(SAM)
        for message in dms:
            for button in _buttons(message):
                if str(button.get("custom_id", "")).startswith(use):
                    return (message, button), ""
        return None, f"sam's DMs: {_listed(m['content'] for m in dms)}"

    message, button = await tour.eventually("a DM to sam with the reviewer's text", probe)
    tour.found["use"] = (message, button)
    return [
        f"sam's DM from the bot: {message['content']}",
        f"under it, a button: {_q(button['label'])}",
    ]


async def take_proposal(tour: Tour) -> Narration:
    """Sam presses the button that takes the reviewer's text."""
    message, button = tour.found["use"]
    clicked = await tour.discord_post(
        "/interactions/components",
        {
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "user_id": SAM,
            "custom_id": button["custom_id"],
            "locale": "en-US",
        },
    )
    [reply] = (await tour.answers(clicked["interaction_id"]))[-1:]
    return [
        f"sam presses {_q(button['label'])}",
        f"The bot answers (only sam sees it): {_answer_text(reply)}",
    ]


async def proposal_committed(tour: Tour) -> Narration:
    """The reviewer's text is committed to sam's pull request."""
    number = tour.found["discord_pr"]

    async def probe() -> tuple[str | None, str]:
        diff = await tour.as_maintainer(
            "GET", f"/pulls/{number}", accept="application/vnd.github.diff"
        )
        return (str(diff) if REVIEWED in str(diff) else None), _short(str(diff), 300)

    diff = await tour.eventually(f"PR #{number}'s diff to hold {_q(REVIEWED)}", probe)
    return [_block(f"PR #{number} now changes the lesson so:", _changed_lines(diff))]


async def merge(tour: Tour) -> Narration:
    """The maintainer merges sam's pull request."""
    number = tour.found["discord_pr"]
    await tour.as_maintainer("PUT", f"/pulls/{number}/merge", {"merge_method": "merge"})
    return [f"The maintainer merges PR #{number}"]


async def merged_told(tour: Tour) -> Narration:
    """Main holds the text; sam and the lesson's post are thanked."""
    number = tour.found["discord_pr"]

    async def on_main() -> tuple[str | None, str]:
        text = str(
            await tour.as_maintainer(
                "GET", f"/contents/{quote(PATH)}?ref=main", accept="application/vnd.github.raw"
            )
        )
        return (text if REVIEWED in text else None), "main does not hold it yet"

    await tour.eventually(f"main to hold {_q(REVIEWED)}", on_main)
    merged_dm = await tour.eventually(
        "sam's DM that his edit was merged",
        lambda: _dm_after(tour, SAM, tour.found["use"][0]["id"]),
    )
    pull = await tour.as_maintainer("GET", f"/pulls/{number}")
    posted = await tour.eventually(
        "the lesson's post to thank sam",
        lambda: _post_message(tour, str(pull["html_url"]), containing="🎉"),
    )
    return [
        f"main now reads: {_q(REVIEWED)}",
        f"sam's DM from the bot: {merged_dm}",
        f"In the lesson's post: {posted}",
    ]


async def change_pointed_at(tour: Tour) -> Narration:
    """Maya's question is about the changed sentence: the bot tells her in the post, and
    she marks it answered with ✅."""
    number = tour.found["discord_pr"]
    thread = tour.found["thread"]

    async def notice() -> tuple[dict[str, Any] | None, str]:
        messages = await tour.discord_get(f"/channels/{thread}/messages")
        told = [m for m in messages if m["content"].startswith(f"<@{MAYA}>")]
        others = [m for m in messages if m["content"].startswith((f"<@{ANA}>", f"<@{LI}>"))]
        if others:
            raise StepFailedError(
                "only maya's question pointed at the change", _short(others[0]["content"], 200)
            )
        return (told[0] if told else None), f"{len(messages)} messages in the post"

    told = await tour.eventually(f"a message to maya in the post about PR #{number}", notice)
    if f"/pull/{number}" not in told["content"]:
        raise StepFailedError(f"the message to link PR #{number}", _short(told["content"], 300))
    await tour.discord_post(
        f"/channels/{thread}/messages/{told['id']}/reactions", {"user_id": MAYA, "emoji": "✅"}
    )
    tour.found["pointed"] = told["content"]
    return [
        "In the lesson's post, the bot tells maya:",
        *(f"    {line}" for line in told["content"].splitlines()),
        "ana's and li's questions, about other things, get no such message",
        "maya reacts ✅ to it",
    ]


async def pointed_question_resolved(tour: Tour) -> Narration:
    """Her ✅ resolves her question; the others stay as they were."""
    counts = await tour.eventually(
        "maya's question to be counted resolved (/metrics)",
        lambda: _question_counts(
            tour, lambda c: c.get(("resolved", "en"), 0) >= 1 and c.get(("open", "zh"), 0) >= 1
        ),
    )
    return [f"The bot now counts: {_counts_text(counts)}"]


async def look_for_note(tour: Tour) -> Narration:
    """The lesson's issue is where translators look."""
    issues = await tour.as_maintainer("GET", "/issues?labels=lesson-discussion&per_page=100")
    found = [i for i in issues if LESSON in str(i.get("body") or "")]
    if not found:
        raise StepFailedError(f"a lesson-discussion issue for {LESSON}", f"{len(issues)} issues")
    tour.found["issue"] = found[0]["number"]
    return [f"A translator opens the lesson's issue #{found[0]['number']}: {_q(found[0]['title'])}"]


async def translation_note(tour: Tour) -> Narration:
    """The bot notes on it that the Spanish and Arabic versions may lag behind."""
    issue = tour.found["issue"]
    wanted = [f"programs/{PROGRAM}/lessons/{locale}/{SLUG}.mdx" for locale in ("es", "ar")]

    async def probe() -> tuple[str | None, str]:
        comments = await tour.as_maintainer("GET", f"/issues/{issue}/comments")
        for comment in comments:
            body = str(comment.get("body") or "")
            if all(path in body for path in wanted):
                return body, ""
        return None, f"comments: {_listed(str(c.get('body')) for c in comments)}"

    body = await tour.eventually(f"a comment on issue #{issue} naming {wanted}", probe)
    return [_block(f"The bot's comment on issue #{issue}:", _visible(body))]


async def send_digest(tour: Tour) -> Narration:
    """An operator sends the digest now (`lessonbot digest --now`)."""
    tour.found["digest_before"] = len(
        await tour.discord_get(f"/channels/{tour.channel('digests')}/messages")
    )
    tour.found["mail_before"] = len(await tour.mail())
    await tour.send_digest()
    return ["An operator runs `lessonbot digest --now`"]


async def digest_delivered(tour: Tour) -> Narration:
    """The digest reaches #digests and each maintainer's mailbox, listing li's question."""
    channel = tour.channel("digests")

    async def posted() -> tuple[list[dict[str, Any]] | None, str]:
        messages = (await tour.discord_get(f"/channels/{channel}/messages"))[
            tour.found["digest_before"] :
        ]
        shown = "\n".join(_embed_text(message) for message in messages)
        return (messages if STILL_OPEN in shown else None), _short(shown, 300) or "no message"

    messages = await tour.eventually("a digest in #digests listing li's open question", posted)
    before = tour.found["mail_before"]

    async def mailed() -> tuple[list[dict[str, Any]] | None, str]:
        caught = (await tour.mail())[before:]
        readers = {address for mail in caught for address in mail["to"]}
        wanted = {"maintainer-en@sandbox.test", "maintainer-ar@sandbox.test"}
        return (
            caught if wanted <= readers else None
        ), f"emails to {', '.join(sorted(readers)) or 'nobody'}"

    caught = await tour.eventually("the digest emailed to both sandbox maintainers", mailed)
    first = messages[0]["embeds"][0] if messages[0].get("embeds") else {}
    shown = "\n".join(_embed_text(message) for message in messages).splitlines()
    listed = [line for line in shown if STILL_OPEN in line]
    return [
        _block(f"In #digests: {_q(first.get('title', ''))}", str(first.get("description", ""))),
        _block("li's open question is listed:", "\n".join(listed)),
        *(f"Email to {', '.join(m['to'])}: {_q(m['subject'])}" for m in caught),
    ]


STEPS: tuple[Step, ...] = (
    Step("A learner asks a question in a lesson's post", ask, questions_counted),
    Step("Another member answers it", answer, question_answered),
    Step("A learner suggests an edit from Discord", suggest_on_discord, discord_pr_opened),
    Step(
        "A learner suggests an edit from the lesson page (select to suggest)",
        suggest_on_the_web,
        web_pr_opened,
    ),
    Step("A maintainer requests changes with a suggestion block", request_changes, proposal_told),
    Step("The learner takes the maintainer's text", take_proposal, proposal_committed),
    Step("The maintainer merges", merge, merged_told),
    Step(
        "The question the change answers is pointed at it",
        change_pointed_at,
        pointed_question_resolved,
    ),
    Step("The translation note appears", look_for_note, translation_note),
    Step("The digest goes to Discord and by email", send_digest, digest_delivered),
)


# --- playing it -------------------------------------------------------------------------------


async def play(tour: Tour, steps: Sequence[Step], out: Callable[[str], None]) -> int:
    """Play `steps` in order, narrating each; return 0 when all happened, else 1 after
    naming the first that did not."""
    for index, step in enumerate(steps, 1):
        out(f"\nStep {index}/{len(steps)}: {step.name}")
        try:
            for item in await step.act(tour):
                _narrate(out, "", item)
            for item in await step.check(tour):
                _narrate(out, "✓ ", item)
        except StepFailedError as failure:
            _failed(out, index, step, failure.expected, failure.seen)
            return EXIT_TOUR_FAILED
        except Exception as error:  # a step that broke is a step that did not happen
            log.debug("Tour step %r broke", step.name, exc_info=True)
            _failed(out, index, step, "the step to run", f"{type(error).__name__}: {error}")
            return EXIT_TOUR_FAILED
    out(f"\nThe tour is over: all {len(steps)} steps happened as narrated.")
    return 0


def _narrate(out: Callable[[str], None], mark: str, item: str) -> None:
    """Print one narration item: its first line marked, the rest indented under it."""
    first, *rest = item.splitlines() or [""]
    out(f"  {mark}{first}")
    for line in rest:
        out(f"  {' ' * len(mark)}  {line}")


def _failed(out: Callable[[str], None], index: int, step: Step, expected: str, seen: str) -> None:
    out(f"  ✗ expected: {expected}")
    out(f"    seen:     {seen}")
    out(f"\nThe tour stopped: step {index} ({step.name}) did not happen.")


async def run_tour(
    settings: Settings,
    *,
    content_dir: Path,
    state_dir: Path | None = None,
    database_url: str | None = None,
    out: Callable[[str], None] | None = None,
    steps: Sequence[Step] = STEPS,
) -> int:
    """Start a fresh sandbox in `state_dir` (a temporary folder when None), play the tour
    against it and stop it; return the exit status."""
    say = out or (lambda line: print(line, flush=True))
    async with _state_folder(state_dir) as folder, _lock(folder):
        previous_world = await fresh_start(folder, say)
        async with started_sandbox(
            settings,
            content_dir=content_dir,
            state_dir=folder,
            database_url=database_url,
            reset_world=previous_world,
        ) as environment:
            _header(environment, folder, say)
            async with _client() as http:
                tour = Tour(environment.description, http, _digest_sender(environment))
                return await play(tour, steps, say)


@contextlib.asynccontextmanager
async def _state_folder(state_dir: Path | None) -> AsyncIterator[Path]:
    """Yield the tour's state folder: the one named, or a temporary one removed after."""
    if state_dir is not None:
        yield state_dir
        return
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="lessonbot-tour-"))
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


@contextlib.asynccontextmanager
async def _lock(state_dir: Path) -> AsyncIterator[None]:
    with holding_state_dir(state_dir):
        yield


@contextlib.asynccontextmanager
async def _client() -> AsyncIterator[aiohttp.ClientSession]:
    """Yield a client like a browser's: it keeps cookies, even for 127.0.0.1."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        yield http


def _digest_sender(environment: SandboxEnvironment) -> Callable[[], Awaitable[None]]:
    """Return what `lessonbot digest --now --force` does, against the running bot."""

    async def send() -> None:
        digests = environment.app.digests
        if digests is None:
            raise StepFailedError("the bot to have digests", "no digest service")
        result = await digests.run_now(force=True)
        if not result.created or not result.deliveries:
            raise StepFailedError("a digest queued for Discord and email", str(result.as_json()))

    return send


def _header(environment: SandboxEnvironment, state_dir: Path, say: Callable[[str], None]) -> None:
    discord, github = environment.description["discord"], environment.description["github"]
    say(f"The tour: a fresh sandbox in {state_dir}, played as people would, step by step.")
    say(f"Discord sandbox:  {discord['url']}/channels/{discord['guild_id']}")
    say(f"GitHub sandbox:   {github['url']}/{github['repository']}")
    say(f"lessonbot web:    {environment.app.web_url}/")
    say(f"Mail catcher:     {environment.description['mail']['url']}")
    if environment.linked:
        say(environment.linked)


# --- reading what people see ------------------------------------------------------------------


async def _question_counts(
    tour: Tour, holds: Callable[[dict[tuple[str, str], float]], bool]
) -> tuple[dict[tuple[str, str], float] | None, str]:
    text = (await tour.call("GET", f"{tour.web}/metrics")).body
    counts: dict[tuple[str, str], float] = {}
    for labels, value in METRIC.findall(str(text)):
        named = dict(LABEL.findall(labels))
        if named.get("program") == PROGRAM:
            counts[(named["state"], named["locale"])] = float(value)
    return (counts if holds(counts) else None), _counts_text(counts) or "no questions counted"


def _counts_text(counts: dict[tuple[str, str], float]) -> str:
    return ", ".join(
        f"{state} in {locale}: {value:g}"
        for (state, locale), value in sorted(counts.items())
        if value
    )


async def _pull_of(tour: Tour, suggestion: int) -> dict[str, Any]:
    """Wait for the suggestion's pull request; return it."""
    branch = f"lessonbot/suggest/{suggestion}"

    async def probe() -> tuple[dict[str, Any] | None, str]:
        pulls = await tour.as_maintainer("GET", "/pulls?state=all&per_page=100")
        ours = [p for p in pulls if p["head"]["ref"] == branch]
        return (ours[0] if ours else None), f"pull requests: {_listed(p['title'] for p in pulls)}"

    return await tour.eventually(f"a pull request from {branch}", probe)


async def _pull_lines(tour: Tour, pull: dict[str, Any]) -> Narration:
    diff = await tour.as_maintainer(
        "GET", f"/pulls/{pull['number']}", accept="application/vnd.github.diff"
    )
    return [
        f"Pull request #{pull['number']}: {_q(pull['title'])}",
        _block("Its diff:", _changed_lines(str(diff))),
    ]


async def _dm_with(tour: Tour, user: int, text: str, what: str) -> dict[str, Any]:
    async def probe() -> tuple[dict[str, Any] | None, str]:
        dms = await tour.dms(user)
        found = [m for m in dms if text in m["content"]]
        return (found[0] if found else None), f"DMs: {_listed(m['content'] for m in dms)}"

    return await tour.eventually(what, probe)


async def _dm_after(tour: Tour, user: int, message_id: str) -> tuple[str | None, str]:
    dms = await tour.dms(user)
    later = [m["content"] for m in dms if int(m["id"]) > int(message_id)]
    # sam's Discord speaks en-US: the bot tells him in English.
    wanted = t("en", "suggest.notice.merged", lesson=TITLE)
    merged = [text for text in later if wanted in text]
    return (merged[0] if merged else None), f"later DMs: {_listed(later)}"


async def _post_message(
    tour: Tour, link: str, nth: int = 0, containing: str = ""
) -> tuple[str | None, str]:
    """Find the `nth` bot message in the lesson's post that links `link` (and holds
    `containing`)."""
    messages = await tour.discord_get(f"/channels/{tour.found['thread']}/messages")
    linking = [
        m["content"] for m in messages if link in m["content"] and containing in m["content"]
    ]
    shown = f"{len(messages)} messages in the post"
    return (linking[nth] if len(linking) > nth else None), shown


async def _mail_to(tour: Tour, address: str, count: int) -> tuple[list[dict[str, Any]] | None, str]:
    caught = [m for m in await tour.mail() if address in m["to"]]
    return (caught if len(caught) >= count else None), f"{len(caught)} emails to {address}"


def _answer_text(answer: dict[str, Any]) -> str:
    data = answer.get("data") or answer.get("message") or {}
    return str(data.get("content") or data.get("title") or answer)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for row in message.get("components") or [] for item in row.get("components") or []]


def _embed_text(message: dict[str, Any]) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name')}\n{f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


def _changed_lines(diff: str) -> str:
    """Return a diff's removed and added lines, as a reader looks for them."""
    kept = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n".join(_short(line, 160) for line in kept)


def _visible(body: str) -> str:
    """Return a comment as GitHub shows it: without hidden HTML comments."""
    return re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL).strip()


def _block(title: str, text: str) -> str:
    """Return a title and a quoted block under it, indented, as one narration item."""
    return "\n".join([title, *(f"  {line}" for line in text.splitlines())]).lstrip("\n")


def _listed(texts: Iterable[str]) -> str:
    """Return texts as a reader scans them: each quoted and shortened, or "none"."""
    return ", ".join(_q(_short(text, 80)) for text in texts) or "none"


def _q(text: object) -> str:
    """Return text in quotes, as typed: no escapes, unlike repr()."""
    return f"“{text}”"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
