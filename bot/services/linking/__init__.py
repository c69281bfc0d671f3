"""Link every lesson to one Discord forum post and one GitHub issue, and keep them right.

The service (service.py) plans each sync (bot/domain/linking.py) and hands each lesson's
writes to the write path: planning.py decides them from the link texts
(bot/domain/link_texts.py), performing.py writes them, finding.py adopts what an earlier
attempt wrote, store.py records it all.
"""

from bot.services.linking.backlog import LinkBacklog
from bot.services.linking.directory import LessonLinks, LinkDirectory, post_url
from bot.services.linking.finding import parse_post_key
from bot.services.linking.report import SyncReport
from bot.services.linking.service import LinkingService

__all__ = [
    "LessonLinks",
    "LinkBacklog",
    "LinkDirectory",
    "LinkingService",
    "SyncReport",
    "parse_post_key",
    "post_url",
]
