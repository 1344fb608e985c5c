"""Countries a caller names ("a German number", "in the UK") -> phonenumbers region codes.

CONTRACT 2: a phone number said without a country code is read in the default region
unless the caller names the country. phonenumbers knows every region's numbering plan but
not what people call the countries, hence this table: names, short forms and adjectives
of the countries callers most often name. Names that are also common words or US states
("Georgia", "Jersey", "Chad", "Jordan", "Turkey") are left out on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

import phonenumbers

from flows.engine.parsers.normalize import Phrases

# region: (names said anywhere, adjectives that count only before a phone word)
_COUNTRIES: dict[str, tuple[str, str]] = {
    "US": ("u s, usa, u s a, united states, america, the states, stateside", "american, u s, us"),
    "CA": ("canada", "canadian"),
    "MX": ("mexico", "mexican"),
    "GB": (
        "uk, u k, united kingdom, britain, great britain, england, scotland, wales",
        "british, english, scottish, welsh, uk, u k",
    ),
    "IE": ("ireland, republic of ireland", "irish"),
    "DE": ("germany", "german"),
    "FR": ("france", "french"),
    "ES": ("spain", "spanish"),
    "PT": ("portugal", "portuguese"),
    "IT": ("italy", "italian"),
    "NL": ("netherlands, the netherlands, holland", "dutch"),
    "BE": ("belgium", "belgian"),
    "CH": ("switzerland", "swiss"),
    "AT": ("austria", "austrian"),
    "DK": ("denmark", "danish"),
    "SE": ("sweden", "swedish"),
    "NO": ("norway", "norwegian"),
    "FI": ("finland", "finnish"),
    "IS": ("iceland", "icelandic"),
    "PL": ("poland", "polish"),
    "CZ": ("czech republic, czechia", "czech"),
    "SK": ("slovakia", "slovak"),
    "HU": ("hungary", "hungarian"),
    "RO": ("romania", "romanian"),
    "BG": ("bulgaria", "bulgarian"),
    "GR": ("greece", "greek"),
    "HR": ("croatia", "croatian"),
    "RS": ("serbia", "serbian"),
    "UA": ("ukraine", "ukrainian"),
    "RU": ("russia", "russian"),
    "IL": ("israel", "israeli"),
    "AE": ("united arab emirates, uae, u a e, emirates, dubai", "emirati"),
    "SA": ("saudi arabia", "saudi"),
    "EG": ("egypt", "egyptian"),
    "ZA": ("south africa", "south african"),
    "NG": ("nigeria", "nigerian"),
    "KE": ("kenya", "kenyan"),
    "GH": ("ghana", "ghanaian"),
    "MA": ("morocco", "moroccan"),
    "IN": ("india", "indian"),
    "PK": ("pakistan", "pakistani"),
    "BD": ("bangladesh", "bangladeshi"),
    "LK": ("sri lanka", "sri lankan"),
    "CN": ("china", "chinese"),
    "HK": ("hong kong", "hong kong"),
    "TW": ("taiwan", "taiwanese"),
    "JP": ("japan", "japanese"),
    "KR": ("south korea, korea", "korean, south korean"),
    "PH": ("philippines, the philippines", "filipino, philippine"),
    "VN": ("vietnam, viet nam", "vietnamese"),
    "TH": ("thailand", "thai"),
    "MY": ("malaysia", "malaysian"),
    "SG": ("singapore", "singaporean"),
    "ID": ("indonesia", "indonesian"),
    "AU": ("australia", "australian, aussie"),
    "NZ": ("new zealand", "new zealand, kiwi"),
    "BR": ("brazil", "brazilian"),
    "AR": ("argentina", "argentinian, argentine"),
    "CL": ("chile", "chilean"),
    "CO": ("colombia", "colombian"),
    "PE": ("peru", "peruvian"),
    "VE": ("venezuela", "venezuelan"),
    "CU": ("cuba", "cuban"),
    "DO": ("dominican republic", "dominican"),
    "PR": ("puerto rico", "puerto rican"),
    "JM": ("jamaica", "jamaican"),
    "GT": ("guatemala", "guatemalan"),
    "SV": ("el salvador", "salvadoran"),
}
_NAMES = {region: Phrases.of(names) for region, (names, _) in _COUNTRIES.items()}
_ADJECTIVES = {region: Phrases.of(adjectives) for region, (_, adjectives) in _COUNTRIES.items()}
# An adjective names a country only next to one of these ("a German number"); alone it may
# be a language ("I speak Spanish") or a name.
_PHONE_WORDS = frozenset({"number", "phone", "mobile", "cell", "line", "landline", "one"})
assert set(_COUNTRIES) <= phonenumbers.SUPPORTED_REGIONS  # every code has a numbering plan


def named_region(tokens: Sequence[str]) -> str | None:
    """The region of the one country named in lower-case ``tokens``: by its name anywhere
    ("in Germany"), or by its adjective before a phone word ("a UK mobile"). None when no
    country, or more than one, is named."""
    words = [token for token in tokens if token[0].isalnum()]
    found: set[str] = set()
    for start in range(len(words)):
        for region in _COUNTRIES:
            if _NAMES[region].match(words, start):
                found.add(region)
            length = _ADJECTIVES[region].match(words, start)
            if length and set(words[start + length : start + length + 2]) & _PHONE_WORDS:
                found.add(region)
    return found.pop() if len(found) == 1 else None


def country_name(region: str) -> str | None:
    """How a read-back names ``region``'s country ("GB" -> "uk", "DE" -> "germany")."""
    names = _COUNTRIES.get(region)
    return names[0].split(",")[0].strip() if names else None
