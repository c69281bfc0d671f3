"""The deployment files in docs/deploy/ and docs/deploy.md agree with the code: the GitHub
App's events are the ones the bot follows, the Discord permissions integer is computed from
named flags, and every command the unit, the image and the compose file run is a real one."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot.app import WORKER_STOP_SECONDS
from bot.cli import build_parser
from bot.cli.stopping import SLOW_STOP_SECONDS
from bot.config import WebSettings
from bot.discord.client import bot_intents
from bot.domain.doctor import APP_EVENTS, APP_NEEDS
from bot.domain.roles import ROLE_NAMES, ROLES, WEB
from bot.web.github_events import EVENT_NAMES
from tests.conftest import PROJECT
from tests.deploy_files import (
    COMPOSE,
    DEPLOY,
    DOCKERFILE,
    ENV_EXAMPLE,
    MANIFEST,
    commented_names,
    compose,
    dockerfile_command,
    dockerfile_environment,
    dockerfile_instructions,
    dockerfile_values,
    env_file,
    secret_variables,
    setting_variables,
    unit,
    unit_commands,
)

DOC = PROJECT / "docs" / "deploy.md"
FORM_SCRIPT = DEPLOY / "github_app_form.py"

# What the bot does on Discord, each permission named, and why (docs/deploy.md's table):
# forum posts and digests, replies in posts, embeds, reading back what it posted, creating
# a missing forum and its tags, renaming, retagging, archiving and locking posts.
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    read_message_history=True,
    manage_channels=True,
    manage_threads=True,
)
# The intents Discord makes an application switch on by hand, by their portal names.
PRIVILEGED_INTENTS = {
    "members": "Server Members Intent",
    "presences": "Presence Intent",
    "message_content": "Message Content Intent",
}
# What the bot does on GitHub: clone and commit, issues and labels, pull requests and
# reviewers; metadata comes with every App (and reads a collaborator's permission).
APP_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
# The permission GitHub requires of an App before it may subscribe to each event.
EVENT_PERMISSION = {
    "push": "contents",
    "pull_request": "pull_requests",
    "pull_request_review": "pull_requests",
    "pull_request_review_comment": "pull_requests",
    "issue_comment": "issues",
}
# The fields of GitHub's App manifest format.
MANIFEST_FIELDS = {
    "name",
    "url",
    "description",
    "hook_attributes",
    "redirect_url",
    "callback_urls",
    "setup_url",
    "public",
    "default_permissions",
    "default_events",
    "request_oauth_on_install",
    "setup_on_update",
}


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _assert_lessonbot_command(argv: list[str]) -> None:
    """Assert argv runs a real `lessonbot` subcommand: it parses, and its --help exits 0."""
    assert PurePosixPath(argv[0]).name == "lessonbot", argv
    arguments = build_parser().parse_args(argv[1:])
    assert callable(arguments.handler), argv
    with pytest.raises(SystemExit) as help_exit:
        build_parser().parse_args([*argv[1:], "--help"])
    assert help_exit.value.code == 0


# --- the GitHub App ----------------------------------------------------------------------


def test_the_manifest_subscribes_to_exactly_the_events_the_bot_follows() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert set(manifest) <= MANIFEST_FIELDS
    assert manifest["default_events"] == sorted(set(EVENT_NAMES.values()))
    assert manifest["default_permissions"] == APP_PERMISSIONS
    # `lessonbot doctor` asks an installation for what the manifest grants.
    assert manifest["default_permissions"] == dict(sorted(APP_NEEDS.items()))
    assert manifest["default_events"] == list(APP_EVENTS)
    for event in manifest["default_events"]:
        needed = EVENT_PERMISSION[event]
        assert manifest["default_permissions"].get(needed) in ("read", "write"), event
    assert manifest["public"] is False


def test_the_manifest_delivers_webhooks_where_the_bot_receives_them() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    hook = manifest["hook_attributes"]
    assert hook["active"] is True
    base = manifest["url"].rstrip("/")
    assert hook["url"] == f"{base}/webhooks/github"
    assert manifest["redirect_url"].startswith(base)
    # The route the web app serves them on, and the one the doctor checks deliveries to.
    from bot.services.doctor import WEBHOOK_PATH as CHECKED_PATH
    from bot.web.app import WEBHOOK_PATH

    web_app = (PROJECT / "bot" / "web" / "app.py").read_text(encoding="utf-8")
    assert "add_post(WEBHOOK_PATH," in web_app
    assert hook["url"] == base + WEBHOOK_PATH == base + CHECKED_PATH


class _Form(HTMLParser):
    """Collect a page's form action, method and input fields."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] = {}
        self.inputs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.form = values
        elif tag == "input":
            self.inputs[values["name"]] = values.get("value", "")


