"""Rules that turn one parsed caption into one hard negative per type (DESIGN §4).

Each rule reads a `Parse` (see `ahnpl.pipeline.caption_parse`) and a `RuleContext` (the
lexicon, the corpus statistics, what the image's other captions say) and returns
`(edits, score)`: token edits `(first_token, end_token, new_text)` and the plausibility of the
replacement (`CorpusStats.score`, mean log-probability in its context), or None when the
caption lacks what the type needs. Among its candidates a rule keeps those the statistics find
plausible in context and that are false for the image (absent from the same role in every
sibling caption), and draws one with the caller's `Choices` (a RNG seeded per caption, type and
seed), weighted by plausibility, so the output depends on (caption, siblings, seed, statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ahnpl.pipeline.caption_parse import (
    Choices,
    Edit,
    Parse,
    frozen_tokens,
    match_phrase,
    moved_word,
)
from ahnpl.pipeline.corpus_stats import (
    OBSERVED_MIN,
    CorpusStats,
    caption_nouns,
    entity_class,
    head_key,
    noun_key,
    relation_key,
    verb_key,
)
from ahnpl.pipeline.lexicon import TAG_TO_FORM, Lexicon
from ahnpl.pipeline.surface import match_case

NOUN_TAGS = frozenset({"NN", "NNS"})
# Captions in title case tag their nouns as proper ("Dog looking in a window").
_PROPER_OR_COMMON = NOUN_TAGS | {"NNP", "NNPS"}
_OBJECT_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS", "PRP"})
_COLOUR_DEPS = frozenset({"amod", "compound", "acomp", "attr", "conj", "oprd", "nmod", "pobj"})
_PREDICATE_DEPS = frozenset({"amod", "acomp", "conj", "attr", "oprd"})
_NUMBER_WORDS_BY_VALUE: dict[int, str] = {}
_COUNTS = frozenset(
    "two three four five six seven eight nine ten eleven twelve several many these those".split()
)
ANTONYM_WEIGHT = 3.0  # a spatial antonym is preferred over another plausible relation
MARGIN = 2.0  # candidates this far (log units) below the most plausible one are not drawn
SHARPNESS = 2.0
# Relations are few and frequent, so their statistics can speak earlier: a relation half as
# often expected as once in a context, and unseen there, is not plausible in it.
RELATION_VETO = 0.5
RELATION_FLOOR = -6.0
VERTICAL = frozenset({"under", "above", "on", "in"})
# Kinds of attribute any thing of a kind can have; a noun seen KIND_SEEN times with words of
# one of them takes that kind (attribute_swap across kinds).
PHYSICAL = frozenset({"colour", "material", "shape"})
KIND_SEEN = 3
HEAD_KNOWN = 5  # a verb seen with fewer relations than this may govern its preposition
# A verb must fit its subject and object: a verb seen under a quarter as often as expected
# there ("horses sitting"), or one too rare for absence to tell ("an airplane falls"), is out.
VERB_RATIO = 0.25
VERB_FLOOR = -7.0
VERB_KNOWN = 60
# An object is more telling than a subject ("a man" does anything): fewer sightings suffice.
VERB_KNOWN_OBJECT = 10
VERB_MIN = 1  # an argument seen this often has shown which verbs it takes
VERB_SEEN = 5  # a verb seen this often with its object (or subject) is plausible with it
# A noun the rest of the scene predicts SCENE_EXPECTED times among its kind but that was seen
# there under SCENE_RATIO of that ("a tennis racket … in a baseball game") does not fit it;
# the scene also weighs the choice among those that fit.
SCENE_EXPECTED = 1.5
SCENE_RATIO = 0.1
VERB_SCENE_EXPECTED = 3.0
VERB_SCENE_KNOWN = 80  # a scene word seen with this many verbs of the kind knows which fit
OBJECT_KNOWN = 20  # a context where this many things of a kind were seen has shown which fit
OBJECT_RARE = 20
Result = tuple[list[Edit], float]
_UNLOCATED = frozenset("day night morning afternoon evening time view scene".split())
_ABSTRACT = frozenset("focus help care ease joy pride interest caution".split())


@dataclass
class Roles:
    """What a set of captions says, by role: nouns, (adjective, noun), verbs, (relation,
    object). A replacement in one of these roles is not false for the image."""

    nouns: set[str] = field(default_factory=set)
    amod: set[tuple[str, str]] = field(default_factory=set)
    verbs: set[str] = field(default_factory=set)
    rel: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class RuleContext:
    lex: Lexicon
    stats: CorpusStats
    siblings: Roles = field(default_factory=Roles)


def _pick(rng: Choices, slots: list, antonyms: bool = False):
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


def _is_particle(p: Parse, i: int, ctx: RuleContext) -> bool:
    """A preposition the corpus reads as a verb's particle more often than as a relation
    ("pick up", "look out"), or one the parser attaches as a particle."""
    if p.deps[i] == "prt":
        return True
    h = p.heads[i]
    if not p.tags[h].startswith("VB"):
        return False
    v, st = verb_key(p, h, ctx.lex), ctx.stats
    as_rel = st.count("rel|h", (v,), relation_key((p.lows[i],), ctx.lex))
    return st.count("prt|v", (v,), p.lows[i]) > as_rel


def _relation_slots(p: Parse, ctx: RuleContext):
    """(first, end, Relation, object token) of each relation a rule may replace; the object
    of "on it" is the noun "it" stands for (`_antecedent`)."""
    lex = ctx.lex
    frozen = frozen_tokens(p, lex)
    n, i = len(p), 0
    while i < n:
        m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
        if m is None or frozen[i]:
            i += 1
            continue
        length, rel = m
        last = i + length - 1
        # A lone preposition must be one ("up" as a particle, "by" as the passive agent are not);
        # after a determiner the words are a noun phrase ("the inside of a toilet").
        ok = length > 1 or (p.tags[i] == "IN" and p.deps[i] == "prep")
        det = i > 0 and p.deps[i - 1] in ("det", "poss") and i <= p.heads[i - 1] <= last
        ok = ok and not det and not _is_particle(p, i, ctx)
        # "very close to", "right next to": the modifier would be left on the new phrase.
        ok = ok and not any(p.deps[j] == "advmod" and j < i for j in p.children(i))
        # "across the street from a building" says where the building is, not the street.
        ok = ok and not (rel.group == "across" and "from" in p.lows[last + 1 :])
        obj = p.child(last, ("pobj",)) if ok else None
        if obj is not None and p.lows[obj] in _PRONOUNS:
            obj = _antecedent(p, i, obj, lex)
        # Nothing is located by "a day at the beach" or "a view of": time and view heads.
        head = p.lows[p.heads[i]]
        if (
            obj is not None
            and p.tags[obj] in _OBJECT_TAGS
            and (p.lows[obj] not in lex.relation_object_stoplist or _named_place(p, obj, ctx))
            and head not in _UNLOCATED
        ):
            yield i, i + length, rel, obj
        i += length


_PRONOUNS = {"it": "NN", "them": "NNS"}


def _antecedent(p: Parse, rel: int, pron: int, lex: Lexicon) -> int | None:
    """The noun a pronoun object stands for ("a lake with boats on it" → lake): the first
    noun of the caption, of the pronoun's number, that is not the thing located."""
    located = p.heads[rel]
    for j in range(rel):
        if (
            p.tags[j] == _PRONOUNS[p.lows[pron]]
            and j != located
            and p.deps[j] != "compound"
            and p.lows[j] not in lex.relation_object_stoplist
            and p.lows[j] not in lex.collectives
        ):
            return j
    return None


