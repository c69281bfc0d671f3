"""`/suggest` and the lesson posts' "Suggest an edit" button, as one feature package.

`_cog` holds the slash commands, `_views` the modal and the persistent buttons, `_embeds`
what people are told, and `_drafts` what they typed, kept for "Try again".
"""

from bot.discord.cogs.suggest._cog import SuggestCog, add_suggest_cog
from bot.discord.cogs.suggest._drafts import Draft, Drafts
from bot.discord.cogs.suggest._embeds import refusal, status_embed
from bot.discord.cogs.suggest._views import (
    StepButton,
    SuggestButton,
    SuggestModal,
    parse_suggest_id,
)

__all__ = [
    "Draft",
    "Drafts",
    "StepButton",
    "SuggestButton",
    "SuggestCog",
    "SuggestModal",
    "add_suggest_cog",
    "parse_suggest_id",
    "refusal",
    "status_embed",
]