def _run_form(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FORM_SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_form_posts_the_manifest_with_the_bots_address_to_github() -> None:
    done = _run_form("https://bot.example.org/", "--org", "lessons-org", "--name", "our-bot")
    assert done.returncode == 0, done.stderr
    page = _Form()
    page.feed(done.stdout)
    action = urlsplit(page.form["action"])
    assert page.form["method"] == "post"
    assert (action.scheme, action.netloc) == ("https", "github.com")
    assert action.path == "/organizations/lessons-org/settings/apps/new"
    assert parse_qs(action.query)["state"][0]
    sent = json.loads(page.inputs["manifest"])
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert sent["name"] == "our-bot"
    assert sent["hook_attributes"]["url"] == "https://bot.example.org/webhooks/github"
    assert sent["url"] == sent["redirect_url"] == "https://bot.example.org/"
    assert "example.org" not in json.dumps(sent).replace("bot.example.org", "")
    unchanged = ("default_events", "default_permissions", "public", "description")
    assert {key: sent[key] for key in unchanged} == {key: manifest[key] for key in unchanged}


def test_the_form_for_yourself_goes_to_your_own_apps() -> None:
    done = _run_form("https://bot.example.org")
    assert done.returncode == 0, done.stderr
    page = _Form()
    page.feed(done.stdout)
    assert urlsplit(page.form["action"]).path == "/settings/apps/new"


@pytest.mark.parametrize("address", ["bot.example.org", "ftp://bot.example.org", "https://"])
def test_the_form_refuses_an_address_that_is_not_http_with_one_line(address: str) -> None:
    done = _run_form(address)
    assert done.returncode == 2
    assert "is not an http(s) address" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


# --- the Discord application -------------------------------------------------------------


def test_the_invite_url_asks_for_exactly_the_permissions_named_in_the_table() -> None:
    doc = _doc()
    [url] = re.findall(r"https://discord\.com/oauth2/authorize\?\S+", doc)
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["bot applications.commands"]
    assert int(query["permissions"][0]) == BOT_PERMISSIONS.value
    table = set(re.findall(r"^\| [^|]+ \| `([a-z_]+)` \|", doc, re.M))
    assert discord.Permissions(**dict.fromkeys(table, True)) == BOT_PERMISSIONS


def test_the_doc_switches_on_exactly_the_privileged_intents_the_bot_asks_for() -> None:
    doc = _doc()
    intents = bot_intents()
    asked = {flag for flag in PRIVILEGED_INTENTS if getattr(intents, flag)}
    assert asked == {"message_content"}
    assert f"turn **{PRIVILEGED_INTENTS['message_content']}** on" in doc
    assert "Leave *Server Members* and *Presence* off" in doc


# --- systemd -----------------------------------------------------------------------------


def test_the_unit_migrates_then_runs_real_lessonbot_commands() -> None:
    parsed = unit()
    assert {"Unit", "Service", "Install"} <= set(parsed.sections())
    pre, start = unit_commands(parsed)
    assert [command[1:] for command in pre] == [["db", "upgrade"]]
    # A template: `lessonbot@web` runs the web role, `lessonbot@all` every role.
    assert start[1:] == ["run", "--role", "%i"]
    for role in ROLE_NAMES:
        for command in [*pre, [word.replace("%i", role) for word in start]]:
            assert PurePosixPath(command[0]).is_absolute()
            _assert_lessonbot_command(command)


def test_the_unit_stops_the_bot_the_way_it_stops_cleanly() -> None:
    service = unit()["Service"]
    assert service["KillSignal"] == "SIGTERM"
    # A stop takes the job under way's grace, and may run past the stack dump; then SIGKILL.
    assert float(service["TimeoutStopSec"]) > max(SLOW_STOP_SECONDS, WORKER_STOP_SECONDS)
    assert "SuccessExitStatus" not in service  # SIGTERM exits 0
    assert service["User"] != "root"
    assert service["EnvironmentFile"].endswith(ENV_EXAMPLE.name.removesuffix(".example"))


# --- the image and the compose file ------------------------------------------------------


def test_the_images_command_is_lessonbot_run() -> None:
    command = dockerfile_command()
    assert command == ["lessonbot", "run"]
    _assert_lessonbot_command(command)
    assert dockerfile_values("STOPSIGNAL") == ["SIGTERM"]


def test_the_image_installs_the_bot_alone_and_runs_without_privileges() -> None:
    instructions = dockerfile_instructions()
    installs = [
        (index, arguments)
        for index, (name, arguments) in enumerate(instructions)
        if name == "RUN" and "pip install" in arguments
    ]
    [(install_at, install)] = installs
    words = shlex.split(install.split("&&")[0])
    assert words[:2] == ["pip", "install"] and words[-1] == "."
    assert not any("sandboxes" in word or "[" in word for word in words)
    copied = [shlex.split(a)[:-1] for name, a in instructions if name in ("COPY", "ADD")]
    sources = {source for sources in copied for source in sources}
    assert sources == {"pyproject.toml", "README.md", "bot"}
    [(user_at, user)] = [(i, a) for i, (name, a) in enumerate(instructions) if name == "USER"]
    assert user not in ("root", "0") and user_at > install_at
    # Built from the repository's root, as the Dockerfile and the doc both say.
    for text in (DOCKERFILE.read_text(encoding="utf-8"), _doc()):
        assert "docker build -f docs/deploy/Dockerfile -t lessonbot ." in text


def test_the_image_listens_where_a_container_can_be_reached() -> None:
    environment = dockerfile_environment()
    assert environment["LESSONBOT_WEB_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container
    assert dockerfile_values("EXPOSE") == [str(WebSettings().port)]


def test_the_build_context_leaves_out_everything_the_image_does_not_copy() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*"
    assert {rule.strip("!/") for rule in rules if rule.startswith("!")} == {
        "pyproject.toml",
        "README.md",
        "bot",
    }


def test_compose_runs_postgresql_a_migration_then_each_role() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", *ROLES}
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    entrypoint = dockerfile_command()[:1]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for role in ROLES:
        assert services[role]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
        assert services[role]["command"] == ["run", "--role", role]
        assert float(services[role]["stop_grace_period"].removesuffix("s")) > SLOW_STOP_SECONDS
    for name in ("migrate", *ROLES):
        _assert_lessonbot_command([*entrypoint, *services[name]["command"]])
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == PROJECT.resolve()
        assert (PROJECT / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
    # Workers share the jobs through the database's claims: more than one is the point.
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_compose_gives_each_role_its_settings_file_and_database_and_web_its_port() -> None:
    services = compose()["services"]
    database = services["db"]["environment"]["POSTGRES_DB"]
    for role in ROLES:
        service = services[role]
        environment = service["environment"]
        assert set(environment) <= setting_variables()
        # The file Compose also reads ${PGPASSWORD} from, a copy of the example, never
        # committed.
        assert service["env_file"] == ".env"
        url = urlsplit(environment["LESSONBOT_DATABASE_URL"])
        assert url.scheme == "postgresql" and url.password is None  # the password: PGPASSWORD
        assert url.hostname == "db" and url.path == f"/{database}"
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
        assert mounts[environment["LESSONBOT_CONFIG"]] == "./lessonbot.toml"
        # Only the web role serves a port.
        assert ("ports" in service) == (role == WEB)
    web = services[WEB]
    [published] = web["ports"]
    assert published.rsplit(":", 1)[1] == str(WebSettings().port)
    assert f":{WebSettings().port}/healthz" in " ".join(web["healthcheck"]["test"])


def test_compose_shares_the_database_password_through_pgpassword() -> None:
    db = compose()["services"]["db"]
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${PGPASSWORD:?")
    assert "PGPASSWORD" in env_file()


def test_the_env_example_names_only_real_settings_and_every_secret() -> None:
    assigned = env_file()
    named = set(assigned) | commented_names()
    lessonbot = {name for name in named if name.startswith("LESSONBOT_")}
    assert lessonbot <= setting_variables()
    assert secret_variables() <= named
    assert assigned["LESSONBOT_GITHUB_APP_PRIVATE_KEY"].count("\n") >= 2  # one value, 3 lines
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored


def test_deploy_md_is_linked_from_the_index_and_the_readme() -> None:
    assert "(deploy.md)" in (PROJECT / "docs" / "README.md").read_text(encoding="utf-8")
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    real_use = readme.split("## Using it for real", 1)[1].split("\n## ", 1)[0]
    assert "(docs/deploy.md)" in real_use


def _container_engine() -> bool:
    """Return whether a container engine answers here (a daemon, not only its client)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    done = subprocess.run([docker, "info"], capture_output=True, timeout=60, check=False)
    return done.returncode == 0


# Only where an engine runs (docs/deploy.md says so): this machine's CI has none, and a test
# that skipped there would look like a pass.
if _container_engine():

    def test_the_image_builds_and_runs_lessonbot() -> None:
        tag = "lessonbot-test:deploy"
        build = ["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(PROJECT)]
        subprocess.run(build, check=True, timeout=1800)
        try:
            done = subprocess.run(
                ["docker", "run", "--rm", tag, "--help"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert "db" in done.stdout and "run" in done.stdout
            user = subprocess.run(
                ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            assert user.stdout.strip() != "0"
            sandboxes = subprocess.run(
                ["docker", "run", "--rm", "--entrypoint", "python", tag, "-c", "import sandboxes"],
                capture_output=True,
                timeout=300,
                check=False,
            )
            assert sandboxes.returncode != 0  # the bot alone
        finally:
            subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)
