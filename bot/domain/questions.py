"""Decide whether a message is a question, and say which rule decided it."""

# Full-width punctuation and Arabic letters are the point here, not look-alike typos.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re
import unicodedata
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


# Everyday words of the Latin-script locales, to tell which one a message is written in.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMMON_WORDS = {
    "en": _words(
        "the is are i my how what why on in to and it with of this that can not do does "
        "stuck quiz lesson help"
    ),
    "es": _words(
        "el la los las de del que y en no mi con por una un es estoy atascado atascada "
        "lección ayuda cómo qué por qué"
    ),
    "fr": _words(
        "le la les de des du je et est pas dans une un sur mon ma avec pour leçon bloqué "
        "bloquée aide comment"
    ),
    "nl": _words(
        "de het een ik en van is niet op mijn met hoe wat waarom les vast bij dat er te hulp"
    ),
}


def guess_locale(text: str, default: str | None = None) -> str | None:
    """Return the locale a message is most likely written in (`default` when unsure)."""
    words = prose(text)
    verdict = classify(words)
    if verdict.locale:
        return verdict.locale
    scripts = [code for code, script in _SCRIPTS.items() if script.search(words)]
    if len(scripts) == 1:
        return scripts[0]
    counts = {code: 0 for code in _COMMON_WORDS}
    for word in re.findall(r"[^\W\d_]+", words.casefold()):
        for code, common in _COMMON_WORDS.items():
            counts[code] += word in common
    best = max(counts.values())
    winners = [code for code, count in counts.items() if count == best]
    if best == 0:
        return default
    return default if default in winners else winners[0]


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


# --- Does a later message answer? -------------------------------------------------------
#
# A message after a question answers it only when it says something a learner can use: not
# thanks, praise, agreement, "me too", laughter, a nudge ("any update?"), emoji or a bare
# link. Each sentence is looked at on its own, so "Thanks! Restart the kernel." answers
# while "Great lesson, thanks!" does not: a sentence is chatter only when every clause of it
# is, whole, one of the phrases below.


class Reply(StrEnum):
    """Name what a later message is: an answer, or the kind of chatter it is."""

    ANSWER = "answer"
    QUESTION = "question"
    THANKS = "thanks"
    PRAISE = "praise"
    AGREEMENT = "agreement"
    ME_TOO = "me_too"
    NO_IDEA = "no_idea"
    LAUGHTER = "laughter"
    FOLLOW_UP = "follow_up"
    EMOJI_ONLY = "emoji_only"
    LINK_ONLY = "link_only"
    TOO_SHORT = "too_short"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class ReplyVerdict:
    """Hold whether a message answers, why (the reason), and the locale and cue that said so."""

    substantive: bool
    reason: Reply
    locale: str | None = None
    cue: str | None = None


# "df.dropna()" is one sentence: a full stop ends one only before a space or the end.
_REPLY_SENTENCE = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？؟।])|\n+")
_REPLY_CLAUSE = re.compile(r"[,，、،;；:：]|\s[-–—]+\s|[–—]")
_LATIN_MARKS = re.compile(r"[\u0300-\u036f]")
# Nukta, zero-width joiners and Arabic harakat change no word this matching cares about.
_INVISIBLE = re.compile(r"[\u093c\u200c\u200d\u064b-\u0652\u0640]")
_SPACES = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Words that only point at a link: "see <url>", "here: <url>".
_POINTERS = frozenset(
    (
        *("see", "here", "this", "read", "check", "look", "try", "link", "ver", "aqui", "mira"),
        *("este", "esta", "voir", "ici", "regarde", "lien", "zie", "hier", "kijk", "deze"),
        *("هنا", "انظر", "شوف", "الرابط", "देखें", "यहाँ", "यहां", "ఇక్కడ", "చూడండి"),
        *("看", "这里", "参考", "链接"),
    )
)
# Signs that make a one-word reply code ("Use |."), where emoji would not.
_CODE_SIGNS = frozenset("|=<>~^_#*/\\&%$[]{}+-")
# A free word after thanks or praise: a name ("thanks sam", "great lesson ana").
_NAME = r"(?:\s+\S+)?"


