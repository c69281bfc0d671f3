"""GET /metrics: the Prometheus text format, from a registry each web app owns."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.priorities import JobPriority
from bot.domain.review_flow import SuggestionStatus
from bot.services.metrics import (
    FIRST_REPLY_WINDOW,
    OUTCOMES,
    WAIT_REASONS,
    RequestTally,
    StoreCounts,
    count_store,
)
from bot.store.models import (
    DeliveryChannel,
    DeliveryStatus,
    DigestRunStatus,
    JobStatus,
    SuggestionSource,
)

log = logging.getLogger(__name__)

PATH = "/metrics"
# A scrape must answer even when the database hangs: its counts are then left out.
SCRAPE_TIMEOUT_SECONDS = 5.0
QUESTION_STATES = ("open", "answered", "resolved")


class StoreCollector(Collector):
    """The database's counts, as read by the last scrape (`Scrape.render` reads them)."""

    def __init__(self) -> None:
        self.counts: StoreCounts | None = None

    def collect(self) -> Iterator[Metric]:
        """Yield the counts of the last read, and whether the database answered it."""
        counts = self.counts
        yield GaugeMetricFamily(
            "lessonbot_database_up",
            "1 when the database answered this scrape's counts, else 0.",
            value=0 if counts is None else 1,
        )
        if counts is None:
            return
        yield from _suggestions(counts)
        yield from _questions(counts)
        yield from _digests(counts)
        yield from _jobs(counts)


def _suggestions(counts: StoreCounts) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "lessonbot_suggestions",
        "Suggested edits stored, by status and where they came from.",
        labels=["status", "source"],
    )
    # Every known pair, zeros too: a status nobody is in yet still has a series.
    for status in SuggestionStatus:
        for source in SuggestionSource:
            family.add_metric(
                [status.value, source.value], counts.suggestions.get((status, source), 0)
            )
    yield family


def _questions(counts: StoreCounts) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "lessonbot_questions",
        "Questions tracked (not dropped), by state, program and locale.",
        labels=["state", "program", "locale"],
    )
    places = sorted({(program, locale) for _, program, locale in counts.questions})
    for program, locale in places:
        for state in QUESTION_STATES:
            family.add_metric(
                [state, program, locale], counts.questions.get((state, program, locale), 0)
            )
    yield family
    replies = counts.first_replies
    window_days = FIRST_REPLY_WINDOW.days
    summary = SummaryMetricFamily(
        "lessonbot_question_first_reply_seconds",
        f"Time from a question to its first answer, over the questions answered in the "
        f"last {window_days} days (a window: its count and sum can go down).",
        count_value=replies.count,
        sum_value=replies.total_seconds,
    )
    yield summary
    quantiles = GaugeMetricFamily(
        "lessonbot_question_first_reply_quantile_seconds",
        f"Quantiles of the time to first answer over the last {window_days} days.",
        labels=["quantile"],
    )
    for quantile, seconds in sorted(replies.quantiles.items()):
        quantiles.add_metric([str(quantile)], seconds)
    yield quantiles


def _digests(counts: StoreCounts) -> Iterator[Metric]:
    runs = GaugeMetricFamily(
        "lessonbot_digest_runs", "Digest runs kept, by status.", labels=["status"]
    )
    for status in DigestRunStatus:
        runs.add_metric([status.value], counts.digest_runs.get(status, 0))
    yield runs
    deliveries = GaugeMetricFamily(
        "lessonbot_digest_deliveries",
        "Digest deliveries kept, by status and channel.",
        labels=["status", "channel"],
    )
    for status in DeliveryStatus:
        for channel in DeliveryChannel:
            deliveries.add_metric(
                [status.value, channel.value], counts.digest_deliveries.get((status, channel), 0)
            )
    yield deliveries


