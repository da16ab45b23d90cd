"""What every negative rule shares (DESIGN §4): the roles sibling captions state, the rule
context, the weighted draw among plausible candidates, and the parse helpers more than one
rule reads (compounds, plurals, subjects, settings)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ahnpl.pipeline.caption_parse import Choices, Edit, Parse, frozen_tokens
from ahnpl.pipeline.corpus_stats import CorpusStats
from ahnpl.pipeline.lexicon import Lexicon

NOUN_TAGS = frozenset({"NN", "NNS"})
# Captions in title case tag their nouns as proper ("Dog looking in a window").
PROPER_OR_COMMON = NOUN_TAGS | {"NNP", "NNPS"}
COUNT_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve several many these those".split()
)
ANTONYM_WEIGHT = 3.0  # a spatial antonym is preferred over another plausible relation
MARGIN = 2.0  # candidates this far (log units) below the most plausible one are not drawn
SHARPNESS = 2.0
# A noun or verb the scene predicts but saw under SCENE_RATIO of its expected count does not
# fit the scene (objects.SCENE_EXPECTED, verb.VERB_SCENE_EXPECTED).
SCENE_RATIO = 0.1
OBJECT_KNOWN = 20  # a context where this many things of a kind were seen has shown which fit
OBJECT_RARE = 20
Result = tuple[list[Edit], float]
UNLOCATED = frozenset("day night morning afternoon evening time view scene".split())


@dataclass
class Roles:
    """What a set of captions says, by role: nouns, (adjective, noun), verbs, (relation,
    object). A replacement in one of these roles is not false for the image."""

    nouns: set[str] = field(default_factory=set)
    amod: set[tuple[str, str]] = field(default_factory=set)
    verbs: set[str] = field(default_factory=set)
    rel: set[tuple[str, str]] = field(default_factory=set)
    several: set[str] = field(default_factory=set)  # nouns said in the plural ("two women")
    # (count, noun) said ("three trailers"), and (count, "person") for people ("two men").
    counts: set[tuple[int, str]] = field(default_factory=set)


@dataclass
class RuleContext:
    lex: Lexicon
    stats: CorpusStats
    siblings: Roles = field(default_factory=Roles)


def pick(rng: Choices, slots: list, antonyms: bool = False):
    """Draw one (slot, candidate) over all slots of the caption: only candidates within
    `MARGIN` of the most plausible one, weighted by exp(SHARPNESS·score) (× ANTONYM_WEIGHT
    for antonyms). `slots`: (slot, [(candidate, score, is_antonym)]) with non-empty lists."""
    pairs = [(slot, c) for slot, cands in slots for c in cands]
    best = max(c[1] for _, c in pairs)
    pairs = [(slot, c) for slot, c in pairs if c[1] >= best - MARGIN]
    weights = [
        math.exp(SHARPNESS * (c[1] - best)) * (ANTONYM_WEIGHT if c[2] and antonyms else 1.0)
        for _, c in pairs
    ]
    slot, (cand, score, _) = rng.weighted(pairs, weights)
    return slot, cand, score


def is_compound(p: Parse, m: int, h: int, ctx: RuleContext) -> bool:
    """Whether modifier token m and noun h form a compound that must stay whole: a packaged
    one, or one the corpus shows (a descriptive adjective of the lexicon never counts)."""
    pair = (p.lows[m], p.lows[h])
    if pair in ctx.lex.compounds or frozen_tokens(p, ctx.lex)[m]:
        return True
    return pair in ctx.stats.compounds and p.lows[m] not in ctx.lex.swappable


def is_plural(p: Parse, i: int, lex: Lexicon) -> bool:
    """Number of the noun at token i by its form: the lexicon when it knows the word (tags of
    all-caps captions are unreliable), else the tag."""
    low = p.lows[i]
    noun = lex.nouns.get((low,))
    if noun is not None and low not in lex.invariant_nouns:
        return noun.plural
    return p.tags[i] == "NNS"


def plural_phrase(p: Parse, s: int, last: int, default: bool) -> bool:
    """Grammatical number of the noun phrase p[s:last+1] as the rest of the caption reads it.

    The determiner wins over the noun's form when they disagree ("A women is", "Six giraffe
    are"), so the replacement agrees with the untouched words; a possessive keeps its form.
    """
    if last + 1 < len(p) and p.lows[last + 1] in ("'s", "'"):
        return default
    # The determiner may stand before the adjectives: "A large white sheep".
    while (
        s > 0
        and p.tags[s - 1] in ("JJ", "JJR", "JJS", "RB", "VBN", "HYPH", ",")
        and p.heads[s - 1] >= s
    ):
        s -= 1
        if p.lows[s] in COUNT_WORDS or p.lows[s] in ("few", "couple", "dozen"):
            return True  # "a few birds": the article goes with "few"
    before = p.lows[s - 1] if s > 0 else ""
    if before in ("a", "an", "one", "each", "every", "this", "that"):
        return False
    if before in COUNT_WORDS or (before.isdecimal() and int(before) >= 2):
        return True
    return default


def fits_known_contexts(
    stats: CorpusStats,
    feats: list,
    noun: str,
    kind: tuple,
    known: int = OBJECT_KNOWN,
    peers: tuple = (),
) -> bool:
    """Whether `noun` was seen in each context of the caption that the corpus knows well
    (`OBJECT_KNOWN` sightings of its kind there): "brushing teeth with a clock", "riding a wave
    on a skateboard", "a cat flying" are not.

    A noun the corpus hardly names (under `OBJECT_RARE` sightings in a view: "tram",
    "helicopter") has no absences that tell; it backs off to its class, the other vehicles of
    its setting (`peers`): a tram may travel down the tracks where a train does."""
    for view, context in feats:
        slot = stats.index[view].get(context)
        if not slot or slot.get(noun, 0):
            continue
        if peers and stats.marginals[view][0].get(noun, 0) < OBJECT_RARE:
            if any(slot.get(w, 0) for w in peers):
                continue
        if sum(slot.get(w, 0) for w in kind) >= known:
            return False
    return True


def _lexicon_noun(p: Parse, i: int | None, lex: Lexicon):
    """The lexicon noun ending at token i, longest first ("surf board"), or None."""
    if i is None:
        return None
    for n in range(min(lex.max_noun_len, i + 1), 0, -1):
        noun = lex.nouns.get(tuple(p.lows[i - n + 1 : i + 1]))
        if noun is not None:
            return noun
    return None


def supercategory_of(p: Parse, i: int | None, lex: Lexicon) -> str | None:
    """Supercategory of the lexicon noun ending at token i ("surf board" → sports), if any."""
    noun = _lexicon_noun(p, i, lex)
    return None if noun is None else noun.supercategory


def setting_of(p: Parse, i: int | None, lex: Lexicon) -> str | None:
    """The setting (objects.json `settings`) of the lexicon noun ending at token i, if any."""
    noun = _lexicon_noun(p, i, lex)
    return None if noun is None else lex.settings.get(lex.group_heads[noun.group])
    for n in range(min(lex.max_noun_len, i + 1), 0, -1):
        noun = lex.nouns.get(tuple(p.lows[i - n + 1 : i + 1]))
        if noun is not None:
            return lex.settings.get(lex.group_heads[noun.group])
    return None


RELATIVE = frozenset({"that", "who", "which", "whom"})


def subject_of(p: Parse, v: int) -> int | None:
    """The noun doing what verb v says: its subject, the noun a participle or relative clause
    describes ("a man in a suit standing" → man, "girls that are standing" → girls)."""
    if p.tags[v] in NOUN_TAGS:
        return v
    if not p.tags[v].startswith("VB"):
        return None
    subj = p.child(v, ("nsubj", "nsubjpass"))
    if subj is not None and not (p.lows[subj] in RELATIVE and p.deps[v] == "relcl"):
        return subj
    if p.deps[v] in ("acl", "relcl") and p.tags[p.heads[v]] in PROPER_OR_COMMON:
        h = p.heads[v]
        # Climb out of a prepositional phrase: "a man in a suit" does the standing.
        # Not out of "of": in "a portrait of a giraffe eating" the giraffe eats.
        while (
            p.deps[h] == "pobj"
            and p.lows[p.heads[h]] != "of"
            and p.tags[p.heads[p.heads[h]]] in NOUN_TAGS
        ):
            up = p.heads[p.heads[h]]
            if up == h:
                break
            h = up
        return h
    return None


def agent_of(p: Parse, v: int) -> int | None:
    """`subject_of`, or for a clause without one the subject of the verb it depends on: the
    dog does the catching in "a dog jumps to catch a frisbee"."""
    seen = set()
    while v not in seen:
        seen.add(v)
        subj = subject_of(p, v)
        if subj is not None or p.deps[v] not in ("xcomp", "advcl", "conj"):
            return subj
        v = p.heads[v]
    return None