def _r(pattern: str) -> re.Pattern[str]:
    # Matched against a whole folded clause: no case, Latin accents or punctuation.
    return re.compile(rf"^(?:{pattern})$")


_PLUS_ONE = r"\+\s*1+"
_EN_TAIL = (
    r"(?:\s+(?:so|very|a|lot|ton|bunch|much|again|in|advance|all|everyone|everybody|guys|folks"
    r"|man|mate|buddy|friend|for|the|this|that|it|your|help|lesson|course|answer|explanation"
    r"|reply|info|sharing|tip|tips|video|class|great|nice|clear|asking|question|explaining))*"
)
_EN_GOOD = (
    r"great|nice|cool|awesome|amazing|excellent|brilliant|fantastic|wonderful|helpful|useful"
    r"|clear|good|perfect|lovely|beautiful|superb|incredible|neat|sweet|impressive|outstanding"
    r"|informative|insightful|interesting"
)
_EN_THING = (
    r"lesson|course|explanation|video|work|job|stuff|one|content|tutorial|post|answer|example"
    r"|module|class|read|session|material|question|point"
)

_REPLIES: dict[Reply, dict[str, re.Pattern[str]]] = {
    Reply.THANKS: {
        "en": _r(
            r"(?:(?:ok|okay|oh|ah|great|cool|nice|perfect|awesome)\s+)?(?:thanks?|thank\s+you"
            r"|thankyou|thx|thnx|tnx|ty|tysm|tyvm|cheers|many\s+thanks|much\s+appreciated"
            rf"|(?:i\s+)?appreciate\s+it){_EN_TAIL}{_NAME}"
        ),
        "es": _r(
            r"(?:(?:muchas|mil|muchisimas)\s+)?gracias(?:\s+(?:por|a|todos|todas|de|nuevo|la|el"
            r"|esta|este|leccion|clase|curso|explicacion|ayuda|respuesta|compartir|info|mil"
            rf"|muchas|amigo|amiga|profe))*{_NAME}|te\s+lo\s+agradezco|se\s+agradece"
            r"|(?:muy\s+)?agradecid[oa]"
        ),
        "fr": _r(
            r"merci(?:\s+(?:beaucoup|bien|mille|fois|infiniment|a|tous|toi|vous|encore|pour|la"
            r"|le|les|ce|cette|cours|lecon|explication|aide|reponse|partage|d'avoir|tout|bcp))*"
            rf"{_NAME}|mille\s+mercis?|je\s+(?:vous|te)\s+remercie"
        ),
        "nl": _r(
            r"(?:(?:heel\s+erg|super|hartstikke|enorm)\s+)?(?:bedankt|dank\s*je(?:\s*wel)?"
            r"|dank\s*u(?:\s*wel)?|thanks|thnx|merci|dank)(?:\s+(?:voor|de|het|deze|les"
            rf"|uitleg|hulp|antwoord|delen|allemaal|iedereen|alvast|nogmaals|weer))*{_NAME}"
        ),
        "ar": _r(
            r"[وف]?(?:شكرا|مشكور|مشكوره|مشكورين|متشكر|تسلم|تسلمي|تسلموا|ممنون"
            r"|(?:الله\s+)?يعطيك\s+العافي[هة]|جزاك\s+الله\s+خيرا?|بارك\s+الله\s+فيك)"
            r"(?:\s+(?:جزيلا|جدا|لك|لكم|كثيرا|كتير|على|الدرس|الشرح|المساعد[هة]|المشارك[هة]"
            rf"|يا|اخي|استاذ|الجميع|مقدما))*{_NAME}"
        ),
        "hi": _r(
            r"(?:बहुत\s+(?:बहुत\s+)?)?(?:धन्यवाद|शुक्रिया|थैंक्स|थैंक\s+यू|थेंक्स|आभार)"
            rf"(?:\s+(?:जी|आपका|आपको|सर|भाई|दोस्त|सबको|इस|पाठ|के|लिए|का|मदद))*{_NAME}"
        ),
        "te": _r(
            r"(?:చాలా\s+)?(?:ధన్యవాదాలు|ధన్యవాదములు|కృతజ్ఞతలు|థాంక్స్|థ్యాంక్స్|థాంక్యూ"
            r"|థ్యాంక్యూ|థాంక్\s+యూ)(?:\s+(?:సర్|అన్నా|అండి|మీకు|అందరికీ|ఈ|పాఠానికి"
            rf"|సహాయానికి))*{_NAME}"
        ),
        "zh": _r(
            r"(?:非常|十分|太|真|万分)?(?:谢谢|感谢|多谢|谢啦|谢了|3q)"
            r"(?:你|您|大家|老师|分享|解答|帮助|啦|了|呀|哈|这节课|这个课程|这门课|各位|大佬)*"
        ),
    },
    Reply.ME_TOO: {
        "en": _r(
            r"me\s+too|me\s+as\s+well|ditto|me\s+neither|following"
            r"|same(?:\s+(?:here|for\s+me|problem|issue|question|error|thing|doubt))*(?:\s+too)?"
            r"|(?:i\s+)?(?:have|had|got|'ve\s+got|am\s+having|'m\s+having)\s+(?:the\s+)?same"
            r"\s+(?:question|problem|issue|error|doubt)(?:\s+(?:here|too|as\s+well))?"
            r"|(?:i'?m|i\s+am)\s+(?:also\s+)?(?:stuck|confused|wondering)(?:\s+(?:too|as\s+well"
            r"|here))?|(?:also|same)\s+(?:stuck|wondering|confused)(?:\s+here)?"
            r"|(?:i\s+was\s+)?(?:also\s+)?wondering\s+the\s+same(?:\s+thing)?"
            r"|i\s+have\s+this\s+(?:problem|issue)\s+too|(?:this\s+|it\s+)?happens\s+to\s+me"
            r"\s+too|(?:that\s+|this\s+)?(?:worked|works)\s+for\s+me\s+too"
        ),
        "es": _r(
            r"(?:y\s+)?(?:yo|a\s+mi)\s+tambien|igual(?:\s+(?:yo|aqui|que\s+tu))?|lo\s+mismo"
            r"|(?:tengo|tenia)\s+(?:la\s+misma\s+(?:duda|pregunta)|el\s+mismo\s+(?:problema"
            r"|error))(?:\s+(?:que\s+tu|aqui))?|(?:mismo\s+(?:problema|error)|misma\s+(?:duda"
            r"|pregunta))(?:\s+aqui)?|me\s+pasa\s+(?:lo\s+mismo|igual)|somos\s+dos"
            r"|(?:yo\s+)?tambien\s+(?:estoy\s+atascad[oa]|me\s+lo\s+pregunto)"
        ),
        "fr": _r(
            r"moi\s+aussi|pareil(?:\s+(?:pour\s+moi|ici))?|idem"
            r"|meme\s+(?:probleme|question|souci|erreur)(?:\s+(?:ici|pour\s+moi))?"
            r"|j'ai\s+(?:la\s+meme\s+question|le\s+meme\s+(?:probleme|souci))(?:\s+(?:que\s+toi"
            r"|ici))?|je\s+me\s+pose\s+la\s+meme\s+question|(?:moi\s+)?aussi\s+bloquee?"
        ),
        "nl": _r(
            r"ik\s+ook|hier\s+ook|bij\s+mij\s+ook|(?:zelfde|hetzelfde)(?:\s+(?:probleem|vraag"
            r"|hier|bij\s+mij))*|(?:ik\s+)?heb\s+(?:ik\s+)?(?:ook\s+)?(?:precies\s+)?(?:dezelfde"
            r"\s+vraag|hetzelfde\s+probleem)|heb\s+ik\s+ook|ik\s+zit\s+ook\s+vast"
        ),
        "ar": _r(
            r"[وف]?انا\s+(?:ايضا|كمان|كذلك)|[وف]?انا\s+كمان|(?:عندي\s+|ولدي\s+|لدي\s+)?نفس"
            r"\s+(?:المشكل[هة]|السؤال|الشي|الخطا)(?:\s+(?:عندي|هنا))?"
            r"|(?:انا\s+)?(?:ايضا|كمان)\s+عندي\s+نفس\s+\S+"
        ),
        "hi": _r(
            r"(?:मैं|मुझे|मेरा|मेरी|मेरे)\s+भी(?:\s+(?:यही|वही|ये|यह|same))?(?:\s+(?:सवाल|प्रश्न"
            r"|समस्या|दिक्कत|प्रॉब्लम))?(?:\s+(?:है|था|हो\s+रहा\s+है|हो\s+रही\s+है|आ\s+रही\s+है))?"
            r"|मेरे\s+साथ\s+भी\s+(?:यही|ऐसा)\s+(?:हो\s+रहा\s+है|हुआ)"
            r"|(?:यही|वही)\s+(?:सवाल|समस्या|दिक्कत)(?:\s+(?:है|मेरा\s+भी))?"
        ),
        "te": _r(
            r"(?:నేను|నాకు|నాకూ)\s+(?:కూడా|కుడా)(?:\s+(?:అదే|ఇదే|సేమ్))?(?:\s+(?:ప్రశ్న|సమస్య"
            r"|డౌట్|ఎర్రర్))?(?:\s+(?:ఉంది|వచ్చింది|ఉన్నది))?|నాకూ\s+అదే(?:\s+(?:ప్రశ్న|సమస్య))?"
            r"|(?:అదే|సేమ్)\s+(?:ప్రశ్న|సమస్య|డౌట్)(?:\s+(?:ఉంది|నాకు\s+కూడా))?"
        ),
        "zh": _r(
            r"我也是|我也一样|同问|同求|一样|加一|我也想知道|我也卡住了"
            r"|我也有?(?:同样|一样|相同)的?(?:问题|疑问|困惑)|同样的?(?:问题|疑问)"
            r"|我也遇到了?(?:同样的?|这个|一样的)?(?:问题|情况)?"
        ),
    },
    Reply.AGREEMENT: {
        "en": _r(
            rf"{_PLUS_ONE}|(?:i\s+)?(?:agree|agreed)(?:\s+with\s+\S+)?|exactly|true|so\s+true"
            r"|yes|yep|yeah|yup|right|ok|okay|okey|k|kk|sure|indeed|this|good\s+point"
            r"|makes\s+sense|got\s+it|gotcha|i\s+see|fair\s+enough|understood|noted"
            r"|(?:ah|oh)\s+ok(?:ay)?|alright|all\s+right|correct|definitely|absolutely"
            r"|(?:that|this|it)\s+(?:helped|helps|worked|works)(?:\s+(?:a\s+lot|now))?"
            r"|(?:that\s+)?fixed\s+it|solved"
        ),
        "es": _r(
            rf"{_PLUS_ONE}|(?:estoy\s+)?de\s+acuerdo(?:\s+contigo)?|exacto|exactamente|cierto"
            r"|es\s+cierto|si|vale|ok|okay|claro|tal\s+cual|totalmente|entendido|ya\s+veo"
            r"|perfecto|listo|dale|eso|correcto|tiene\s+sentido|funciona|ya\s+funciona"
        ),
        "fr": _r(
            rf"{_PLUS_ONE}|(?:je\s+suis\s+)?d'accord(?:\s+avec\s+\S+)?|exactement|exact|oui"
            r"|ouais|ok|okay|carrement|tout\s+a\s+fait|compris|c'est\s+vrai|vrai|je\s+vois"
            r"|entendu|effectivement|bien\s+vu|ca\s+marche|parfait"
        ),
        "nl": _r(
            rf"{_PLUS_ONE}|(?:helemaal\s+)?mee\s+eens|eens|klopt|precies|ja|jazeker|jep|ok|oke"
            r"|okay|inderdaad|begrepen|snap\s+ik|ik\s+snap\s+het|juist|zeker|prima|akkoord"
            r"|het\s+werkt"
        ),
        "ar": _r(
            rf"{_PLUS_ONE}|موافق|اوافق|صحيح|صح|بالضبط|نعم|اكيد|تمام|اوك|اوكي|فعلا|معك\s+حق"
            r"|كلامك\s+صحيح|مفهوم|فهمت|طيب|حسنا"
        ),
        "hi": _r(
            rf"{_PLUS_ONE}|(?:मैं\s+)?सहमत(?:\s+हूँ|\s+हूं)?|सही(?:\s+(?:है|बात|कहा))*"
            r"|बिल्कुल(?:\s+सही)?|हाँ|हां|जी(?:\s+हाँ)?|ठीक(?:\s+है)?|ओके|समझ\s+(?:गया|गई|आ\s+गया)"
        ),
        "te": _r(
            rf"{_PLUS_ONE}|అవును|సరే|సరేనండి|నిజమే|కరెక్ట్|ఓకే|సరిగ్గా|అర్థమైంది"
            r"|నేను\s+ఒప్పుకుంటాను"
        ),
        "zh": _r(
            r"\+1|同意|对|对的|是的|没错|好的|好|嗯+|赞同|确实|有道理|明白了|懂了|收到|了解|可以|行"
        ),
    },
    Reply.PRAISE: {
        "en": _r(
            r"(?:(?:what|such)\s+an?\s+|(?:this|that|it)(?:'s|\s+is|\s+was)\s+(?:an?\s+|so\s+)?"
            r"|really\s+|very\s+|so\s+|super\s+|truly\s+|wow\s+|oh\s+)*"
            rf"(?:{_EN_GOOD})(?:\s+(?:{_EN_THING}))?{_NAME}"
            rf"|(?:{_EN_GOOD}|well)\s+(?:done|job|work)|(?:(?:i\s+)?(?:love|loved|loving"
            r"|enjoyed)|i\s+(?:really\s+)?(?:like|liked))\s+(?:it|this|that|(?:the|this)\s+"
            r"(?:lesson|course|video))"
            r"(?:\s+(?:so\s+much|a\s+lot))?|kudos|bravo|wow|woah|whoa|10/10"
        ),
        "es": _r(
            r"(?:(?:que|muy|super|tan|una|un|gran|buena|buen)\s+)*(?:genial|excelente"
            r"|buenisim[oa]|buen[oa]|bonit[oa]|increible|util|utilisim[oa]|clar[oa]"
            r"|interesante|crack|top|brutal|maravillos[oa]|estupend[oa]|fantastic[oa]"
            r"|perfect[oa]|chevere|bacan)(?:\s+(?:leccion|clase|curso|explicacion|video|trabajo"
            rf"|aporte|contenido|ejemplo|pregunta))?{_NAME}"
            r"|(?:gran|buen|excelente)\s+(?:trabajo|leccion|clase|curso|explicacion|aporte)"
            r"|me\s+(?:encanta|encanto|gusta|gusto)(?:\s+(?:mucho|muchisimo|esta\s+leccion"
            r"|la\s+leccion|el\s+curso))?|bravo|wow|guau"
        ),
        "fr": _r(
            r"(?:(?:super|tres|trop|vraiment|quel|quelle|un|une|c'est|ce\s+cours\s+est"
            r"|cette\s+lecon\s+est)\s+)*(?:super|genial|geniale|excellent|excellente|top|parfait"
            r"|magnifique|incroyable|utile|clair|chouette|bien|cool|formidable|extra|nickel"
            r"|impeccable|interessant|interessante|sympa)(?:\s+(?:cours|lecon|explication|video"
            rf"|travail|boulot|contenu|exemple|question))?{_NAME}"
            r"|bien\s+joue|j'adore|j'ai\s+adore|chapeau|bravo"
        ),
        "nl": _r(
            r"(?:(?:wat\s+een|echt\s+een|echt|heel|erg|super|zeer|een)\s+)*(?:top|super|geweldig"
            r"|mooi|leuk|goed|sterk|handig|nuttig|duidelijk|helder|prachtig|toppie|vet|gaaf"
            r"|fantastisch|briljant|interessant|knap)e?(?:\s+(?:les|uitleg|cursus|video|werk"
            rf"|voorbeeld|vraag))?{_NAME}|goed\s+gedaan|complimenten|chapeau"
        ),
        "ar": _r(
            r"(?:[وف]?(?:درس|شرح|محتوى|عمل|مجهود|فيديو)\s+)?(?:رائع|ممتاز|جميل|جميل[هة]|مفيد"
            r"|مفيد[هة]|واضح|عظيم|خرافي|مذهل|رهيب|حلو|ابداع|مبدع|احسنت|ما\s+شاء\s+الله"
            rf"|تبارك\s+الله|واو)(?:\s+(?:جدا|كثير|بجد|الدرس|الشرح))*{_NAME}|[وف]?احسنت"
        ),
        "hi": _r(
            r"(?:(?:बहुत|बेहद|काफी|एकदम|सच\s+में|क्या)\s+)*(?:बढिया|शानदार|अच्छा|अच्छी|अच्छे"
            r"|बेहतरीन|कमाल|उपयोगी|मस्त|जबरदस्त|लाजवाब|सुंदर|उम्दा|सुपर)(?:\s+(?:पाठ|लेसन"
            rf"|व्याख्या|समझाया|काम|वीडियो|कोर्स|है|था|लगा|रहा))*{_NAME}|वाह(?:\s+वाह)?"
            r"|क्या\s+बात\s+है"
        ),
        "te": _r(
            r"(?:(?:చాలా|చాల|ఎంతో|నిజంగా)\s+)*(?:మంచి\s+(?:పాఠం|వివరణ|పని|వీడియో)|బాగుంది"
            r"|బాగున్నది|బాగా\s+(?:వివరించారు|చెప్పారు)|అద్భుతం|అద్భుతంగా\s+ఉంది|సూపర్"
            rf"|ఉపయోగకరం|ఉపయోగకరంగా\s+ఉంది|ఉపయోగపడింది|అదిరింది|భలే){_NAME}"
        ),
        "zh": _r(
            r"(?:这节课|这门课|这课|讲解|讲得|写得|解释得|这个|真|太|很|非常|超级|好|特别)*"
            r"(?:棒|好|赞|不错|厉害|有用|清楚|精彩|牛|优秀|完美|实用|清晰|易懂)"
            r"(?:了|啊|呀|的|哦)*(?:课|课程|讲解|解释)?|受益匪浅|学到了|学到很多|好课|点赞|666+"
        ),
    },
    Reply.NO_IDEA: {
        "en": _r(
            r"no\s+idea|not\s+sure|idk|dunno|no\s+clue|sorry|i\s+(?:don'?t|do\s+not)\s+know"
            r"(?:\s+(?:either|sorry))?|(?:i\s+)?can'?t\s+help(?:\s+here)?"
            r"|i\s+have\s+no\s+idea(?:\s+either)?"
        ),
        "es": _r(r"ni\s+idea|no\s+(?:lo\s+)?se|no\s+estoy\s+segur[oa]|lo\s+siento|perdon"),
        "fr": _r(
            r"aucune\s+idee|(?:je\s+)?(?:ne\s+)?sais\s+pas|j'en\s+sais\s+rien|pas\s+sure?"
            r"|desolee?"
        ),
        "nl": _r(r"geen\s+(?:flauw\s+)?idee|(?:ik\s+)?weet\s+(?:ik\s+)?(?:het\s+)?niet|sorry"),
        "ar": _r(r"لا\s+(?:اعرف|ادري|اعلم)|ما\s+(?:بعرف|اعرف|ادري)|مش\s+عارف|اسف|عذرا"),
        "hi": _r(r"(?:मुझे\s+)?(?:नहीं\s+पता|पता\s+नहीं)(?:\s+है)?|माफ(?:\s+कीजिए|\s+करें)?|सॉरी"),
        "te": _r(r"(?:నాకు\s+)?తెలియదు|క్షమించండి|సారీ|ఐడియా\s+లేదు"),
        "zh": _r(r"不知道|我也不知道|不清楚|不太清楚|抱歉|不好意思|没头绪"),
    },
    Reply.LAUGHTER: {
        "en": _r(
            r"(?:lol|lmao|lmfao|rofl|(?:ha){2,}h?|(?:he){2,}|xd+|hah)(?:\s+(?:lol|(?:ha){2,}))*"
        ),
        "es": _r(r"(?:ja){2,}j?|(?:je){2,}|jsjs+"),
        "fr": _r(r"mdr+|ptdr+|(?:hi){2,}"),
        "nl": _r(r"hihi+|(?:ha){2,}"),
        "ar": _r(r"ه{3,}|لول"),
        "hi": _r(r"(?:हा){2,}|(?:ही){2,}"),
        "te": _r(r"(?:హ){2,}|(?:హా){2,}"),
        "zh": _r(r"哈{2,}|呵{2,}|嘿{2,}|hhh+|233+|笑死"),
    },
    Reply.FOLLOW_UP: {
        "en": _r(
            r"bump|up|ping|anyone|anybody|hello|any\s+(?:update|updates|news|luck|progress)"
            r"|still\s+(?:waiting|stuck|broken)"
        ),
        "es": _r(
            r"(?:alguna\s+)?novedad(?:es)?|hay\s+novedades|(?:sigo|seguimos)\s+esperando|alguien"
        ),
        "fr": _r(r"des\s+nouvelles|du\s+nouveau|toujours\s+rien|quelqu'un|personne"),
        "nl": _r(
            r"(?:al\s+)?nieuws|(?:nog\s+)?(?:een\s+)?update|iemand|nog\s+steeds\s+(?:niets|vast)"
        ),
        "ar": _r(r"(?:اي|هل\s+من|في)\s+جديد|ما\s+زلت\s+انتظر|حد\s+يرد"),
        "hi": _r(r"कोई\s+(?:अपडेट|जवाब|खबर)|कोई\s+है"),
        "te": _r(r"ఏదైనా\s+(?:అప్డేట్|అప్‌డేట్|సమాచారం)|ఎవరైనా"),
        "zh": _r(r"有(?:更新|进展|消息)吗?|有人吗|顶|求解答|还是不行"),
    },
}


def reply_verdict(text: str, locale: str | None = None) -> ReplyVerdict:
    """Return whether a later message answers (says something usable), and why not if not."""
    own = _QUOTE_LINE.sub(" ", _BLOCK_QUOTE.sub(" ", text))
    # Code is an answer whatever is around it: nobody thanks in a code block.
    if _FENCE.search(own) or _INLINE_CODE.search(own):
        return ReplyVerdict(True, Reply.ANSWER, locale, "code")
    linked = _URL.search(own) is not None
    words = prose(text)
    if not any(ch.isalnum() for ch in words):
        if linked:
            return ReplyVerdict(False, Reply.LINK_ONLY)
        symbols = any(not ch.isspace() and unicodedata.category(ch)[0] == "S" for ch in own)
        # Discord's custom emoji (<:name:id>) are tokens prose() drops: emoji all the same.
        custom = re.search(r"<a?:\w+:\d+>", own) is not None
        if symbols or custom:
            return ReplyVerdict(False, Reply.EMOJI_ONLY)
        return ReplyVerdict(False, Reply.EMPTY if not words.strip() else Reply.TOO_SHORT)
    chatter: ReplyVerdict | None = None
    content: list[str] = []
    for sentence in _REPLY_SENTENCE.split(words):
        if not sentence.strip():
            continue
        said = _chatter(sentence, locale)
        if said is None:
            asked = classify(sentence, locale)
            if asked.is_question:
                said = ReplyVerdict(False, Reply.QUESTION, asked.locale, asked.cue)
        if said is None:
            content.append(sentence.strip())
        elif chatter is None:
            chatter = said
    if content:
        return _substance(content, linked, locale)
    return chatter or ReplyVerdict(False, Reply.EMPTY)


