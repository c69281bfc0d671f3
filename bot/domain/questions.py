"""Decide whether a message is a question, and say which rule decided it."""

# Full-width punctuation and Arabic letters are the point here, not look-alike typos.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

LOCALES = ("en", "es", "ar", "zh", "fr", "hi", "nl", "te")


class Rule(StrEnum):
    """Name the rule that made a message a question."""

    QUESTION_MARK = "question_mark"
    OPENING = "interrogative_opening"
    WORD = "interrogative_word"
    EMBEDDED = "embedded_question"
    PARTICLE = "question_particle"


@dataclass(frozen=True, slots=True)
class QuestionVerdict:
    """Hold whether a message is a question, the rule that fired, its locale and cue."""

    is_question: bool
    rule: Rule | None = None
    locale: str | None = None
    cue: str | None = None


NOT_A_QUESTION = QuestionVerdict(False)

_FLAGS = re.IGNORECASE | re.MULTILINE
# Indic vowel signs are not `\w` to Python's re, so word edges must count them as letters.
_L = r"[\w\u0900-\u097F\u0C00-\u0C7F]"
_B = rf"(?<!{_L})"
_E = rf"(?!{_L})"

# --- What is not the writer's own prose -------------------------------------------------
_FENCE = re.compile(r"(```|~~~).*?(?:\1|\Z)", re.DOTALL)
_INLINE_CODE = re.compile(r"(`+).+?\1", re.DOTALL)
# Discord's `>>>` quotes everything to the end of the message.
_BLOCK_QUOTE = re.compile(r"^\s*>>>.*\Z", re.DOTALL | re.MULTILINE)
_QUOTE_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
_URL = re.compile(r"<?(?:https?://|www\.)\S+", re.IGNORECASE)
_DISCORD_TOKEN = re.compile(r"<(?:@[!&]?|#|a?:\w+:)\d+>")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# "(?)" marks doubt about the word before it, not a question.
_DOUBT = re.compile(r"\(\s*[?？]+\s*\)")
_ARABIC_MARKS = re.compile(r"[\u064B-\u0652\u0640]")
_ARABIC_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})

# "¿" first: it names Spanish, where a plain "?" names no locale.
_MARKS = {"¿": "es", "？": "zh", "؟": "ar", "?": None}
_SENTENCE = re.compile(r"[^.!。！;；\n]+[.!。！;；]*")
_CLAUSE = re.compile(r"[,，،、:]")
_EXCLAIMED = re.compile(r"(?:^\s*[¡]|[!！]\s*$)")

_SCRIPTS = {
    "ar": re.compile(r"[\u0600-\u06FF]"),
    "hi": re.compile(r"[\u0900-\u097F]"),
    "te": re.compile(r"[\u0C00-\u0C7F]"),
    "zh": re.compile(r"[\u3400-\u9FFF]"),
}
_LATIN = re.compile(r"[A-Za-zÀ-ÿ]")


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _FLAGS)


@dataclass(frozen=True, slots=True)
class _Rules:
    """Hold one locale's patterns; `explainers` in a clause make its wh-words indirect."""

    opening: re.Pattern[str] | None = None
    embedded: re.Pattern[str] | None = None
    words: re.Pattern[str] | None = None
    explainers: re.Pattern[str] | None = None
    particle: re.Pattern[str] | None = None


_EN_AUX = (
    r"(?:is|are|was|were|am|do|does|did|can|could|should|would|will|has|have|may|might|shall"
    r"|isn't|aren't|doesn't|don't|didn't|can't|won't|wouldn't|shouldn't|couldn't)"
)
_EN_PRONOUN = r"(?:i|you|we|they|he|she|it|this|that|these|those|there|anyone|anybody|someone|somebody|everyone)"  # noqa: E501
_EN_FILLER = r"(?:(?:so|and|but|also|then|ok|okay|well|hmm|um|sorry|hey|hi|hello)\s+)*"