def _jobs(counts: StoreCounts) -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "lessonbot_jobs", "Write-path jobs kept, by kind and status.", labels=["kind", "status"]
    )
    for kind in sorted({kind for kind, _ in counts.jobs}):
        for status in JobStatus:
            jobs.add_metric([kind, status.value], counts.jobs.get((kind, status), 0))
    yield jobs
    yield GaugeMetricFamily(
        "lessonbot_jobs_oldest_pending_age_seconds",
        "How long ago the oldest pending job was queued (0 when none is pending).",
        value=counts.oldest_pending_job_seconds,
    )
    priorities = [priority.name.lower() for priority in JobPriority]
    depth = GaugeMetricFamily(
        "lessonbot_jobs_pending",
        "Pending write-path jobs (waiting ones too), by kind and priority.",
        labels=["kind", "priority"],
    )
    kinds = sorted({kind for kind, _ in counts.jobs} | {kind for kind, _ in counts.pending_jobs})
    for kind in kinds:
        for priority in JobPriority:
            depth.add_metric(
                [kind, priority.name.lower()], counts.pending_jobs.get((kind, int(priority)), 0)
            )
    yield depth
    due = GaugeMetricFamily(
        "lessonbot_jobs_oldest_due_seconds",
        "How long the longest-due pending job of each priority has been due (0 for none): "
        "work that waits for a free worker.",
        labels=["priority"],
    )
    for priority, name in zip(JobPriority, priorities, strict=True):
        due.add_metric([name], counts.oldest_due_job_seconds.get(int(priority), 0.0))
    yield due
    linking = GaugeMetricFamily(
        "lessonbot_linking_lessons",
        "Lessons kept (not removed), and how many have their forum post and their issue.",
        labels=["has"],
    )
    for has, key in (("any", "lessons"), ("post", "with_post"), ("issue", "with_issue")):
        linking.add_metric([has], counts.linking.get(key, 0))
    yield linking


class RequestCollector(Collector):
    """Each adapter's requests by outcome and the waits it sat out, in this process."""

    def __init__(self, meters: Mapping[str, RequestTally]) -> None:
        self._meters = dict(meters)

    def collect(self) -> Iterator[Metric]:
        """Yield each service's request and wait counters."""
        for service, tally in sorted(self._meters.items()):
            requests = CounterMetricFamily(
                f"lessonbot_{service}_requests",
                f"HTTP requests this process sent to {service}, retries included, by outcome.",
                labels=["outcome"],
            )
            for outcome in sorted({*OUTCOMES, *tally.requests}):
                requests.add_metric([outcome], tally.requests[outcome])
            yield requests
            waits = CounterMetricFamily(
                f"lessonbot_{service}_waits",
                f"Waits before a request to {service}: its rate limit, or our own pacing.",
                labels=["reason", "budget"],
            )
            seconds = CounterMetricFamily(
                f"lessonbot_{service}_wait_seconds",
                f"Seconds spent waiting before requests to {service}, by reason and budget.",
                labels=["reason", "budget"],
            )
            # Every reason has a series with no budget ("") from the start.
            keys = {(reason, "") for reason in WAIT_REASONS} | set(tally.budget_waits)
            for reason, budget in sorted(keys):
                waits.add_metric([reason, budget], tally.budget_waits[(reason, budget)])
                seconds.add_metric([reason, budget], tally.budget_wait_seconds[(reason, budget)])
            yield waits
            yield seconds


class Scrape:
    """Read the database's counts, then render the app's registry; one scrape at a time."""

    def __init__(
        self,
        registry: CollectorRegistry,
        sessions: async_sessionmaker[AsyncSession],
        meters: Mapping[str, RequestTally],
    ) -> None:
        self.registry = registry
        self._sessions = sessions
        self._store = StoreCollector()
        self._lock = asyncio.Lock()
        registry.register(self._store)
        registry.register(RequestCollector(meters))
        # CPU, memory and open files of this process (Linux; nothing elsewhere).
        ProcessCollector(registry=registry)

    async def render(self) -> bytes:
        """Return the text exposition of every metric, the database counted afresh."""
        # The store collector holds one read: two scrapes at once must not mix theirs.
        async with self._lock:
            try:
                async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
                    self._store.counts = await count_store(self._sessions)
            except Exception as error:
                # The process's own counters still go out; the log says why the rest did not.
                reason = str(error).partition("\n")[0][:200]
                log.warning(
                    "metrics: database counts unavailable: %s: %s", type(error).__name__, reason
                )
                self._store.counts = None
            return generate_latest(self.registry)


SCRAPE: web.AppKey[Scrape] = web.AppKey("metrics_scrape", Scrape)


def add_routes(
    app: web.Application,
    sessions: async_sessionmaker[AsyncSession],
    *,
    registry: CollectorRegistry | None = None,
    meters: Mapping[str, RequestTally] | None = None,
) -> None:
    """Serve GET /metrics from `registry` (a new one when none is given)."""
    app[SCRAPE] = Scrape(registry or CollectorRegistry(auto_describe=True), sessions, meters or {})
    app.router.add_get(PATH, metrics)


async def metrics(request: web.Request) -> web.Response:
    """Answer the Prometheus text format."""
    body = await request.app[SCRAPE].render()
    return web.Response(
        body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )
