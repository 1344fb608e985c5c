"""Yes/no answers.

The phrase the caller leads with decides ("no, it's march sixth" is a no). The answer is
rejected as ambiguous when it hedges ("maybe", "I'm not sure") or also contains a bare word of
the other polarity ("yes and no"). Keypad digits are not handled here.

Weak phrases ("okay", "right", "I do", "it is") only count when nothing but politeness or other
agreement follows: "okay, so my number is..." is not a yes.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.engine.parsers.normalize import ACKNOWLEDGEMENTS, FILLERS, Phrases, skip_noise, tokenize
from flows.errors import AnswerError

_STRONG_YES = Phrases.of(
    """
    yes, yeah, yea, yep, yup, ya, sure, correct, that's right, thats right,
    that is right, that's correct, that is correct, absolutely, of course, definitely,
    certainly, exactly, indeed, affirmative, sounds good, go ahead, please do, uh-huh,
    uh huh, mhm, mm-hmm, mm hmm, mhmm, yes please, you got it, you bet, yes sir,
    yes ma'am, no problem, not a problem, fine, that's fine, that is fine, go for it,
    i guess so, why not, i have a few minutes, i have a minute, i have time, i've got time,
    i've got a minute, now is fine, now is good, now works
    """
)
_WEAK_YES = Phrases.of(
    """
    ok, okay, alright, all right, right, i do, i am, i'm, it is, it's, it was, i did,
    i have, i will, we do, we are, i think so, true
    """
)
_NO = Phrases.of(
    """
    no, nope, nah, no thanks, no thank you, not really, not now, not at all, no way,
    never, negative, incorrect, wrong, that's wrong, thats wrong, that is wrong,
    that's not right, that is not right, that's not correct, that is not correct,
    absolutely not, definitely not, of course not, certainly not, uh-uh, uh uh, nuh-uh,
    i don't, i dont, i do not, i didn't, i did not, i'm not, im not, i am not, it isn't,
    it is not, it's not, its not, it wasn't, it was not, i haven't, i have not, i won't,
    we don't, i don't think so, not that i know of, false, not a good time, bad time,
    now is not a good time, now isn't a good time, not right now, i'm busy, im busy,
    i am busy, call back later, call me back later, can you call back later,
    can you call me back later, call me later, another time, not interested,
    i'm not interested, i am not interested, not me, not really no
    """
)
# Hedges anywhere make the answer ambiguous, whatever it led with.
_HEDGES = Phrases.of(
    """
    maybe, perhaps, possibly, probably, not sure, unsure, don't know, dont know,
    do not know, dunno, no idea, not certain, depends, sometimes, kind of, sort of,
    kinda, sorta, don't remember, do not remember, can't remember, don't recall,
    can't recall, yes and no
    """
)
# A bare word of the other polarity later on contradicts the lead ("yes, no wait").
_BARE_YES = frozenset({"yes", "yeah", "yep", "yup", "correct"})
_BARE_NO = frozenset({"no", "nope", "nah", "incorrect"})
# What may follow a weak phrase: politeness and agreement ("okay, thanks", "I do, yes").
_POLITE = frozenset({"please", "thanks", "thank", "you", "sir", "ma'am", "so", "too"})
_LEADING_NOISE = FILLERS | {"oh", "well", "so", "and", "sorry"}
_TABLES = (_STRONG_YES, _WEAK_YES, _NO)
_EXPECTED = "expected yes or no"


def parse_yes_no(text: str) -> bool:
    """Read a yes or a no: "yeah I think so" -> True, "nope" -> False."""
    tokens = tokenize(text)
    start = _lead_start(tokens)
    yes, weak, no = (table.match(tokens, start) for table in _TABLES)
    if not (yes or weak or no) or _HEDGES.contains(tokens):
        raise AnswerError(_EXPECTED)
    if no > max(yes, weak):
        if _BARE_YES.intersection(tokens[start + no :]):
            raise AnswerError(_EXPECTED)
        return False
    rest = tokens[start + max(yes, weak) :]
    if _BARE_NO.intersection(rest) or (weak > yes and not _only_agreement(rest)):
        raise AnswerError(_EXPECTED)
    return True


def _lead_start(tokens: Sequence[str]) -> int:
    """Index of the leading phrase, past fillers ("um, yes") but not into "uh huh"."""
    index = 0
    while index < len(tokens) and not any(table.match(tokens, index) for table in _TABLES):
        if skip_noise(tokens, index, skip=_LEADING_NOISE) == index:
            break
        index += 1
    return index


def _only_agreement(tokens: Sequence[str]) -> bool:
    """Whether ``tokens`` hold nothing but politeness, acknowledgements or more yeses."""
    noise = FILLERS | ACKNOWLEDGEMENTS | _POLITE
    index = skip_noise(tokens, 0, skip=noise)
    while index < len(tokens):
        matched = max(_STRONG_YES.match(tokens, index), _WEAK_YES.match(tokens, index))
        if not matched:
            return False
        index = skip_noise(tokens, index + matched, skip=noise)
    return True