def is_substantive(text: str, locale: str | None = None) -> bool:
    """Return whether a later message answers a question."""
    return reply_verdict(text, locale).substantive


def _chatter(sentence: str, locale: str | None) -> ReplyVerdict | None:
    """Return the chatter a whole sentence is, clause by clause, or None if it says more."""
    first: ReplyVerdict | None = None
    for clause in _REPLY_CLAUSE.split(sentence):
        folded = _fold(clause)
        if not folded:
            continue  # an emoji between phrases
        found = _phrase(folded, locale)
        if found is None:
            return None
        first = first or found
    return first or ReplyVerdict(False, Reply.EMOJI_ONLY)


def _phrase(folded: str, hint: str | None) -> ReplyVerdict | None:
    # "+1" is in no script: every locale's phrases may say it.
    codes = _candidates(folded, hint) or [hint or "en"]
    for reason, patterns in _REPLIES.items():
        for code in codes:
            pattern = patterns.get(code)
            if pattern is not None and pattern.match(folded):
                return ReplyVerdict(False, reason, code, folded)
    return None


def _fold(clause: str) -> str:
    """Return a clause as the phrases are written: lower case, no Latin accents, no
    emoji or punctuation but "+" and apostrophes, single spaces."""
    # Alef with hamza becomes bare alef before decomposing, which would split it apart.
    text = unicodedata.normalize("NFC", clause.casefold()).translate(_ARABIC_ALEF)
    text = _LATIN_MARKS.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFKD", text)))
    kept = []
    for ch in unicodedata.normalize("NFC", text):
        kind = unicodedata.category(ch)
        if ch in "+'/" or kind[0] in "LNM" or ch.isspace():
            kept.append(ch)
        else:
            kept.append(" ")
    folded = _SPACES.sub(" ", "".join(kept)).strip()
    # Chinese runs words together; its phrases are written without spaces.
    return folded.replace(" ", "") if _HAN.search(folded) and not _LATIN.search(folded) else folded


def _substance(content: list[str], linked: bool, locale: str | None) -> ReplyVerdict:
    """Return the verdict on what is left once chatter and questions are set aside."""
    tokens = [token for sentence in content for token in _fold(sentence).split()]
    han = sum(len(_HAN.findall(token)) for token in tokens)
    size = len(tokens) - sum(1 for token in tokens if _HAN.search(token)) + han
    cue = content[0][:80]
    if linked and all(token in _POINTERS for token in tokens):
        return ReplyVerdict(False, Reply.LINK_ONLY, locale, cue)
    # "Use |." is short but names an operator: symbols beyond punctuation are code.
    coded = any(ch in _CODE_SIGNS for sentence in content for ch in sentence)
    if size <= 1 and not coded and sum(ch.isalnum() for ch in "".join(tokens)) <= 3:
        return ReplyVerdict(False, Reply.TOO_SHORT, locale, cue)
    return ReplyVerdict(True, Reply.ANSWER, locale or _only_script(_candidates(cue, None)), cue)