_RULES: dict[str, _Rules] = {
    "en": _Rules(
        # A wh-word counts only when an auxiliary or a fixed phrase follows: "how nice",
        # "what a lesson" and "how it works" are exclamations or descriptions, not questions.
        # "which" takes only nouns: "..., which is odd" is a relative clause.
        opening=_c(
            rf"^{_EN_FILLER}(?:(?:how|why|what|where|when|who|whom|whose)\s+{_EN_AUX}\b"
            r"|(?:what|how|where|who|why)'(?:s|re)\b"
            r"|how\s+(?:to|come|many|much|long|often)\b|what\s+(?:if|about)\b|why\s+not\b"
            rf"|(?:what|how)\s+\w+\s+{_EN_AUX}\s+{_EN_PRONOUN}\b"
            r"|which\s+(?:one|version|file|command|option|model|lesson|step|library|package)s?\b"
            # Aux inversion needs a subject: "do the exercises" is an imperative, so
            # determiners follow only auxiliaries that never start a command.
            rf"|{_EN_AUX}\s+{_EN_PRONOUN}\b"
            r"|(?:is|are|was|were|does|did|can|could|should|will|would)\s+(?:the|my|our|your)\b"
            r"|any(?:one|body)\s+(?:know|knows|else|have|has|got|tried|seen)\b"
            r"|any\s+(?:idea|ideas|tips|suggestions|hints|thoughts|pointers)\b)"
        ),
        embedded=_c(
            r"\b(?:(?:don't|do not|didn't|can't|cannot|couldn't)\s+(?:know|understand|get|see|"
            r"figure out|tell|work out)|not\s+sure|wonder|wondering|no\s+idea)\s+"
            r"(?:how|why|what|where|when|which|who|if|whether)\b"
            r"|\b(?:can|could)\s+(?:someone|anyone|somebody|anybody)\b"
        ),
    ),
    "es": _Rules(
        # Only accented wh-words open a question: unaccented "como" ("as") and "porque"
        # ("because") start ordinary statements. "qué bien" is an exclamation.
        opening=_c(
            r"^(?:(?:y|pero|entonces|oye|hola)\s+)*(?:(?:cómo|por qué|cuándo|dónde|adónde|cuál"
            r"|cuáles|quién|quiénes|cuánto|cuánta|cuántos|cuántas)(?!\w)"
            r"|qué(?!\s+(?:bien|bueno|buena|genial|guay|bonito|bonita|interesante|pena|lástima"
            r"|suerte|horror|rico|padre)\b)(?!\w)"
            r"|alguien\s+(?:sabe|puede|me\s+puede|podría|tiene|ha)\b|sabe\s+alguien\b"
            r"|(?:sabéis|saben|sabes)\s+(?:si|cómo|por qué|dónde)\b"
            r"|hay\s+alguna\s+(?:forma|manera)\b"
            r"|me\s+(?:pueden|podéis|podrías|puedes|podrían)\s+(?:ayudar|explicar|decir)\b)"
        ),
        # Mid-sentence "cómo" also praises ("me encanta cómo explica"), so it counts only
        # after not knowing or not understanding.
        embedded=_c(
            r"\bno\s+(?:entiendo|sé|se|comprendo|veo|tengo\s+claro|me\s+queda\s+claro)\s+"
            r"(?:por qué|por que|cómo|como|qué|dónde|donde|cuándo|cuál|quién|si)(?!\w)"
            r"|\bme\s+pregunto\b|\balguna\s+idea\s+de\b"
        ),
    ),
    "fr": _Rules(
        # "comment" is also an English noun ("comment below", "comment on the PR"), so it
        # needs a French pronoun or verb after it; "on" must not be followed by English.
        opening=_c(
            r"^(?:(?:et|mais|alors|du coup|salut|bonjour)\s+)*(?:pourquoi\b"
            r"|comment\s+(?:est-ce|je|j'|tu|vous|il|ils|elle|elles|ça|ca|cela|faire|fait"
            r"|fonctionne|marche|installer|utiliser|lancer|obtenir|configurer|ajouter|corriger"
            r"|résoudre|trouver|savoir)(?!\w)"
            r"|comment\s+on\s+(?!(?:the|this|that|it|my|your|our|a|an|line|pr|issue)\b)\w"
            r"|où\s+(?:est|sont|se|trouver|je|on|puis|peut)\b|quand\s+(?:est-ce|est|sera|va)\b"
            r"|quel(?:le)?s?\s+(?:est|sont|serait|version|fichier|commande|différence)\b"
            r"|qu'est-ce\b|combien\s+de\b|quelqu'un\s+(?:sait|peut|pourrait|a)\b)"
        ),
        embedded=_c(
            r"\bje\s+(?:ne\s+|n')?(?:comprends|sais|vois)\s+pas\s+"
            r"(?:pourquoi|comment|où|quand|si|ce qui|ce que|quel)(?!\w)|\bje\s+me\s+demande\b"
        ),
        # Subject-verb inversion is interrogative, but "-vous"/"-nous" also end imperatives
        # ("inscrivez-vous"), so only the euphonic "-t-il" and a list of inverted verbs count.
        words=_c(
            r"\b\w+-t-(?:il|elle|on)\b|\best-ce\s+qu"
            r"|\b(?:peut-on|peut-il|puis-je|dois-je|faut-il|sais-tu|savez-vous|pouvez-vous"
            r"|pourriez-vous|pourrais-tu|peux-tu|avez-vous|as-tu|est-il|est-elle|êtes-vous"
            r"|es-tu|connaissez-vous|connais-tu|pensez-vous|penses-tu|devrais-je|ai-je)\b"
        ),
    ),
    "nl": _Rules(
        # "hoe leuk!" and "wat een les" are exclamations: "hoe"/"wat"/"waar" need a verb.
        opening=_c(
            r"^(?:(?:en|maar|dus|hoi|hallo)\s+)*(?:hoe\s+(?:kan|kun|kunt|moet|moeten|doe|doen"
            r"|werkt|werken|zit|komt|krijg|zet|installeer|gebruik|maak|vind|start|weet|heet"
            r"|lang|vaak)\b|hoe\s+\w+\s+(?:ik|je|jij|we|wij|u|jullie)\b|waarom\b"
            r"|wat\s+(?:is|zijn|betekent|doet|moet|gebeurt|bedoel|bedoelt|houdt|kan|kun|als)\b"
            r"|waar\s+(?:vind|kan|kun|moet|staat|staan|is|zijn|zit|komt|haal)\b"
            r"|wanneer\s+(?:is|zijn|komt|moet|kan|wordt)\b|welke\b|wie\s+(?:weet|kan|heeft)\b"
            r"|kan\s+(?:ik|je|iemand|dit|het)\b|kun\s+(?:je|jij)\b|kunt\s+u\b"
            r"|moet\s+(?:ik|je|het|dit)\b|is\s+(?:het|er|dit|dat)\b|zijn\s+er\b"
            r"|weet\s+(?:iemand|jij|je|u)\b|heeft\s+iemand\b|klopt\s+(?:het|dit|dat)\b"
            r"|werkt\s+(?:dit|het|dat)\b|mag\s+(?:ik|je)\b)"
        ),
        embedded=_c(
            r"\bik\s+(?:snap|begrijp|weet|zie)\s+(?:het\s+)?niet\s+(?:(?:goed|echt)\s+)?"
            r"(?:waarom|hoe|wat|waar|wanneer|of|welke)\b|\bik\s+vraag\s+me\s+af\b"
            r"|\biemand\s+een\s+idee\b"
        ),
    ),
    # Arabic text is matched with diacritics and tatweel removed and hamza alefs as "ا".
    "ar": _Rules(
        # "ما" alone is also negation and "من" also "from", so they need a following word;
        # "لما" is dialect "when", so only "لماذا" is "why".
        opening=_c(
            rf"^[وف]?(?:كيف|لماذا|ليش|ليه|ماذا|متى|اين|وين|ازاي|شلون|شو|ايش|كم\s+عدد"
            r"|ما\s+(?:هو|هي|هم|الفرق|معنى|المقصود|السبب)|من\s+(?:يعرف|يستطيع|يقدر))"
            rf"{_E}"
        ),
        embedded=_c(
            r"(?:لا|لم|ما|مش|مو)\s+(?:اعرف|افهم|فهمت|ادري|عارف|فاهم|اعلم)\s+[وف]?"
            rf"(?:كيف|لماذا|ليش|ليه|ماذا|متى|اين|هل|اذا|ما|من|شو|ازاي){_E}|{_B}اتساءل"
        ),
        # "هل" is only ever the yes/no question particle.
        words=_c(rf"{_B}[وف]?هل{_E}"),
        explainers=_c(r"يوضح|يشرح|يبين|يعرض|نتعلم|سنتعلم|تتعلم"),
    ),
    "zh": _Rules(
        # Indefinite uses are not questions: "什么都" (anything), "没什么" (nothing),
        # "不怎么" (not very), "无论如何" (anyway), "谁都" (anyone), "…什么的" (and so on).
        words=_c(
            r"为什么|为啥|怎么办|怎么回事|是不是|能不能|可不可以|有没有|对不对|会不会|要不要"
            r"|(?<![不没])怎么(?![都也])|(?<!论)如何|怎样(?![都也])|(?<!没)什么(?![都也的])"
            r"|哪(?:里|儿|个|些)(?![都也])|谁(?![都也])"
        ),
        # "本课介绍如何…" ("this lesson shows how…") describes, it does not ask.
        explainers=_c(r"介绍|说明|展示|讲解|解释|演示|告诉你|教你|学习|学会|了解"),
        particle=_c(r"吗\s*$"),
    ),
    "hi": _Rules(
        # "क्या बात है" and "क्या खूब" are exclamations of praise.
        words=_c(
            rf"{_B}(?:क्या(?!\s*(?:बात|खूब))|क्यों|क्यूं|कैसे|कैसा|कैसी|कहाँ|कहां|कब|कौन|कौनसा"
            rf"|कितना|कितने|कितनी){_E}"
        ),
        # Indicative "दिखाता/बताता…" describe; the imperative "बताइए" (tell me) still asks.
        explainers=_c(r"(?:दिखा|बता|समझा|सिखा)(?:ता|ती|ते|या)"),
    ),
    "te": _Rules(
        # Boundaries keep "ఎప్పుడూ" (always), "ఎంతో" (a lot), "ఎవరూ" (nobody) out.
        words=_c(rf"{_B}(?:ఎలా|ఎందుకు|ఏమిటి|ఏంటి|ఏమి|ఎక్కడ|ఎప్పుడు|ఎవరు|ఏది|ఎన్ని|ఎంత){_E}"),
        explainers=_c(r"చూపిస్తుంది|చూపుతుంది|వివరిస్తుంది|చెబుతుంది|నేర్పిస్తుంది|నేర్చుకుంటాం"),
        # The yes/no suffix "-ా" on a clause-final verb: "ఉందా", "చేయాలా", "చేయగలనా".
        particle=_c(rf"(?:ందా|న్నాయా|న్నారా|ాలా|ాదా|కదా|గలనా|గలమా|గలరా){_E}\s*$"),
    ),
}


