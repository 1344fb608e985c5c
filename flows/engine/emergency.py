"""Emergencies by meaning: symptoms and situations, not one exact phrase.

Checked in code on every turn (the guard behind any model), so it must not cry wolf:
a clause that negates the finding ("no chest pain, just a rash") or places it in the past
("I had a heart attack two years ago") does not count; one that says it is happening now
("I had a seizure this morning") does. The flow's own ``emergency.phrases`` go through the
same clause rules, then the built-in meanings below.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from flows.engine.parsers.normalize import clean

# Situations, each a regex over cleaned words. Kept to what needs help now: breathing,
# the heart, consciousness, stroke signs, bleeding, poisoning, self-harm, seizures,
# airway swelling, violence.
_P = r"(?:my|his|her|their|the baby's|the|our)"
_HE = (
    r"(?:he|she|they|he's|she's|they're|my (?:husband|wife|son|daughter|mom|mother|dad|"
    r"father|baby|child|kid|friend|partner))"
)
_MEANINGS: dict[str, str] = {
    "breathing": (
        r"\b(?:can(?:'t|not| not)|could(?:n't| not)|unable to|barely|hardly|struggling to|"
        r"fighting to|trying to) (?:\w+ )?(?:breathe|breath|catch (?:my|his|her) breath)\b"
        r"|\b(?:trouble|difficulty|problems?|hard time) breathing\b|\bhard to breathe\b"
        r"|\b(?:not|isn't|is not|stopped|wasn't|aren't) breathing\b"
        r"|\bshort(?:ness)? of breath\b|\bgasping\b|\bchoking\b(?! (?:with|on) (?:laughter|tears))"
        r"|\bturning blue\b"
        r"|\blips (?:are|look|went) blue\b|\bcan't get (?:any )?air\b"
    ),
    "chest": (
        r"\bchest pains?\b|\b(?:pain|pressure|tightness|squeezing|heaviness) in "
        rf"{_P} chest\b|\bchest (?:is |feels )?(?:tight|pressure|heavy|hurts)\b"
        r"|\bcrushing (?:pain|pressure)\b|\bheart attack\b|\bcardiac arrest\b"
    ),
    "unconscious": (
        r"\bunconscious\b|\bunresponsive\b|\bpassed out\b|\bcollapsed\b|\bfainted\b"
        r"|\bblacked out\b|\b(?:won't|isn't|is not|not|can't get (?:him|her|them) to) wak"
        r"(?:e|ing)(?: up)?\b|\bcan't wake (?:him|her|them|my \w+)\b|\bnot responding\b"
        r"|\bwon't respond\b"
    ),
    "stroke": (
        r"\b(?:a|having|had|another) stroke\b|\bstroke symptoms\b"
        r"|\bface (?:is )?(?:drooping|droopy|numb)\b|\bslurr(?:ed|ing) (?:speech|words|his|her)"
        r"|\bcan't (?:move|feel) (?:my|his|her) (?:arm|leg|side|face)\b"
        r"|\bone side of (?:my|his|her) (?:body|face) (?:is|went|feels) (?:numb|weak|limp)\b"
    ),
    "bleeding": (
        r"\bbleeding (?:heavily|badly|a lot|so much|everywhere|out)\b|\bsevere bleeding\b"
        r"|\b(?:won't|will not|can't|cannot) stop (?:the )?bleeding\b|\bblood everywhere\b"
        r"|\bbleeding (?:won't|will not|doesn't|does not|isn't|hasn't) stop"
        r"|\blo(?:sing|st) a lot of blood\b|\b(?:coughing|throwing|vomiting) (?:up )?blood\b"
    ),
    "poisoning": (
        r"\boverdos(?:e|ed|ing)\b|\btoo many (?:of (?:my|his|her) )?(?:pills|tablets|meds)\b"
        r"|\bswallowed (?:a (?:whole )?bottle|bleach|poison|pills)\b|\bpoisoned\b"
        r"|\bdrank (?:bleach|antifreeze|poison)\b|\bwhole bottle of (?:pills|tablets)\b"
    ),
    "self_harm": (
        r"\bsuicid(?:al|e)\b|\bkill(?:ing)? myself\b|\bend (?:my life|it all)\b"
        r"|\b(?:hurt|harm|cut)(?:ing)? myself\b|\bdon't want to (?:live|be alive|wake up)\b"
        r"|\bwant to die\b|\bbetter off dead\b|\bno reason to live\b"
    ),
    "seizure": r"\bseizures?\b|\bconvuls(?:ing|ions)\b|\bhaving a fit\b",
    "airway": (
        r"\bthroat (?:is )?(?:closing|swelling|swollen|tight)\b|\btongue (?:is )?swell"
        r"|\banaphyla(?:xis|ctic)\b|\bcan't swallow\b"
    ),
    "danger": (
        r"\b(?:going|trying|threatening|about) to (?:hurt|kill|attack) (?:me|us|my)\b"
        r"|\bhas a (?:gun|knife|weapon)\b|\bbeing attacked\b|\bsomeone (?:broke|is breaking) in\b"
        rf"|\b{_HE} (?:hit|beat|stabbed|shot) me\b"
    ),
}
_MEANING_PATTERNS = {name: re.compile(pattern) for name, pattern in _MEANINGS.items()}

# A clause ends at punctuation and at words that start a new thought.
_CLAUSE_BREAK = re.compile(r"[.,;:!?]+|\s(?:but|just|only|though|although|however|except)\s")
# Before the finding in its clause: it is denied.
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|denies|deny|none|neither|nor|don't|doesn't|didn't|"
    r"isn't|wasn't|aren't|haven't|hasn't|no longer|free of|rule out|ruled out)\b"
    r"(?! (?:sure|certain|only|just|know|knowing)\b)"
)
# Anywhere in its clause: it is history, a check-up or someone else's story.
_HISTORY = re.compile(
    r"\b(?:ago|last (?:year|month|week|summer|winter|spring|fall)|years? back|in the past|"
    r"history of|used to|back in|previous|prior|as a (?:kid|child|teenager)|when i was|"
    r"follow(?:-| )?up|check(?:-| )?up|recover(?:ing|ed|y)|after (?:my|his|her) |"
    r"died (?:of|from)|in (?:19|20)\d\d|once|survived|was diagnosed|in high school|"
    r"worried about|afraid of|scared of|risk of|prevent|medication for|pills for|"
    r"(?:seizure|heart|stroke|blood pressure|breathing) (?:medication|medicine|meds)|"
    r"prescription|refill)\b"
)
# ...unless the clause also says it is happening now.
_NOW = re.compile(
    r"\b(?:right now|now|currently|at the moment|today|tonight|this (?:morning|afternoon|"
    r"evening)|just now|again|still|happening|is having|i'm having|i am having)\b"
)


def emergency_meaning(text: str, phrases: Iterable[str] = ()) -> str | None:
    """What makes ``text`` an emergency: one of ``phrases`` or a built-in meaning's name;
    None when nothing does (or only in a negated or past clause)."""
    said = clean(text)
    said = re.sub(r"[^a-z0-9'.,;:!? -]+", " ", said)
    needles = [(phrase, _phrase_pattern(phrase)) for phrase in phrases if phrase.strip()]
    for clause in _CLAUSE_BREAK.split(said):
        clause = " " + " ".join(clause.split()) + " "
        if _HISTORY.search(clause) and not _NOW.search(clause):
            continue  # history only ("I had a heart attack two years ago"): nothing counts
        for phrase, pattern in needles:
            if _counts(clause, pattern):
                return phrase
        for name, meaning in _MEANING_PATTERNS.items():
            if _counts(clause, meaning):
                return name
    return None


@functools.lru_cache(maxsize=256)  # a flow's few phrases, checked on every turn of every call
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = re.sub(r"[^a-z0-9' ]+", " ", clean(phrase)).split()
    return re.compile(r"\b" + r"\s+".join(map(re.escape, words)) + r"\b")


def _counts(clause: str, pattern: re.Pattern[str]) -> bool:
    for match in pattern.finditer(clause):
        before = clause[: match.start()]
        if _NEGATION.search(before[-40:]):
            continue
        return True
    return False
