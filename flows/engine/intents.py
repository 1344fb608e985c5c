"""What a caller wants besides answering: a person, an emergency, a correction, a skip.

Deterministic phrase rules used by the offline engine, and by the live agent as a guard
that does not depend on a model (emergencies). Each returns a decision, never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flows.engine.parsers.normalize import clean


def normalize(text: str) -> str:
    """The parsers' own cleaning (U+2019, U+02BC and the backtick all become '), then words
    only, padded with spaces so that every phrase can be matched as `` word ``."""
    text = clean(text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


_PERSON = re.compile(
    r" (?:speak|talk|chat|connect|transfer|put|get) (?:me )?(?:to |with |through to )?"
    r"(?:a |an |the |some |somebody |someone )?(?:real |live |actual |front desk |office )?"
    r"(?:person|human|representative|rep|agent|operator|receptionist|reception|someone|"
    r"somebody|staff|nurse|doctor|manager|people|front desk) "
    r"| (?:a |an )?(?:real |live |actual )(?:person|human|agent) "
    r"| transfer me "
    r"|^ (?:operator|representative|human|agent|a person|person)(?: please)? $"
)


def wants_person(text: str) -> bool:
    return bool(_PERSON.search(normalize(text)))


_NEGATIONS = ("no ", "not ", "without ", "never ", "don't have ", "do not have ", "denies ")


def emergency_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first emergency phrase said, unless it was plainly negated ("no chest pain")."""
    said = normalize(text)
    for phrase in phrases:
        needle = normalize(phrase)
        start = said.find(needle)
        while start != -1:
            before = said[max(0, start - 16) : start + 1]
            if not any(before.endswith(" " + neg) or before.endswith(neg) for neg in _NEGATIONS):
                return phrase
            start = said.find(needle, start + 1)
    return None


_SKIP = re.compile(
    r" (?:skip(?: it| that| this)?|pass|next question|i don't know|i do not know|dunno|"
    r"no idea|not sure|i'm not sure|i am not sure|i'd rather not(?: say)?|"
    r"i would rather not(?: say)?|prefer not to(?: say)?|rather not|none of your business|"
    r"i don't have (?:one|it|that)|i do not have (?:one|it|that)|no comment|nothing else|"
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
    r"go back|meant|misspoke|mixed up|not right|typo) "
)


def correction_target(text: str, candidates: Mapping[str, Iterable[str]]) -> str | None:
    """The field a caller wants to correct ("I gave you the wrong email"), by its words.

    ``candidates`` maps field paths to the words that name them; the longest name said
    wins, so "email address" beats "address". Returns None unless the words also say
    that something earlier was wrong or should change.
    """
    said = normalize(text)
    if not _CORRECTION.search(said):
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
    r"| unsubscribe(?: me)? "
    r"| opt (?:me )?out of (?:these |your |all |any )?(?:phone )?calls "
)


def wants_no_more_calls(text: str) -> bool:
    """The callee asks not to be called again ("take me off your list", "stop calling me")."""
    return bool(_NO_MORE_CALLS.search(normalize(text)))
