"""The bot's import layers: no circles, no import upwards, adapters apart, a pure domain.

Every module in bot/ is parsed (not imported) and every import in it counts, those inside
functions and under TYPE_CHECKING too: an import deferred to break a circle still makes
one. Lowest layer first:

- domain: bot/domain, bot/i18n (texts from its own package data) and bot/__init__.
- settings: bot/config.py. Services, adapters and the composition read the settings; they
  read only the domain (cron lines are checked there).
- store: bot/store.
- services: bot/services, use cases over the ports in bot/services/ports.py and the store.
- adapters: bot/github, bot/discord, bot/web, bot/mail, bot/net.py (socket helpers for
  the web server's port) and bot/scheduler.py (APScheduler, which drives the digest and
  retention services as the Discord and web adapters drive theirs). None imports another.
- composition: bot/app.py, bot/cli*, bot/offline (the bot wired to the sandboxes),
  bot/running_sandbox.py (how commands find a running one), bot/__main__.py.

The sandboxes are a distribution of their own, which only the composition starts. A
module importing its own package (`from bot.domain import mdx` in bot.domain.x) is no edge
to the package's __init__, which would make every re-exporting package a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("domain", ("bot", "bot.domain", "bot.i18n")),
    ("settings", ("bot.config",)),
    ("store", ("bot.store",)),
    ("services", ("bot.services",)),
    (
        "adapters",
        ("bot.github", "bot.discord", "bot.web", "bot.mail", "bot.net", "bot.scheduler"),
    ),
    (
        "composition",
        ("bot.app", "bot.cli", "bot.offline", "bot.running_sandbox", "bot.__main__"),
    ),
)
ADAPTERS = dict(LAYERS)["adapters"]

# Packages that do I/O (network, database, files through a client, threads of a scheduler):
# the domain computes, it never reaches out.
IO_PACKAGES = frozenset(
    {
        "aiohttp",
        "aiohttp_jinja2",
        "aiosmtpd",
        "aiosqlite",
        "alembic",
        "apscheduler",
        "asyncio",
        "discord",
        "github",
        "http",
        "psycopg",
        "requests",
        "smtplib",
        "socket",
        "sqlalchemy",
        "ssl",
        "subprocess",
        "urllib.request",
    }
)

# The offline Discord, GitHub and mail servers: only the composition starts them.
SANDBOXES = ("sandboxes",)


def module_name(path: Path) -> str:
    """Return the dotted name of a module file under bot/."""
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def bot_modules() -> dict[str, Path]:
    """Return every module of bot/ by dotted name."""
    return {module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def imported(name: str, path: Path) -> Iterator[str]:
    """Yield every module name an import in a module names, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            yield origin
            # `from package import module` imports the module.
            yield from (f"{origin}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Return, for each bot module, the bot modules it imports."""
    modules = bot_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {
            target
            for target in imported(name, path)
            if target in modules and target != name and not _is_parent(target, name)
        }
    return graph


def layer_of(name: str) -> int:
    """Return the index of a module's layer in LAYERS."""
    for index, (_, prefixes) in enumerate(LAYERS):
        if _under(name, prefixes):
            return index
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in tests/test_layers.py")


def adapter_of(name: str) -> str | None:
    """Return the adapter a module belongs to, if any."""
    return next((prefix for prefix in ADAPTERS if _under(name, (prefix,))), None)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one import circle per group of modules that import each other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return [_circle_in(graph, set(group)) for group in groups]


def test_every_module_is_in_a_layer() -> None:
    for name in bot_modules():
        layer_of(name)


def test_no_module_imports_itself_through_others() -> None:
    found = cycles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(circle) for circle in found)


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = sorted(
        f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for name, targets in import_graph().items()
        for target in targets
        if layer_of(target) > layer_of(name)
    )
    assert not upward, "imports upwards:\n" + "\n".join(upward)


def test_adapters_do_not_import_each_other() -> None:
    across = sorted(
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        for target in targets
        if (source := adapter_of(name)) is not None and adapter_of(target) not in (None, source)
    )
    assert not across, "adapters importing each other:\n" + "\n".join(across)


def test_the_domain_imports_no_io_package() -> None:
    modules = bot_modules()
    found = sorted(
        f"{name} imports {target}"
        for name, path in modules.items()
        if layer_of(name) == 0
        for target in imported(name, path)
        if _under(target, tuple(IO_PACKAGES))
    )
    assert not found, "I/O in the domain:\n" + "\n".join(found)


def test_only_the_composition_imports_the_sandboxes() -> None:
    composition = len(LAYERS) - 1
    found = sorted(
        f"{name} imports {target}"
        for name, path in bot_modules().items()
        if layer_of(name) != composition
        for target in imported(name, path)
        if _under(target, SANDBOXES)
    )
    assert not found, "sandboxes imported below the composition:\n" + "\n".join(found)


def test_the_walk_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "bot" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from . import a\n")
    source = package / "a.py"
    source.write_text("def f():\n    from .b import c\n    from .. import config\n")
    assert set(imported("bot.pkg.a", source)) == {
        "bot.pkg.b",
        "bot.pkg.b.c",
        "bot",
        "bot.config",
    }
    assert set(imported("bot.pkg", package / "__init__.py")) == {"bot.pkg", "bot.pkg.a"}


def test_a_circle_is_reported_as_its_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    """Tell whether a module is one of `prefixes` or inside one (`bot` itself only itself)."""
    return any(
        name == prefix or (prefix != "bot" and name.startswith(prefix + ".")) for prefix in prefixes
    )


def _is_parent(package: str, name: str) -> bool:
    """Tell whether `package` contains `name` (a module importing from its own package)."""
    return name.startswith(package + ".")


def _circle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """Return one circle through the first module of a group that imports itself."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for target in sorted(graph[module] & group):
            if target == start:
                return [*paths[module], start]
            if target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    raise AssertionError(f"no circle through {start}")