def _named_place(p: Parse, obj: int, ctx: RuleContext) -> bool:
    """A stop-listed word that its modifier makes a place ("a parking lot"): a compound the
    lexicon or the corpus knows."""
    return any(p.deps[j] == "compound" and _is_compound(p, j, obj, ctx) for j in p.children(obj))


def _in_relation_phrase(p: Parse, lex: Lexicon) -> list[bool]:
    """Tokens inside a relation phrase of several words ("in front of", "on top of")."""
    out, i = [False] * len(p), 0
    while i < len(p):
        m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
        if m is not None and m[0] > 1:
            out[i : i + m[0]] = [True] * m[0]
        i += m[0] if m is not None else 1
    return out


def _relation_score(
    stats: CorpusStats, feats: list, group: str, verb_head: bool = False
) -> float | None:
    """Plausibility of relation `group` between a head and an object (`feats`: the pair, the
    head alone, the object alone), or None. A relation the corpus states for this very pair
    `OBSERVED_MIN` times is plausible whatever the marginal counts say."""
    if stats.count(*feats[0], group) < OBSERVED_MIN:
        # The head must have been seen with the new relation ("chewing on a toy" ↛ "chewing
        # next to"), and so must the object where the relation needs something of it: one
        # sits under a table, not under a bench or a slope.
        if verb_head and stats.total(*feats[1]) < HEAD_KNOWN:
            return None
    score = stats.score(feats, group, veto=RELATION_VETO)
    if score is None and stats.count(*feats[0], group) >= OBSERVED_MIN:
        # Seen for this pair, but not against the class of what is located: cats sit under a
        # bench, people do not.
        by_class = [f for f in feats if f[0] == "crel|co"]
        if not by_class or stats.score(by_class, group, veto=RELATION_VETO) is not None:
            score = stats.score(feats, group, veto=math.inf)
    return score if score is not None and score >= RELATION_FLOOR else None


