"""Track learners' questions in lesson posts and issues until they are answered or resolved.

Adapters hand every message, edit, deletion, reaction and issue comment to this service;
it asks `bot.domain.questions.classify` whether the text is a question, stores the rule
that said so, and marks a question answered by a reply to it, or by a later substantive
message from someone else (`bot.domain.questions.reply_verdict`: not thanks, praise, "me
too", emoji or a bare link), which answers the newest question still open (staff when the
answerer holds a maintainer role or write access). The bot only records: it never answers
a question itself.

`QuestionService` is the facade; its parts are `discord_intake` (messages, edits,
deletions, reactions), `github_intake` (issue comments), `help_posts` (posts learners
open, and their lesson picker), `commands` (/ask, /resolve), `queries` (reading), and the
`answers` and `staff` they share.
"""

from bot.services.questions.commands import ASK_LIMIT
from bot.services.questions.discord_intake import RESOLVE_EMOJI
from bot.services.questions.errors import QuestionError
from bot.services.questions.help_posts import OPTION_LIMIT, PICKER_OPTIONS, PICKER_PREFIX
from bot.services.questions.records import ASK_RULE, HELP_POST_RULE
from bot.services.questions.service import QuestionService
from bot.services.questions.staff import STAFF_ASSOCIATIONS, STAFF_PERMISSIONS
from bot.services.questions.views import AskResult, PickResult, QuestionView, ResolveResult

__all__ = [
    "ASK_LIMIT",
    "ASK_RULE",
    "HELP_POST_RULE",
    "OPTION_LIMIT",
    "PICKER_OPTIONS",
    "PICKER_PREFIX",
    "RESOLVE_EMOJI",
    "STAFF_ASSOCIATIONS",
    "STAFF_PERMISSIONS",
    "AskResult",
    "PickResult",
    "QuestionError",
    "QuestionService",
    "QuestionView",
    "ResolveResult",
]
