"""Print a web page whose one button registers lessonbot's GitHub App from its manifest.

Usage (docs/deploy.md): python3 docs/deploy/github_app_form.py https://bot.example.org
[--org ORG] [--name NAME] > app.html, then open app.html in a browser signed in to GitHub.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

MANIFEST = Path(__file__).with_name("github-app-manifest.json")
# The public address the manifest is written with, replaced by the real one.
PLACEHOLDER = "https://lessonbot.example.org"
GITHUB = "https://github.com"


def public_url(value: str) -> str:
    """Return an http(s) address without its trailing slash, or refuse it."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an http(s) address, e.g. https://bot.example.org"
        )
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{value!r}: give the address without ? or #")
    return value.strip().rstrip("/")


def manifest_for(url: str, name: str | None = None) -> dict[str, object]:
    """Return the manifest with the bot's public address (and a name) filled in."""
    text = MANIFEST.read_text(encoding="utf-8").replace(PLACEHOLDER, url)
    manifest: dict[str, object] = json.loads(text)
    if name:
        manifest["name"] = name
    return manifest


def form_page(manifest: dict[str, object], github: str, org: str | None) -> str:
    """Return the page that posts the manifest to GitHub's new-App form."""
    owner = f"/organizations/{quote(org, safe='')}" if org else ""
    # GitHub hands `state` back with the code; a fresh one per page, as its docs ask.
    action = f"{github.rstrip('/')}{owner}/settings/apps/new?state={secrets.token_hex(8)}"
    value = html.escape(json.dumps(manifest), quote=True)
    return (
        "<!doctype html>\n<meta charset=utf-8>\n<title>Register lessonbot's GitHub App</title>\n"
        f'<form action="{html.escape(action, quote=True)}" method="post">\n'
        f'<input type="hidden" name="manifest" value="{value}">\n'
        '<button type="submit">Register the GitHub App</button>\n</form>\n'
    )


def main(argv: list[str] | None = None) -> int:
    """Print the page for the address given; 2 with a message for a bad one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("public_url", type=public_url, help="the bot's web.public_url")
    parser.add_argument("--org", help="register the App for this organization, not yourself")
    parser.add_argument("--name", help="the App's name (unique on GitHub; editable there too)")
    parser.add_argument("--github", type=public_url, default=GITHUB, help="GitHub Enterprise")
    arguments = parser.parse_args(argv)
    manifest = manifest_for(arguments.public_url, arguments.name)
    sys.stdout.write(form_page(manifest, arguments.github, arguments.org))
    return 0


if __name__ == "__main__":
    sys.exit(main())