def prose(text: str) -> str:
    """Return the writer's own words: no code, quotes, URLs, mentions or HTML comments."""
    text = _FENCE.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = _BLOCK_QUOTE.sub(" ", text)
    text = _QUOTE_LINE.sub(" ", text)
    text = _HTML_COMMENT.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _DISCORD_TOKEN.sub(" ", text)
    text = _DOUBT.sub(" ", text)
    return text.replace("’", "'")


def classify(text: str, locale: str | None = None) -> QuestionVerdict:
    """Return whether `text` is a question and the rule that says so; `locale` is a hint."""
    words = prose(text)
    # Emoji, punctuation and a bare "?" carry nothing a maintainer could answer.
    if not any(ch.isalpha() for ch in words):
        return NOT_A_QUESTION
    candidates = _candidates(words, locale)
    for mark, mark_locale in _MARKS.items():
        if mark in words:
            found = mark_locale or locale or _only_script(candidates)
            if found is None:
                # "How do I ...?" is English as well as a question: say so when the
                # wording tells, so a maintainer's language filter can use it.
                found = _interrogative(words, candidates).locale
            return QuestionVerdict(True, Rule.QUESTION_MARK, found, mark)
    return _interrogative(words, candidates)


def _interrogative(words: str, candidates: list[str]) -> QuestionVerdict:
    """Return the first interrogative opening, pattern, particle or word of a locale."""
    arabic = None
    for sentence in _SENTENCE.findall(words):
        # An exclamation ("Can you believe it!", "¡Qué bien!") is not waiting for an answer.
        if _EXCLAIMED.search(sentence.strip()):
            continue
        clauses = [c.strip().rstrip(".;；。") for c in _CLAUSE.split(sentence)]
        for code in candidates:
            if code == "ar":
                arabic = arabic or [_arabic(c) for c in clauses]
                verdict = _check(code, arabic)
            else:
                verdict = _check(code, clauses)
            if verdict:
                return verdict
    return NOT_A_QUESTION


