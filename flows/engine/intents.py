"""What a caller wants besides answering: a person, an emergency, a correction, a skip.

Deterministic phrase rules used by the offline engine, and by the live agent as a guard
that does not depend on a model (emergencies). Each returns a decision, never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flows.engine.emergency import emergency_meaning
from flows.engine.parsers.normalize import clean


def normalize(text: str) -> str:
    """The parsers' own cleaning (U+2019, U+02BC and the backtick all become '), then words
    only, padded with spaces so that every phrase can be matched as `` word ``."""
    text = clean(text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


_STAFF = (
    r"(?:person|human|human being|representative|rep|agent|operator|receptionist|reception|"
    r"someone|somebody|anyone|anybody|staff|staff member|nurse|doctor|manager|supervisor|"
    r"people|front desk|team member|member of (?:your|the) (?:team|staff)|live agent|"
    r"customer service|your office|the office|the clinic|a specialist|specialist)"
)
_PERSON = re.compile(
    r" (?:speak|talk|chat|connect|transfer|put|get|pass) (?:me )?"
    r"(?:to |with |through to |over to )?"
    r"(?:a |an |the |some |your |one of your |one of the )?(?:real |live |actual |human |"
    rf"front desk |office )?{_STAFF}(?: (?:from|at|in|on|who|that|please|now|instead))? "
    r"| (?:a |an )?(?:real |live |actual )(?:person|human|agent|people) "
    r"| transfer me | human being "
    r"| (?:is there|isn't there|can i get|could i get|give me) (?:a |an )?(?:anyone|someone|"
    r"somebody|a person|person|human|a human)(?: i| we)? (?:can|could)? ?(?:speak|talk) "
    r"| (?:want|need|like|prefer|rather have) (?:to (?:speak|talk) (?:to|with) )?(?:a |an )?"
    r"(?:real |live |actual )?(?:human|person|representative|operator|receptionist) "
    r"|^ (?:operator|representative|human|agent|a person|person|a human|someone)(?: please)? $"
)


def wants_person(text: str) -> bool:
    """A request to speak with a person, alone or inside a longer sentence."""
    return bool(_PERSON.search(normalize(text)))


def emergency_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """What makes the words an emergency (one of the flow's phrases or a built-in meaning
    such as "breathing"), unless negated or in the past; see ``flows.engine.emergency``."""
    return emergency_meaning(text, phrases)


_SKIP = re.compile(
    r" (?:skip(?: it| that| this)?|pass|next question|i don't know|i do not know|dunno|"
    r"no idea|not sure|i'm not sure|i am not sure|i'd rather not(?: say)?|"
    r"i would rather not(?: say)?|prefer not to(?: say)?|rather not|none of your business|"
    r"i (?:don't|do not) have (?:one|it|that|an? \w+|any(?: \w+)?|\w+)|no comment|nothing else|"
    r"no that's all|no that's it|that's all|that's it|nothing|not really|no thanks) "
)


_NOTHING = re.compile(r"^ (?:no|nope|nah|none|nothing)(?: thanks| thank you)? $")


def wants_skip(text: str) -> bool:
    """A short refusal or "I don't know"; a long answer that merely contains one is an answer.

    A bare "no" counts: "anything else to tell us?" - "no" is not a comment."""
    said = normalize(text)
    return (len(said.split()) <= 7 and bool(_SKIP.search(said))) or bool(_NOTHING.match(said))


_CORRECTION = re.compile(
    r" (?:wrong|mistake|incorrect|made an error|change|changed|correct|correction|fix|update|"
    r"go back|meant|misspoke|mixed up|not right|typo|misspelled|misspelt|mistyped|"
    r"spelled (?:it )?wrong) "
)
# Without a correction word, a short sentence that names an earlier answer and prefers
# another one ("use my personal email instead", "my cell is better actually").
_PREFERENCE = re.compile(
    r" (?:instead|actually|rather|better|prefer|preferred|use|switch|different|another|"
    r"other|new|on second thought|scratch that|not that one) "
)
_PREFERENCE_MAX_WORDS = 12
# Words that name a field by its type, besides its label and aliases.
TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone", "phone number", "number", "cell", "cell phone", "cell number", "mobile",
        "mobile number", "home number", "home phone", "work number", "work phone", "landline",
    ),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail"),
    "address": ("address", "street", "street address", "zip", "zip code", "postal code"),
}  # fmt: skip


def correction_target(text: str, candidates: Mapping[str, Iterable[str]]) -> str | None:
    """The field a caller wants to correct ("I gave you the wrong email"), by its words.

    ``candidates`` maps field paths to the words that name them; the longest name said
    wins, so "email address" beats "address". Returns None unless the words also say
    that something earlier was wrong or should change, or (in a short sentence) that
    another one is preferred ("use my personal email instead").
    """
    said = normalize(text)
    implicit = len(said.split()) <= _PREFERENCE_MAX_WORDS and _PREFERENCE.search(said)
    if not (_CORRECTION.search(said) or implicit):
        return None
    best: tuple[int, str] | None = None
    for path, names in candidates.items():
        for name in names:
            needle = normalize(name)
            if needle.strip() and needle in said and (best is None or len(needle) > best[0]):
                best = (len(needle), path)
    return best[1] if best else None


# "Don't call me again" and its kin, anywhere in what was said. Each branch needs words that
# only a request to stop calling has: a negated call *and* "again"/"anymore" (so "you can
# call me again" and "don't call me 'sir'" are not requests), "stop calling" as two words
# ("they stopped calling me back" is not), a list to be taken off, a number to remove.
_TARGET = r"(?: me| us| this number| this line| this phone| here| my number| my phone| my cell)?"
_NO_MORE_CALLS = re.compile(
    r" (?:don't|dont|do not|never|please don't)(?: ever)?(?: want (?:you|anyone|anybody) to)?"
    rf" (?:call|ring|phone|contact|bother){_TARGET}(?: back)? (?:again|anymore|any more|ever) "
    r"| (?:don't|dont|do not) (?:ever )?call (?:me|us|this number)(?: please)? $"
    rf"| (?:stop|quit|cease) (?:calling|ringing|phoning|contacting|bothering){_TARGET} "
    r"| (?:take|get|remove|delete|drop|strike) (?:me|us|my number|my phone number|this number|"
    r"my name|my details) (?:off|from) (?:of )?(?:your|the|this|all your|all of your|any)"
    r"(?: calling| call| contact| phone| call back| marketing| mailing)? (?:list|lists|database) "
    r"| (?:remove|delete|lose|forget) (?:my number|my phone number|this number)(?: please)? $"
    r"| do not call (?:list|registry|register) "
    r"| (?:don't|dont|do not) want (?:any more|anymore|any|more|these|your|further) "
    r"(?:phone )?calls "
    r"| (?:don't|dont|do not) want to be (?:called|contacted) (?:again|anymore|any more) "
    r"| no more (?:phone )?calls "
    r"| no more (?:of )?(?:these|your|the) (?:phone )?calls "
    r"| (?:stop|quit|enough) (?:with )?(?:these|the|your|all (?:these|the|your|of these)|"
    r"all) (?:phone )?calls "
    r"| (?:told|asked) you (?:people )?(?:not to|to stop) (?:call|ring|phone|contact)"
    r"| (?:stop|quit) (?:harassing|pestering|spamming) (?:me|us) "
    r"| leave (?:me|us) alone "
    r"| (?:don't|dont|do not) want to hear from (?:you|your company|you people) "
    r"(?:again|anymore|any more|ever) "
    r"| (?:take|remove|delete|drop) (?:me|us|my number|this number|my phone number) "
    r"(?:off|from|out of) (?:your|the) (?:system|records|files|contacts|register) "
    r"| unsubscribe(?: me)? "
    r"| opt (?:me )?out of (?:these |your |all |any )?(?:phone )?calls "
)


def wants_no_more_calls(text: str) -> bool:
    """The callee asks not to be called again ("take me off your list", "stop calling me")."""
    return bool(_NO_MORE_CALLS.search(normalize(text)))


# The welcome question ("is now a good time?"): a decline often comes as an explanation.
_AVAILABLE = re.compile(
    r" (?:go ahead|fire away|go on|i have (?:a )?(?:few )?(?:minutes?|time|a sec|a second)|"
    r"i've got (?:a )?(?:few )?(?:minutes?|time|sec|second)|i can (?:talk|do it|do that)|"
    r"now is (?:fine|good|ok|okay)|now works|(?:i'm|i am|im) not (?:too |that |very )?busy|"
    r"make it quick|"
    r"let's do it|let's go|(?:i'm|i am) free) "
)
_NOT_NOW = re.compile(
    r" (?:not (?:a |the )?(?:good|great|convenient|best|right|ideal) (?:time|moment)|"
    r"(?:isn't|is not|not) (?:a |the )?(?:good|great|convenient|best|right) (?:time|moment)|"
    r"bad (?:time|moment)|busy|at work|driving|in (?:a |the )?meeting|in the middle of|"
    r"(?:can't|cannot|can not|couldn't) (?:talk|do this|do it|right now)|not right now|"
    r"no time|(?:don't|do not|dont) have (?:the |any )?time|haven't got (?:the )?time|"
    r"call (?:me |us )?back|try (?:me |us )?(?:again )?(?:tomorrow|later|another|some other|"
    r"next|in)|another time|some other time|later|tomorrow|not interested|not today|"
    r"on my way|about to (?:leave|go)|with a (?:patient|client|customer)|having (?:dinner|lunch)|"
    r"not now|no thanks|no thank you|not for me|pass) "
)


def declines_now(text: str) -> bool | None:
    """The reply to the welcome question read for its meaning: True when the caller says
    it is not a good time (in a word or in an explanation, "I'm at work, try tomorrow"),
    False when they say they have time, None when the words say neither."""
    said = normalize(text)
    if _AVAILABLE.search(said):
        return False
    if _NOT_NOW.search(said):
        return True
    return None