def relation(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex, stats = ctx.lex, ctx.stats
    slots = []
    frozen = frozen_tokens(p, lex)
    in_phrase = _in_relation_phrase(p, lex)
    for i, low in enumerate(p.lows):
        if frozen[i] or in_phrase[i]:
            continue  # "on top of" ↛ "on bottom of": the phrase is replaced whole or not at all
        # "playing outside in the grass": the place that follows says which side it is.
        place = i + 1 < len(p) and p.tags[i + 1] == "IN"
        if low in lex.side_adverbs and p.tags[i] == "RB" and p.deps[i] == "advmod" and not place:
            slots.append(((i, i + 1), [(lex.side_adverbs[low], 0.0, True)]))
        elif (
            low in lex.sides
            and p.tags[i] in ("NN", "JJ")
            and (
                (i > 0 and p.lows[i - 1] in lex.side_before)
                or (i + 1 < len(p) and p.lows[i + 1] in lex.side_after)
            )
            and not p.has(lex.sides[low])
        ):
            slots.append(((i, i + 1), [(lex.sides[low], 0.0, True)]))
    riding = any(
        t.startswith("VB") and verb_key(p, j, lex) in lex.ridden for j, t in enumerate(p.tags)
    )
    for s, e, rel, obj in _relation_slots(p, ctx):
        if riding and _setting(p, obj, lex) is not None:
            continue  # "a man on a motorbike rides down the street": he is on it
        surface = p.lows[obj] in lex.surfaces  # "a bus on a street" ↛ "in front of a street"
        # A vehicle or board on its surface is not beside it: "a train next to the tracks".
        vehicle = surface and _setting(p, _agent_of(p, p.heads[s]), lex) in lex.vehicle_settings
        h, o = head_key(p, p.heads[s], lex), noun_key(p, obj, lex)
        feats = [("rel|ho", (h, o)), ("rel|h", (h,)), ("rel|o", (o,))]
        # For up and down the class of what is located speaks too: a cat sits under a bench,
        # a person does not.
        cls = entity_class(p, p.heads[s], lex)
        vertical = [*feats, ("crel|co", (cls, o))] if cls is not None else feats
        cands = []
        for group in rel.contrast:
            say = lex.relation_say[group]
            if p.has(say) or (group, o) in ctx.siblings.rel:
                continue
            if (surface and group not in lex.surfaces_keep) or (vehicle and group == "near"):
                continue
            score = _relation_score(
                stats,
                vertical if group in VERTICAL else feats,
                group,
                p.tags[p.heads[s]].startswith("VB"),
            )
            if score is not None:
                cands.append((say, score, say in rel.replacements))
        if cands:
            slots.append(((s, e), cands))
    if not slots:
        return None
    (s, e), repl, score = _pick(rng, slots, antonyms=True)
    return [(s, e, match_case(p.words[s], repl))], score


def _is_compound(p: Parse, m: int, h: int, ctx: RuleContext) -> bool:
    """Whether modifier token m and noun h form a compound that must stay whole: a packaged
    one, or one the corpus shows (a descriptive adjective of the lexicon never counts)."""
    pair = (p.lows[m], p.lows[h])
    if pair in ctx.lex.compounds or frozen_tokens(p, ctx.lex)[m]:
        return True
    return pair in ctx.stats.compounds and p.lows[m] not in ctx.lex.swappable


def _modifiers(p: Parse, ctx: RuleContext) -> list[tuple[int, int]]:
    """(adjective, noun) pairs: an attributive adjective before the noun it modifies, outside
    compounds and idioms."""
    lex = ctx.lex
    out = []
    for i, (low, tag, dep) in enumerate(zip(p.lows, p.tags, p.deps)):
        h = p.heads[i]
        # Only known descriptive adjectives: "remote" in "remote control" is no attribute.
        if h <= i or p.tags[h] not in NOUN_TAGS or low not in lex.swappable:
            continue
        attr = lex.attributes.get(low)
        if (
            (dep == "amod" and tag in ("JJ", "VBN"))
            or (attr is not None and attr.kind == "colour" and dep in ("amod", "compound"))
        ) and not _is_compound(p, i, i + 1 if i + 1 < len(p) else h, ctx):
            out.append((i, h))
    return out


def _near(p: Parse, i: int, word: str, skip: int) -> bool:
    """Whether `word` is already within three tokens of token i (token `skip` aside)."""
    return any(p.lows[j] == word for j in range(max(0, i - 3), min(len(p), i + 4)) if j != skip)


def attribute_swap(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex, stats = ctx.lex, ctx.stats
    mods = _modifiers(p, ctx)
    present = {(p.lows[a], p.lows[h]) for a, h in mods}
    pool = []
    for x, (a, ha) in enumerate(mods):
        for b, hb in mods[x + 1 :]:
            la, lb = p.lows[a], p.lows[b]
            if ha == hb or la == lb or p.lows[ha] == p.lows[hb]:
                continue
            at, bt = lex.attributes.get(la), lex.attributes.get(lb)
            if at is not None and bt is not None and at.group == bt.group:
                continue  # synonyms: swapping "big" and "large" changes nothing
            if {(lb, p.lows[ha]), (la, p.lows[hb])} <= present:
                continue
            between = p.tags[min(a, b) + 1 : max(a, b)]
            if not NOUN_TAGS & set(between) or _near(p, a, lb, b) or _near(p, b, la, a):
                continue  # one phrase: "white and grey cat" ↛ "white and white cat"
            na, nb = noun_key(p, ha, lex), noun_key(p, hb, lex)
            if (lb, na) in ctx.siblings.amod or (la, nb) in ctx.siblings.amod:
                continue  # another caption of the image says so: not false
            s1 = stats.score([("amod|n", (na,))], lb)
            s2 = stats.score([("amod|n", (nb,))], la)
            if s1 is None or s2 is None:
                continue
            if _swap_fits(p, (a, ha, at), (b, hb, bt), (na, nb), ctx):
                pool.append(((a, b), (s1 + s2) / 2, False))
    if not pool:
        return None
    (a, b), score, _ = rng.weighted(pool, [math.exp(sc) for _, sc, _ in pool])
    return [(a, a + 1, moved_word(p, b, a)), (b, b + 1, moved_word(p, a, b))], score


def _swap_fits(p: Parse, x: tuple, y: tuple, nouns: tuple[str, str], ctx: RuleContext) -> bool:
    """Whether modifiers x and y (token, noun token, Attribute or None) may trade nouns.

    Two words of one kind trade places (colours, sizes, materials). Across kinds, or for a
    descriptive adjective of no kind, only where the corpus states both new pairs
    `OBSERVED_MIN` times ("a white table with a wooden vase"), or, for colours, materials and
    shapes, where each noun is seen with words of the other's kind `KIND_SEEN` times (a vase
    takes colours, a table materials): otherwise the result reads oddly ("an empty bus on a
    yellow road"). Never for modifiers joined to others ("grey and white").
    """
    (a, ha, at), (b, hb, bt) = x, y
    lex, stats = ctx.lex, ctx.stats
    na, nb = nouns
    la, lb = p.lows[a], p.lows[b]
    observed = (
        stats.count("amod|n", (na,), lb) >= OBSERVED_MIN
        and stats.count("amod|n", (nb,), la) >= OBSERVED_MIN
    )
    kinds = {at.kind if at else None, bt.kind if bt else None}
    # A size says little of a group or a room ("a long group of people") unless the corpus
    # says it of those nouns.
    if "size" in kinds and not observed:
        if not (_is_object(p, ha, lex) and _is_object(p, hb, lex)):
            return False
    if len(kinds) == 1 and None not in kinds:
        return True
    if _coordinated(p, a) or _coordinated(p, b):
        return False
    if observed:
        return True
    if not kinds <= PHYSICAL:
        return False
    return (
        _kind_count(stats, lex, na, bt.kind) >= KIND_SEEN
        and _kind_count(stats, lex, nb, at.kind) >= KIND_SEEN
    )


def _kind_count(stats: CorpusStats, lex: Lexicon, noun: str, kind: str) -> int:
    """How often the corpus says a word of attribute `kind` of `noun`."""
    slot = stats.index["amod|n"].get((noun,)) or {}
    return sum(c for w, c in slot.items() if (at := lex.attributes.get(w)) and at.kind == kind)


def _is_object(p: Parse, h: int, lex: Lexicon) -> bool:
    """Whether the noun at h is a thing of the object lexicon, not a collective ("group")."""
    return _supercategory(p, h, lex) is not None and p.lows[h] not in lex.collectives


def _coordinated(p: Parse, i: int) -> bool:
    """Whether modifier i is one of several joined by "and" ("a grey and white cat")."""
    if i > 0 and p.lows[i - 1] in ("and", "&", ","):
        return True  # also where the parser misreads the first one ("Grey and white cat")
    return p.deps[i] == "conj" or any(p.deps[j] in ("cc", "conj") for j in p.children(i))


def _number_word(value: int, template: str, lex: Lexicon) -> str:
    if template.isdigit():
        return str(value)
    if not _NUMBER_WORDS_BY_VALUE:
        _NUMBER_WORDS_BY_VALUE.update({v: w for w, v in lex.numbers.items()})
    return match_case(template, _NUMBER_WORDS_BY_VALUE[value])


def _attribute_noun(p: Parse, i: int) -> int | None:
    """The noun an adjective describes: its head ("a red car"), or the subject of the copula
    it completes ("the car is red")."""
    h = p.heads[i]
    if p.tags[h] in NOUN_TAGS:
        return h
    if p.deps[i] in ("acomp", "attr", "oprd"):
        subj = p.child(h, ("nsubj",))
        if subj is not None and p.tags[subj] in NOUN_TAGS:
            return subj
    return None


def _attribute_ok(p: Parse, i: int, kind: str, lex: Lexicon) -> bool:
    low, tag, dep = p.lows[i], p.tags[i], p.deps[i]
    if kind == "colour":
        # "orange" is also a fruit: as a noun it is an object, not a colour.
        return tag == "JJ" or (
            dep in _COLOUR_DEPS and ((low,) not in lex.nouns or dep in ("amod", "compound"))
        )
    if kind in ("material", "shape"):
        return (tag == "JJ" and dep in _PREDICATE_DEPS) or dep in ("amod", "compound")
    return (tag == "JJ" or (kind == "state" and tag == "VBN")) and dep in _PREDICATE_DEPS


def _number_slot(p: Parse, i: int, ctx: RuleContext):
    """Candidates for a count ("two dogs" → "three dogs"): nearby values first, as a count
    a caption would plausibly give; no corpus feature applies (score 0)."""
    lex, low = ctx.lex, p.lows[i]
    value = lex.numbers.get(low) or (int(low) if low.isdigit() and len(low) < 3 else 0)
    if value < 2 or p.deps[i] != "nummod" or p.tags[p.heads[i]] != "NNS":
        return None
    cands = [
        (_number_word(v, p.words[i], lex), -abs(v - value) / 2.0, False)
        for v in lex.number_choices
        if v != value and not p.has(_number_word(v, "x", lex))
    ]
    return cands or None


def attribute(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex, stats = ctx.lex, ctx.stats
    frozen = frozen_tokens(p, lex)
    slots = []
    for i, low in enumerate(p.lows):
        if frozen[i] or (i + 1 < len(p) and _is_compound(p, i, i + 1, ctx)):
            continue  # "hot dog", "black and white photo", "polar bear"
        attr = lex.attributes.get(low)
        if attr is None:
            cands = _number_slot(p, i, ctx)
            if cands:
                slots.append((i, cands))
            continue
        if not _attribute_ok(p, i, attr.kind, lex):
            continue
        noun = _attribute_noun(p, i)
        n = noun_key(p, noun, lex) if noun is not None else None
        cands = []
        for r in attr.replacements:
            if p.has(r) or (n is not None and (r, n) in ctx.siblings.amod):
                continue
            if n is not None:
                score = stats.score([("amod|n", (n,))], r)
            else:
                score = stats.prior("amod|n", r)
            if score is not None:
                cands.append((match_case(p.words[i], r), score, False))
        if cands:
            slots.append((i, cands))
    if not slots:
        return None
    i, repl, score = _pick(rng, slots)
    return [(i, i + 1, repl)], score


def _is_plural(p: Parse, i: int, lex: Lexicon) -> bool:
    """Number of the noun at token i by its form: the lexicon when it knows the word (tags of
    all-caps captions are unreliable), else the tag."""
    low = p.lows[i]
    noun = lex.nouns.get((low,))
    if noun is not None and low not in lex.invariant_nouns:
        return noun.plural
    return p.tags[i] == "NNS"


def _plural(p: Parse, s: int, last: int, default: bool) -> bool:
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
        if p.lows[s] in _COUNTS or p.lows[s] in ("few", "couple", "dozen"):
            return True  # "a few birds": the article goes with "few"
    before = p.lows[s - 1] if s > 0 else ""
    if before in ("a", "an", "one", "each", "every", "this", "that"):
        return False
    if before in _COUNTS or (before.isdigit() and int(before) >= 2):
        return True
    return default


def _nouns_in(p: Parse, ctx: RuleContext):
    """(start, end, Noun, plural) for each lexicon noun that heads its phrase and is no part
    of a compound it does not span whole ("bear" in "polar bear" is not replaced)."""
    lex = ctx.lex
    frozen = frozen_tokens(p, lex)
    i, n = 0, len(p)
    while i < n:
        m = match_phrase(p.lows, i, lex.nouns, lex.max_noun_len, lex.noun_starts)
        if m is None:
            i += 1
            continue
        length, noun = m
        last = i + length - 1
        if p.tags[last] in NOUN_TAGS and p.deps[last] != "compound":
            form = noun.plural if p.lows[last] not in lex.invariant_nouns else None
            # Noun modifiers go with the noun: "computer monitors" → "cell phones".
            s = i
            while (
                s > 0
                and p.deps[s - 1] == "compound"
                and p.heads[s - 1] == last
                and p.tags[s - 1] in NOUN_TAGS
                and p.lows[s - 1] not in lex.attributes
            ):
                s -= 1
            inside = any(frozen[s : last + 1]) and tuple(p.lows[i : last + 1]) not in lex.compounds
            before = s > 0 and _is_compound(p, s - 1, s, ctx)
            if not inside and not before:
                default = form if form is not None else p.tags[last] == "NNS"
                yield s, last + 1, noun, _plural(p, s, last, default)
        i += length


def _noun_features(p: Parse, h: int, ctx: RuleContext) -> list[tuple[str, tuple]]:
    """The contexts a noun at token h stands in: its governor (verb or relation), what it
    governs by a relation, its adjectives."""
    lex, feats = ctx.lex, []
    g, dep = p.heads[h], p.deps[h]
    if dep in ("dobj", "nsubj", "nsubjpass") and p.tags[g].startswith("VB"):
        v = verb_key(p, g, lex)
        feats.append(("gov|g", (("v:" if dep == "dobj" else "s:") + v,)))
    elif dep == "pobj" and g != h:
        first, r = g, relation_key((p.lows[g],), lex)
        for st in range(max(0, g - lex.max_relation_len + 1), g + 1):
            m = match_phrase(p.lows, st, lex.relations, lex.max_relation_len, lex.relation_starts)
            if m is not None and st + m[0] - 1 == g:  # "in front of": the relation starts at "in"
                first, r = st, m[1].group
                break
        feats.append(("rel|hr", (head_key(p, p.heads[first], lex), r)))
        cls = entity_class(p, p.heads[first], lex)
        if cls is not None:
            feats.append(("crel|cr", (cls, r)))
    for j in p.children(h):
        if p.deps[j] == "amod" and p.lows[j] in lex.swappable:
            feats.append(("amod|a", (p.lows[j],)))
        elif p.deps[j] in ("acl", "relcl") and p.tags[j].startswith("VB"):
            # "a bird flying", "an airplane that is flying": the noun does what the verb says.
            if p.child(j, ("nsubj", "nsubjpass")) in (None, *_relative_kids(p, j)):
                feats.append(("gov|g", ("s:" + verb_key(p, j, lex),)))
        elif p.deps[j] == "prep" and (pobj := p.child(j, ("pobj",))) is not None:
            r = relation_key((p.lows[j],), lex)
            feats.append(("rel|ro", (r, noun_key(p, pobj, lex))))
    return feats


def _relative_kids(p: Parse, v: int) -> list[int]:
    return [j for j in p.children(v) if p.lows[j] in _RELATIVE]


def _gender(p: Parse, lex: Lexicon) -> frozenset[str]:
    """The genders the caption's pronouns refer to ("his" → male)."""
    out = set()
    for low, tag in zip(p.lows, p.tags):
        if tag in ("PRP", "PRP$"):
            if low in lex.male:
                out.add("male")
            elif low in lex.female:
                out.add("female")
    return frozenset(out)


def object_(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex, stats = ctx.lex, ctx.stats
    found = list(_nouns_in(p, ctx))
    # Groups already in the caption are no replacement: "a dog and a cat" ↛ "a cat and a cat".
    present = {noun.group for _, _, noun, _ in found} | {
        lex.nouns[(w,)].group for w in p.lows if (w,) in lex.nouns
    }
    genders = _gender(p, lex)
    slots = []
    for s, e, noun, plural in found:
        feats = _noun_features(p, e - 1, ctx)
        kind = lex.kind_words[noun.supercategory]
        # The rest of the scene must hold the new noun too: no tennis racket in a baseball
        # game (nouns seen together in one caption, `co`).
        # Not for people: captions say who does what unevenly (girls skateboard too).
        own = noun_key(p, e - 1, lex)
        scene = [("co|n", (k,)) for k in sorted(caption_nouns(p, lex, range(s, e)) - {own})]
        if noun.supercategory == "person":
            scene = []
        setting = lex.settings.get(lex.group_heads[noun.group])
        # Vehicles of one medium move where the others do; animals do not share their uses.
        # Not under a name or a noun modifier ("an American Airlines plane", "a 747 jumbo
        # passenger jet"): those fit the old noun only, and a rare noun has no counts to say.
        named = any(
            p.deps[j] in ("compound", "nmod", "nummod") and j < s for j in p.children(e - 1)
        )
        moves = setting in lex.vehicle_settings and not named
        peers = tuple(w for w, st in sorted(lex.settings.items()) if moves and st == setting)
        cands = []
        for gid, sg, pl, _ in lex.noun_choices[noun.supercategory]:
            if gid in present or sg in ctx.siblings.nouns or lex.settings.get(sg) != setting:
                continue
            # A pronoun must keep agreeing: "a woman holding a hot dog in his hand" is wrong.
            if ("male" in genders and sg in lex.female) or ("female" in genders and sg in lex.male):
                continue
            if not _fits_known_contexts(stats, feats, sg, kind, peers=peers):
                continue
            score = stats.score(feats, sg, among=kind) if feats else stats.prior("gov|g", sg)
            if score is not None and scene:
                # A room is what it holds: each thing of the caption must have been seen in
                # the new one ("a grand piano in a bathroom", "a kitchen with a bidet" are not).
                fit = stats.score(
                    scene,
                    sg,
                    among=kind,
                    veto=SCENE_EXPECTED,
                    ratio=SCENE_RATIO,
                    observed=noun.supercategory == "room",
                )
                score = None if fit is None else (score + fit) / 2
            if score is not None:
                cands.append((match_case(p.words[s], pl if plural else sg), score, False))
        if cands:
            slots.append(((s, e), cands))
    if not slots:
        return None
    (s, e), repl, score = _pick(rng, slots)
    return [(s, e, repl)], score


def _fits_known_contexts(
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


def _verb_features(p: Parse, i: int, ctx: RuleContext) -> list[tuple[str, tuple]]:
    """The contexts of the verb at token i: its subject and object, its relations."""
    lex = ctx.lex
    subj, obj = _subject_of(p, i), p.child(i, ("dobj",))
    s = noun_key(p, subj, lex) if subj is not None else "-"
    o = noun_key(p, obj, lex) if obj is not None else "-"
    # The pair is most telling but sparse; the subject alone and the object alone are dense
    # ("a man riding a bat": no verb of a bat is "ride").
    feats = [("svo|so", (s, o))] if s != "-" else []
    if s != "-":
        feats.append(("svo|s", (s,)))
    if o != "-" or s == "-":
        feats.append(("svo|o", (o,)))
    for j in p.children(i):
        if p.deps[j] == "prep":
            # A phrase counts as its group ("next to" as near), as the statistics count it.
            m = match_phrase(p.lows, j, lex.relations, lex.max_relation_len, lex.relation_starts)
            last = j + m[0] - 1 if m is not None else j
            pobj = p.child(last, ("pobj",))
            r = m[1].group if m is not None else p.lows[j]
            if pobj is not None:
                feats.append(("rel|ro", (r, noun_key(p, pobj, lex))))
            else:
                feats.append(("rel|r", (r,)))
    return feats


def verb(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex = ctx.lex
    frozen = frozen_tokens(p, lex)
    slots = []
    present = set(p.lows)
    for i, (low, tag, dep) in enumerate(zip(p.lows, p.tags, p.deps)):
        entries = lex.verbs.get(low)
        if not entries or tag not in TAG_TO_FORM or dep in ("amod", "aux", "auxpass", "compound"):
            continue
        if frozen[i] or (_after_be(p, i) and TAG_TO_FORM[tag] == 0):
            continue  # "is hold": the caption's own error; a replacement would keep it
        if p.child(i, ("acomp", "oprd")) is not None:
            continue  # "looks clean", "sitting empty": a copula, the adjective says what is new
        if p.child(i, ("prt",)) is not None:
            continue  # phrasal verbs change meaning with the verb: "stand out", "lay out"
        obj = p.child(i, ("dobj",))
        if obj is not None and p.tags[obj] == "PRP":
            continue  # "serve it": what "it" is, and so which verbs fit it, is unknown
        k = TAG_TO_FORM[tag]
        match = [v for v, form in entries if form == k]
        if len(match) != 1:
            continue
        cands = _verb_candidates(p, i, match[0], k, present, ctx)
        if cands:
            slots.append((i, cands))
    if not slots:
        return None
    i, repl, score = _pick(rng, slots)
    return [(i, i + 1, match_case(p.words[i], repl))], score


def _verb_candidates(p: Parse, i: int, v, k: int, present: set, ctx: RuleContext) -> list:
    lex = ctx.lex
    obj = p.child(i, ("dobj",))
    transitive = obj is not None or p.child(i, ("auxpass", "nsubjpass")) is not None
    # "A car is parked", "a man is seated": the passive of a verb of rest states where a thing
    # is, as "is driving", "is standing" would; it takes their -ing form.
    aux = p.child(i, ("auxpass",))
    if k == 4 and obj is None and aux is not None and p.lows[aux] in _BE_FINITE:
        if p.child(i, ("agent",)) is None:
            transitive, k = False, 2
    obj_kind = _supercategory(p, obj, lex)
    # Only a subject known to be alive sleeps or kneels: not "an oven", not "flowers"; and a
    # thing that "sits" on a table also "lies" or "stands" there: no change of meaning.
    subj = _agent_of(p, i)
    lifeless = not _animate(p, subj, lex)
    animal = subj is not None and _supercategory(p, _members(p, subj, lex), lex) == "animal"
    purpose = i > 0 and p.lows[i - 1] == "to"  # "ready to swing" ↛ "ready to hold"
    setting = _setting(p, subj, lex)
    subj_kind = _supercategory(p, subj, lex)
    feats = _verb_features(p, i, ctx)
    groups = [
        (g, members)
        for g in lex.verb_membership[v.forms[0]]
        for g_transitive, objects, members, subjects in (lex.verb_groups[g],)
        if g_transitive == transitive
        and not (objects and obj_kind not in objects)
        and not (subjects and subj_kind not in subjects)
        and not (lifeless and g == "posture")
    ]
    # Counted among the verbs that could stand there: "kites fly", so no other motion verb.
    among = tuple(sorted({m.forms[0] for _, members in groups for m in members} | {v.forms[0]}))
    kinds = tuple("v:" + m for m in among)
    scene = [("co|n", (n,)) for n in sorted(caption_nouns(p, lex))]
    # "A bus parked in front of …" → "A bus driving in front of …": an intransitive verb has no
    # passive participle to put there.
    if k == 4 and p.deps[i] == "acl" and not transitive:
        k = 2
    out: dict[str, tuple] = {}
    for _, members in groups:
        for other in members:
            base = other.forms[0]
            if (
                base in v.synonyms
                or present & set(other.forms)
                or (lifeless and base in lex.animate_only)
                or (animal and base in lex.human_only)
                or (purpose and base in lex.statives)
                or (base in lex.road_only and setting not in (None, "road"))
                or base in ctx.siblings.verbs
                or other.forms[k] in out
            ):
                continue
            score = _verb_score(ctx.stats, feats, base, among, transitive, lex.locative)
            if score is not None and scene:
                # The rest of the scene must hold the new verb: nobody swims on a sidewalk.
                fit = ctx.stats.score(
                    scene, "v:" + base, among=kinds, veto=VERB_SCENE_EXPECTED, ratio=SCENE_RATIO
                )
                if not _fits_known_contexts(ctx.stats, scene, "v:" + base, kinds, VERB_SCENE_KNOWN):
                    fit = None
                score = None if fit is None else (score + fit) / 2
            if score is not None:
                out[other.forms[k]] = (other.forms[k], score, False)
    return list(out.values())


def _verb_score(
    stats: CorpusStats, feats: list, verb: str, among: tuple, transitive: bool, locative=()
):
    """Plausibility of `verb` in the frame `feats` (`_verb_features`), or None.

    Passes when no context vetoes it (see `VERB_RATIO`, `VERB_FLOOR`), or when the corpus
    shows the frame itself: the verb with this object (a transitive use) or this subject (an
    intransitive one) `OBSERVED_MIN` times, with each of its prepositional phrases at least
    once ("sit at a table" → "stand at a table"), and its object does not speak against it
    ("wear an umbrella": seen twice, far below its share) unless seen `VERB_SEEN` times. Then
    the sparse pair and subject counts veto nothing.
    """
    own = "svo|o" if transitive else "svo|s"
    frame = [f for f in feats if f[0] in (own, "rel|ro")]
    seen = stats.count(*frame[0], verb) if frame and frame[0][0] == own else 0
    # Its own argument (the object; the subject without one), when the corpus knows it well,
    # must have been seen with it: not "kick a hand", "wear a knife", "a man flies beside".
    known = frame[0] if transitive and seen else None
    if not transitive and feats and feats[0][0] == "svo|so":
        known = feats[0]
    if transitive and frame and frame[0][0] == own:
        known = frame[0]
    enough = VERB_KNOWN_OBJECT if transitive else VERB_KNOWN
    if known and stats.total(*known) >= enough and stats.count(*known, verb) < VERB_MIN:
        return None
    # Each preposition that a verb governs must go with the new verb somewhere: not "parking
    # past", "stopping through", "resting with"; a locative one fits any ("laying at a station").
    if any(
        stats.count("rel|h", (verb,), c[0]) < OBSERVED_MIN
        for view, c in feats
        if view == "rel|ro" and c[0] not in locative
    ):
        return None
    score = stats.score(feats, verb, among=among, ratio=VERB_RATIO)
    if score is not None:
        return score if score >= VERB_FLOOR else None
    if seen < OBSERVED_MIN:
        return None
    if any(stats.count(view, c, verb) < 1 for view, c in frame if view == "rel|ro"):
        return None
    weak = seen < VERB_SEEN
    if weak and transitive and stats.score(frame[:1], verb, among=among, ratio=VERB_RATIO) is None:
        return None
    score = stats.score(feats, verb, among=among, veto=math.inf)
    return score if score >= VERB_FLOOR else None


_BE_FINITE = frozenset({"is", "are", "was", "were", "'s", "'re"})
_BE = frozenset({"is", "are", "was", "were", "am", "be", "been", "being", "'s", "'re"})


def _after_be(p: Parse, i: int) -> bool:
    return i > 0 and p.lows[i - 1] in _BE


def _supercategory(p: Parse, i: int | None, lex: Lexicon) -> str | None:
    """Supercategory of the lexicon noun ending at token i ("surf board" → sports), if any."""
    if i is None:
        return None
    for n in range(min(lex.max_noun_len, i + 1), 0, -1):
        noun = lex.nouns.get(tuple(p.lows[i - n + 1 : i + 1]))
        if noun is not None:
            return noun.supercategory
    return None


def _setting(p: Parse, i: int | None, lex: Lexicon) -> str | None:
    """The setting (objects.json `settings`) of the lexicon noun ending at token i, if any."""
    if i is None:
        return None
    for n in range(min(lex.max_noun_len, i + 1), 0, -1):
        noun = lex.nouns.get(tuple(p.lows[i - n + 1 : i + 1]))
        if noun is not None:
            return lex.settings.get(lex.group_heads[noun.group])
    return None


def _members(p: Parse, i: int, lex: Lexicon) -> int:
    """The noun a collective stands for ("a group of giraffes" → giraffes), else i."""
    if p.lows[i] in lex.collectives:
        of = p.child(i, ("prep",))
        inner = p.child(of, ("pobj",)) if of is not None and p.lows[of] == "of" else None
        if inner is not None:
            return inner
    return i


def _animate(p: Parse, i: int | None, lex: Lexicon) -> bool:
    if i is None:
        return False
    i = _members(p, i, lex)
    return p.lows[i] in lex.animate_extra or _supercategory(p, i, lex) in ("person", "animal")


def _has_det(p: Parse, i: int) -> bool:
    return p.child(i, ("det", "nummod", "poss")) is not None


def _is_mass(p: Parse, span: tuple[int, int], lex: Lexicon) -> bool:
    noun = lex.nouns.get(tuple(p.lows[span[0] : span[1]])) or lex.nouns.get((p.lows[span[1] - 1],))
    return noun is not None and noun.mass


def _noun_span(p: Parse, h: int, lex: Lexicon) -> tuple[int, int]:
    """The noun at h with its noun modifiers, or the lexicon phrase it ends ("hot dog")."""
    for n in range(min(lex.max_noun_len, h + 1), 1, -1):
        if tuple(p.lows[h - n + 1 : h + 1]) in lex.nouns:
            return h - n + 1, h + 1
    s = h
    while s > 0 and p.deps[s - 1] == "compound" and p.heads[s - 1] == h:
        s -= 1
    return s, h + 1


_RELATIVE = frozenset({"that", "who", "which", "whom"})


def _subject_of(p: Parse, v: int) -> int | None:
    """The noun doing what verb v says: its subject, the noun a participle or relative clause
    describes ("a man in a suit standing" → man, "girls that are standing" → girls)."""
    if p.tags[v] in NOUN_TAGS:
        return v
    if not p.tags[v].startswith("VB"):
        return None
    subj = p.child(v, ("nsubj", "nsubjpass"))
    if subj is not None and not (p.lows[subj] in _RELATIVE and p.deps[v] == "relcl"):
        return subj
    if p.deps[v] in ("acl", "relcl") and p.tags[p.heads[v]] in _PROPER_OR_COMMON:
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


def _agent_of(p: Parse, v: int) -> int | None:
    """`_subject_of`, or for a clause without one the subject of the verb it depends on: the
    dog does the catching in "a dog jumps to catch a frisbee"."""
    seen = set()
    while v not in seen:
        seen.add(v)
        subj = _subject_of(p, v)
        if subj is not None or p.deps[v] not in ("xcomp", "advcl", "conj"):
            return subj
        v = p.heads[v]
    return None


def _swap_pairs(p: Parse, lex: Lexicon):
    """(subject span, object span, role features) of the nouns a verb or relation links."""
    for i in range(len(p)):
        anchor, obj, verb_anchor = None, None, p.tags[i].startswith("VB")
        if verb_anchor:
            obj, anchor = p.child(i, ("dobj",)), i
        else:
            m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
            if m is not None and (m[0] > 1 or p.deps[i] == "prep"):
                obj, anchor = p.child(i + m[0] - 1, ("pobj",)), p.heads[i]
        if obj is None or anchor is None:
            continue
        subj = _subject_of(p, anchor)
        if subj is None or subj == obj:
            continue
        a, b = _noun_span(p, subj, lex), _noun_span(p, obj, lex)
        if (
            p.tags[subj] not in NOUN_TAGS
            or p.tags[obj] not in NOUN_TAGS
            or "compound" in (p.deps[subj], p.deps[obj])
            or p.lows[subj] == p.lows[obj]
            or p.lows[subj] in lex.relation_object_stoplist
            or p.lows[obj] in lex.relation_object_stoplist
            or (a[1] > b[0] and b[1] > a[0])  # overlapping spans
        ):
            continue
        number = _is_plural(p, subj, lex)
        if (
            number != _is_plural(p, obj, lex)
            or _plural(p, a[0], subj, number) != number
            or _plural(p, b[0], obj, number) != number
            # Determiners stay in place: "A plate with broccoli" ↛ "A broccoli with plate".
            or _has_det(p, subj) != _has_det(p, obj)
            or _is_mass(p, a, lex)
            or _is_mass(p, b, lex)
        ):
            continue
        s_key, o_key = noun_key(p, subj, lex), noun_key(p, obj, lex)
        # The swapped statement itself must be in the corpus ("a cat chasing a dog" for "a dog
        # chasing a cat"): only then can the nouns take each other's role ("the leash is
        # wearing a dog", "a desk on a computer" are never said).
        if verb_anchor:
            v = verb_key(p, anchor, lex)
            feats = ([("svo|vo", (v, s_key))], [("svo|sv", (o_key, v))])
        else:
            r = relation_key(tuple(p.lows[i : i + m[0]]), lex)
            feats = ([("rel|ro", (r, s_key))], [("rel|hr", (o_key, r))])
        # Adjectives stay in place: each noun must also go with the other's ("a sliding dog").
        feats[0].extend(("amod|a", (p.lows[j],)) for j in p.children(subj) if p.deps[j] == "amod")
        feats[1].extend(("amod|a", (p.lows[j],)) for j in p.children(obj) if p.deps[j] == "amod")
        yield a, b, ((o_key, feats[0]), (s_key, feats[1]))


def object_swap(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    pairs = []
    for a, b, feats in _swap_pairs(p, ctx.lex):
        scores = [ctx.stats.score(f, cand, observed=True) for cand, f in feats]
        if None not in scores:
            pairs.append(((a, b), sum(scores) / 2, False))
    if not pairs:
        return None
    (a, b), score, _ = rng.weighted(pairs, [math.exp(sc) for _, sc, _ in pairs])

    def text(src: tuple[int, int], dst: tuple[int, int]) -> str:
        head = moved_word(p, src[0], dst[0])
        return head + p.text[p.ends[src[0]] : p.ends[src[1] - 1]]

    return [(a[0], a[1], text(b, a)), (b[0], b[1], text(a, b))], score


def existence(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    """VALSE-style existence negative: "a man with a hat" → "a man without a hat"; a vague
    determiner goes ("with some graffiti" → "without graffiti"), a counted object is left
    alone ("with two dogs"). Score: plausibility of the object after "without"."""
    lex = ctx.lex
    frozen = frozen_tokens(p, lex)
    slots = []
    for i, low in enumerate(p.lows):
        # Only "with" that gives a thing a part or a companion ("a bed with pillows"); with a
        # verb it names an instrument or a manner ("filled with", "playing with").
        if low != "with" or p.deps[i] != "prep" or frozen[i]:
            continue
        obj = p.child(i, ("pobj",))
        if obj is None or p.tags[obj] not in NOUN_TAGS or p.tags[p.heads[i]] not in NOUN_TAGS:
            continue
        if p.lows[obj] in _UNLOCATED or p.lows[obj] in _ABSTRACT:
            continue
        det = p.child(obj, ("det", "nummod", "quantmod"))
        if p.child(obj, ("nummod",)) is not None or (det is not None and det != i + 1):
            continue
        if det is not None and p.lows[det] in ("no", "without"):
            continue
        end = i + 1
        if det == i + 1 and p.lows[det] in lex.existence_drop:
            end = i + 2
            if end < len(p) and p.lows[end] == "of":  # "with lots of people"
                end += 1
        score = ctx.stats.score([("rel|r", ("without",))], head_key(p, p.heads[i], lex))
        slots.append(((i, end), [("without", score if score is not None else 0.0, False)]))
    if not slots:
        return None
    (s, e), repl, score = _pick(rng, slots)
    return [(s, e, match_case(p.words[s], repl))], score


def order_shuffle(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    """ARO-style word-order negative: nouns and adjectives trade places within their class
    (singular nouns, plural nouns, adjectives), so number agreement still holds. No
    plausibility applies (score 0): such negatives are meant to be ungrammatical-ish."""
    lex = ctx.lex
    edits = []
    classes: dict[str, list[int]] = {"NN": [], "NNS": [], "JJ": []}
    for i, t in enumerate(p.tags):
        # Quantity nouns ("a couple glasses", "a group of") are determiners, not objects.
        low = p.lows[i]
        if not low.isalpha() or t not in ("NN", "NNS", "JJ") or low in lex.collectives:
            continue
        if low == "one" or low in lex.numbers:  # "a baby one": a pronoun, not a noun
            continue
        if t == "JJ":
            classes["JJ"].append(i)
            continue
        plural = _is_plural(p, i, lex)
        # A plural noun modifier reads as a plural head elsewhere ("a clothes washer"); a
        # number its determiner contradicts ("A people", "one points") is not trusted.
        if (plural and p.deps[i] == "compound") or _plural(p, i, i, plural) != plural:
            continue
        classes["NNS" if plural else "NN"].append(i)
    for pos in classes.values():
        if len({p.lows[i] for i in pos}) < 2:
            continue
        k = rng.randrange(1, len(pos))
        for dst, src in zip(pos, pos[k:] + pos[:k]):
            if p.lows[dst] != p.lows[src]:
                edits.append((dst, dst + 1, moved_word(p, src, dst)))
    return (edits, 0.0) if edits else None


RULES = {
    "relation": relation,
    "attribute_swap": attribute_swap,
    "attribute": attribute,
    "object": object_,
    "verb": verb,
    "object_swap": object_swap,
    "existence": existence,
    "order_shuffle": order_shuffle,
}