def is_question(text: str, locale: str | None = None) -> bool:
    """Return whether `text` is a question."""
    return classify(text, locale).is_question


def _check(code: str, clauses: list[str]) -> QuestionVerdict | None:
    rules = _RULES[code]
    for clause in clauses:
        if not clause:
            continue
        for rule, pattern in ((Rule.OPENING, rules.opening), (Rule.EMBEDDED, rules.embedded)):
            if pattern and (m := pattern.search(clause)):
                return QuestionVerdict(True, rule, code, m.group(0).strip())
        if rules.particle and (m := rules.particle.search(clause)):
            return QuestionVerdict(True, Rule.PARTICLE, code, m.group(0).strip())
        m = rules.words.search(clause) if rules.words else None
        if m and not (rules.explainers and rules.explainers.search(clause)):
            return QuestionVerdict(True, Rule.WORD, code, m.group(0).strip())
    return None


def _candidates(text: str, hint: str | None) -> list[str]:
    found = [code for code, script in _SCRIPTS.items() if script.search(text)]
    if _LATIN.search(text):
        found += ["en", "es", "fr", "nl"]
    if hint in found:
        found.remove(hint)
        found.insert(0, hint)
    return found


def _only_script(candidates: list[str]) -> str | None:
    scripts = [code for code in candidates if code in _SCRIPTS]
    return scripts[0] if len(scripts) == 1 and len(candidates) == 1 else None


def _arabic(text: str) -> str:
    return _ARABIC_MARKS.sub("", text).translate(_ARABIC_ALEF)
