"""Surface rules for text hard negatives: a/an, noun plurals, casing (DESIGN §4 invariants).

Pure string functions with no spaCy dependency, shared by the generator
(`ahnpl.pipeline.negatives`) and by the invariant checks of its tests and benchmark.
"""

from __future__ import annotations

import re

# Words whose first letter is a vowel but whose sound is not ("a university"), and the reverse
# ("an hour"). Prefixes, matched on the lowercase word.
_CONSONANT_SOUND_PREFIXES = (
    "unic",
    "unif",
    "unio",
    "uniq",
    "unit",
    "univ",
    "unis",
    "use",
    "usu",
    "uti",
    "uku",
    "ufo",
    "ure",
    "uro",
    "eu",
    "ewe",
    "one",
    "once",
    "ouija",
)
_VOWEL_SOUND_PREFIXES = ("hour", "honest", "honor", "honour", "heir", "herb")
# Single letters and all-caps abbreviations are read letter by letter: "an MRI", "a TV".
_VOWEL_SOUND_LETTERS = set("aefhilmnorsx")
_ACRONYMS = frozenset("MRI SUV UFO USB FBI NBA NFL ATM MBA HBO RV UK USA".split())


def article_for(word: str) -> str:
    """Return the indefinite article ("a" or "an") that goes before `word`, lowercase.

    Decided by the sound of the word, with the usual exceptions ("an hour", "a unicorn",
    "a one", "an MRI"); digits are read as numbers ("an 8", "an 11", "a 2").
    """
    w = word.strip().lstrip("\"'(“‘")
    if not w:
        return "a"
    if w[0].isdigit():
        lead = re.match(r"\d+", w).group(0)
        # 8, 80..89, 800.., 11, 18, 11000 are read with a vowel sound.
        if (
            lead[0] == "8"
            or lead in ("11", "18")
            or (len(lead) in (5, 6) and lead[:2] in ("11", "18"))
        ):
            return "an"
        return "a"
    # An all-caps word without vowels, or a known acronym, is read letter by letter: "a TV",
    # "an MRI"; "A HAT" in an all-caps caption is read as a word.
    if len(w) > 1 and w.isupper() and (not set(w.lower()) & set("aeiou") or w in _ACRONYMS):
        return "an" if w[0].lower() in _VOWEL_SOUND_LETTERS else "a"
    low = w.lower()
    if len(low) == 1:
        return "an" if low in _VOWEL_SOUND_LETTERS else "a"
    if low.startswith(_VOWEL_SOUND_PREFIXES):
        return "an"
    if low.startswith(_CONSONANT_SOUND_PREFIXES):
        return "a"
    return "an" if low[0] in "aeiou" else "a"


def match_case(template: str, word: str) -> str:
    """Give `word` the casing pattern of `template`: "Dog"→"Cat", "DOG"→"CAT", "dog"→"cat".

    Only the first letter is adjusted for title case, so multi-word replacements keep their
    own casing after it ("On"→"In front of").
    """
    if not template or not word:
        return word
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[0].isupper():
        return word[0].upper() + word[1:]
    return word[0].lower() + word[1:] if word[0].isupper() and not word[:2].isupper() else word


def pluralize(noun: str, irregular: dict[str, str]) -> str:
    """Plural of a (possibly multi-word) lowercase noun phrase: the last word is inflected.

    `irregular` maps singular → plural for whole phrases or last words ("man"→"men").
    """
    if noun in irregular:
        return irregular[noun]
    head, _, last = noun.rpartition(" ")
    if last in irregular:
        plural = irregular[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        plural = last + "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        plural = last[:-1] + "ies"
    elif last.endswith("fe") and not last.endswith("ffe"):  # knife → knives, giraffe → giraffes
        plural = last[:-2] + "ves"
    else:
        plural = last + "s"
    return f"{head} {plural}" if head else plural
