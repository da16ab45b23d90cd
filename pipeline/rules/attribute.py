"""The `attribute` and `attribute_swap` rules (DESIGN §4): replace one modifier (colour,
size, material, number…) by one of its kind, or swap two nouns' modifiers, never across a
compound or an idiom."""

from __future__ import annotations

import math

from ahnpl.pipeline.caption_parse import Choices, Parse, frozen_tokens, moved_word
from ahnpl.pipeline.corpus_stats import (
    OBSERVED_MIN,
    CorpusStats,
    entity_class,
    noun_key,
    verb_key,
)
from ahnpl.pipeline.lexicon import Lexicon
from ahnpl.pipeline.rules.common import (
    NOUN_TAGS,
    Result,
    RuleContext,
    is_compound,
    pick,
    supercategory_of,
)
from ahnpl.pipeline.surface import match_case

_COLOUR_DEPS = frozenset({"amod", "compound", "acomp", "attr", "conj", "oprd", "nmod", "pobj"})
_PREDICATE_DEPS = frozenset({"amod", "acomp", "conj", "attr", "oprd"})
_NUMBER_WORDS_BY_VALUE: dict[int, str] = {}

# Kinds of attribute any thing of a kind can have; a noun seen KIND_SEEN times with words of
# one of them takes that kind (attribute_swap across kinds).
PHYSICAL = frozenset({"colour", "material", "shape"})
KIND_SEEN = 3
# A modifier moves to a noun the corpus describes at least NOUN_DESCRIBED times, and a colour
# to an animal or a food only where it is NATURAL_SHARE of what is said of that noun.
NOUN_DESCRIBED = 10
CLASS_SHARE = 0.2  # a class of which a fifth of what is said is of a kind takes that kind
NATURAL_COLOURS = frozenset({"animal", "food"})
NATURAL_SHARE = 0.02
_DESCRIBED = frozenset({"JJ", "JJR", "JJS", "VBN", "NN", "NNS"})


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
        ) and not is_compound(p, i, i + 1 if i + 1 < len(p) else h, ctx):
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
            if _stated(ctx, lb, na) or _stated(ctx, la, nb):
                continue  # another caption of the image says so: not false
            if not _swap_words_ok(p, ctx, (a, ha, at), (b, hb, bt), (na, nb)):
                continue
            s1 = stats.score([("amod|n", (na,))], lb)
            s2 = stats.score([("amod|n", (nb,))], la)
            if s1 is None or s2 is None:
                continue
            if _swap_fits(p, (a, ha, at), (b, hb, bt), (na, nb), ctx):
                pool.append(((a, b), (s1 + s2) / 2, False))
    if not pool:
        return _move(p, ctx, mods, rng)
    (a, b), score, _ = rng.weighted(pool, [math.exp(sc) for _, sc, _ in pool])
    return [(a, a + 1, moved_word(p, b, a)), (b, b + 1, moved_word(p, a, b))], score


def _move(p: Parse, ctx: RuleContext, mods: list[tuple[int, int]], rng: Choices) -> Result | None:
    """Where no two modifiers trade, one moves to another noun of the caption ("a red train
    next to a field" → "a train next to a red field": SugarCrepe's swap_att does the same),
    a pair of colours whole ("a red and white bus" → "a bus by red and white trees"). The new
    pairs must be plausible: observed, or, for colours, materials and shapes, a noun seen
    with words of that kind (`_kind_count`)."""
    pool = []
    for a, ha in mods:
        span = _movable(p, ctx, a, ha)
        if span is None:
            continue
        s, e = span
        rank = _ORDER.get(_kind(ctx.lex, p.lows[a]), len(_ORDER))
        words = [k for k in range(a, e) if p.lows[k] not in _JOINERS]
        for hb, j, mods_b in _bare_nouns(p, ctx):
            j = _insertion(j, mods_b, rank)
            if j is None or p.lows[hb] == p.lows[ha] or s <= j <= e or _of_phrase(p, ha, hb):
                continue
            if j > 0 and p.tags[j - 1] == "IN" and p.lows[hb] in ctx.lex.bare_places:
                continue  # "in bed" → "in large bed": the phrase is fixed
            if entity_class(p, hb, ctx.lex) == "person":
                continue  # "a white man", "another large lady", "a young woman holding a child"
            scores = [_move_score(p, ctx, k, hb) for k in words]
            if None not in scores and any(_contradicted(p, ctx, k, hb) for k in words):
                pool.append(((s, e, j), min(scores), False))
    if not pool:
        return None
    (s, e, j), score, _ = rng.weighted(pool, [math.exp(sc) for _, sc, _ in pool])
    # The article before either edit follows the new first word ("an old car" → "a car").
    removed = (s, e + 1, moved_word(p, e, s))
    phrase = " ".join([moved_word(p, s, j), *p.words[s + 1 : e]])
    return [removed, (j, j + 1, phrase + " " + _lowered_first(p, j))], score


_JOINERS = frozenset({"and", "&"})
# Kinds whose words trade places: a state or a word of no kind ("empty", "modern", "old")
# reads as a claim no one can check or a contradiction ("sitting in an empty chair").
_SWAP_KINDS = PHYSICAL | {"size"}
# A noun whose colour is this share of what the corpus says of its colours has one colour
# ("a red stop sign", "yellow bananas"): another reads as odd, not as a false scene.
FIXED_COLOUR = 0.75
FIXED_SEEN = 5


def _stated(ctx: RuleContext, word: str, noun: str) -> bool:
    """Whether another caption of the image says `word`, or a synonym of it, of `noun`."""
    at = ctx.lex.attributes.get(word)
    group = at.group if at is not None else None
    for w, n in ctx.siblings.amod:
        other = ctx.lex.attributes.get(w)
        if n == noun and (w == word or (other is not None and other.group == group)):
            return True
    return False


def _colour_fits(ctx: RuleContext, word: str, noun: str) -> bool:
    """Whether colour `word` may describe `noun`: not a noun of one fixed colour other than
    it; True for a word of another kind."""
    lex, stats = ctx.lex, ctx.stats
    at = lex.attributes.get(word)
    if at is None or at.kind != "colour":
        return True
    slot = stats.index["amod|n"].get((noun,)) or {}
    colours = {w: c for w, c in slot.items() if (o := lex.attributes.get(w)) and o.kind == "colour"}
    seen = sum(colours.values())
    if seen < FIXED_SEEN:
        return True
    top = max(colours, key=colours.get)
    return colours[top] < FIXED_COLOUR * seen or lex.attributes[top].group == at.group


def _swap_words_ok(p: Parse, ctx: RuleContext, x: tuple, y: tuple, nouns: tuple) -> bool:
    """Whether the words of modifiers x and y (token, noun token, Attribute or None) fit each
    other's noun: words of a kind with a scale, each alone (not "neon green": "neon black"),
    none next to a word of its own kind ("large brown elephants" ↛ "large small elephants"),
    a colour only of a noun whose colour varies and, for a ground, an animal or a food, one
    it is seen with ("blue bananas", "a green chicken", "a blue mountain")."""
    lex, stats = ctx.lex, ctx.stats
    for (a, _, at), (b, hb, _), n in ((x, y, nouns[1]), (y, x, nouns[0])):
        if at is None or at.kind not in _SWAP_KINDS:
            return False
        if any(not (_degree(p, k) or p.deps[k] in ("cc", "conj")) for k in p.children(a)):
            return False
        joined = {b, *p.children(b), p.heads[b] if p.deps[b] == "conj" else b}
        if any(
            k not in joined and _kind(lex, p.lows[k]) == at.kind for k in _noun_modifiers(p, hb)
        ):
            return False
        if at.kind != "colour":
            continue
        if not _colour_fits(ctx, p.lows[a], n):
            return False
        if frozen_tokens(p, lex)[hb] and _kind_count(stats, lex, n, "colour") < FIXED_SEEN:
            return False  # a packaged compound the corpus hardly colours: "a blue stop sign"
        if _is_room(p, hb, lex):
            return False  # "a white bathroom": its walls may well be white
        natural = _natural_colour(p, hb, lex) or p.lows[hb] in lex.grounds
        seen, total = stats.count("amod|n", (n,), p.lows[a]), stats.total("amod|n", (n,))
        if (natural or p.lows[hb] in lex.surfaces) and seen < max(
            OBSERVED_MIN, NATURAL_SHARE * total
        ):
            return False
    return True


def _noun_modifiers(p: Parse, h: int) -> list[int]:
    """Tokens that modify noun h before it (its amod and compound children, their conjuncts)."""
    out = [k for k in p.children(h) if k < h and p.deps[k] in ("amod", "compound", "nmod")]
    return out + [j for k in out for j in p.children(k) if p.deps[j] == "conj"]


def _contradicted(p: Parse, ctx: RuleContext, a: int, hb: int) -> bool:
    """Whether another caption of the image gives noun hb a word that excludes modifier a
    (a colour of another group, the other pole of a size: "a gray cat" against "a black
    cat"). A moved word no caption contradicts may well be true ("a small bed", "an old
    bench", "a white sink" in a white bathroom): the independent reading found nine in ten
    such moves bad. Words of no scale ("old", "fancy") exclude nothing, so they never move."""
    at = ctx.lex.attributes.get(p.lows[a])
    if at is None:
        return False
    nb = noun_key(p, hb, ctx.lex)
    return any(n == nb and w in at.replacements for w, n in ctx.siblings.amod)


def _insertion(j: int, mods: list[tuple[int, int]], rank: int) -> int | None:
    """Where a word of `_ORDER` rank `rank` goes among a noun's modifiers (token, rank) that
    start at token j: after those of earlier kinds, before later ones ("a large white
    couch", "a small blue plane"); None where the noun has one of its kind ("white" again)
    or the word has no place in the order (an age, a state) and the noun is described."""
    ranks = [r for _, r in mods]
    if rank in ranks or (mods and rank == len(_ORDER)):
        return None
    later = [k for k, r in mods if r > rank]
    if later:
        return min(later)
    return max(k for k, _ in mods) + 1 if mods else j


def _movable(p: Parse, ctx: RuleContext, a: int, ha: int) -> tuple[int, int] | None:
    """(first, end) tokens of the modifier phrase of word a that can leave its noun ha
    whole: a lone word, with its degree or shade ("very small", "dark blue"), or two colours
    joined by "and", directly before its noun or its compound, of a thing (not "a large
    group", "a large amount"); None where there is none."""
    lex = ctx.lex
    if p.lows[ha] in lex.undescribed or p.lows[ha] in lex.collectives:
        return None
    if _kind(lex, p.lows[a]) == "colour" and entity_class(p, ha, lex) == "person":
        return None  # "a black man": a person's colour is no attribute to move
    kids = p.children(a)
    s = a - 1 if kids and kids[0] == a - 1 and _degree(p, a - 1) else a
    kids = [k for k in kids if k != s or s == a]
    if s > 0 and p.lows[s - 1] in ("and", "&", ","):
        return None
    if s > 0 and p.tags[s - 1] == "IN" and p.lows[s - 1] != "of" and p.tags[ha] == "NN":
        return None  # "in wooden room" → "in room": a bare singular noun is left
    if a + 1 < len(p) and p.lows[a + 1] in _COLOR_WORDS:
        return None  # "grey color cat" → "color cat"
    if not kids and p.deps[a] != "conj":
        e = a + 1
    elif s == a and _colour_pair(p, lex, a, kids):
        e = a + 3
    else:
        return None
    between = range(e, ha)
    ok = all(p.deps[k] in ("compound", "amod", "nmod") and p.heads[k] <= ha for k in between)
    return (s, e) if ok and e < len(p) else None


_COLOR_WORDS = frozenset("color colour colored coloured".split())
# Words that grade a modifier and go with it: "very small", "dark blue".
_DEGREES = frozenset("very really extremely super dark light bright pale deep".split())


def _degree(p: Parse, k: int) -> bool:
    return (
        p.lows[k] in _DEGREES and not p.children(k) and p.deps[k] in ("advmod", "amod", "npadvmod")
    )


def _colour_pair(p: Parse, lex: Lexicon, a: int, kids: list[int]) -> bool:
    """Whether a starts "red and white": two colours, the second with nothing of its own."""
    return (
        a + 2 < len(p)
        and kids == [a + 1, a + 2]
        and p.lows[a + 1] in _JOINERS
        and p.deps[a + 2] == "conj"
        and not p.children(a + 2)
        and _kind(lex, p.lows[a]) == "colour"
        and _kind(lex, p.lows[a + 2]) == "colour"
    )


# The order of English adjectives by kind: a moved word goes before the words of later kinds
# a noun has ("a large white couch", "a round wooden table").
_ORDER = {"size": 0, "shape": 1, "colour": 2, "material": 3}


def _bare_nouns(p: Parse, ctx: RuleContext) -> list[tuple[int, int, list]]:
    """(noun, first token of its pre-modifiers, its lexicon modifiers as (token, `_ORDER`
    rank)) of each noun without a modifier or with lone lexicon modifiers of ordered kinds:
    a moved word goes before its compound ("two red tennis balls"), never inside one."""
    lex, frozen = ctx.lex, frozen_tokens(p, ctx.lex)
    out = []
    for h, tag in enumerate(p.tags):
        if tag not in NOUN_TAGS or p.deps[h] in ("compound", "nmod"):
            continue
        if p.lows[h] in lex.collectives or p.lows[h] in lex.undescribed:
            continue
        if _of_thing(p, h, lex) and supercategory_of(p, h, lex) is None:
            continue  # "a game of tennis", "a pool of water": the head noun is what is described
        # Only nouns before it ("tennis balls"); a quantifier stays first ("several large boats").
        span = _pre_modifiers(p, lex, h)
        if span is None:
            continue
        j, mods = span
        # Before a compound or an idiom, never inside one: "a blue teddy bear", not "a hot
        # red dog" or "in the red air".
        if (j > 0 and frozen[j - 1] and frozen[j]) or (
            h + 1 < len(p) and p.lows[h + 1] in ("'s", "'")
        ):
            continue
        out.append((h, j, mods))
    return out


def _pre_modifiers(p: Parse, lex: Lexicon, h: int) -> tuple[int, list] | None:
    """(first token, [(token, `_ORDER` rank)] of its lexicon modifiers) of what stands
    before noun h: its compound nouns, then lone lexicon modifiers of an ordered kind; None
    where something else describes it (another adjective, "red and yellow", a misparsed
    compound)."""
    j = h
    while j > 0 and p.deps[j - 1] in ("compound", "nmod") and j - 1 < p.heads[j - 1] <= h:
        j -= 1
    # A material noun of the compound is a modifier ("a stone building"); any other word
    # of the lexicon describes it already, and "-ing" is a misparse ("a lady cutting pizza").
    ranks = [_ORDER.get(_kind(lex, w), -1) for w in p.lows[j:h]]
    if any(w in lex.swappable and r < 0 or w.endswith("ing") for w, r in zip(p.lows[j:h], ranks)):
        return None
    mods = [(j + k, r) for k, r in enumerate(ranks) if r >= 0]
    while j > 0 and p.heads[j - 1] == h and _ORDER.get(_kind(lex, p.lows[j - 1])) is not None:
        if _coordinated(p, j - 1) or p.children(j - 1):
            break  # "red and yellow umbrella", "dark blue car": the phrase stays
        j -= 1
        mods.insert(0, (j, _ORDER[_kind(lex, p.lows[j])]))
    if j > 0 and (p.deps[j - 1] in ("amod", "conj") or p.tags[j - 1] in _DESCRIBED | {","}):
        return None  # described already ("red and yellow umbrella"), or a split compound
    if j > 0 and j <= p.heads[j - 1] < h and p.deps[j - 1] not in ("det", "poss"):
        return None  # "a one way sign": the word before belongs to the compound
    return j, mods


def _kind(lex: Lexicon, word: str) -> str | None:
    at = lex.attributes.get(word)
    return at.kind if at is not None else None


def _of_thing(p: Parse, h: int, lex: Lexicon) -> bool:
    """Whether noun h is the "of" complement of a noun that is not a part or a side of it."""
    if p.deps[h] != "pobj" or p.lows[p.heads[h]] != "of":
        return False
    head = p.heads[p.heads[h]]
    return p.tags[head] in NOUN_TAGS and p.lows[head] not in lex.undescribed


def _of_phrase(p: Parse, x: int, y: int) -> bool:
    """Whether one noun is the "of" complement of the other ("a slice of red pizza")."""
    return any(p.lows[p.heads[m]] == "of" and p.heads[p.heads[m]] == n for m, n in ((x, y), (y, x)))


def _move_score(p: Parse, ctx: RuleContext, a: int, hb: int) -> float | None:
    """Plausibility of modifier a on noun hb, None where the corpus speaks against it, a
    sibling caption states it, or nothing shows that the noun takes such a word."""
    lex, stats = ctx.lex, ctx.stats
    la, nb = p.lows[a], noun_key(p, hb, lex)
    if _stated(ctx, la, nb) or not _colour_fits(ctx, la, nb):
        return None
    score = stats.score([("amod|n", (nb,))], la)
    if score is None:
        return None
    at = lex.attributes.get(la)
    seen, total = stats.count("amod|n", (nb,), la), stats.total("amod|n", (nb,))
    ground = p.lows[hb] in lex.surfaces or p.lows[hb] in lex.grounds
    if ground and (at is None or at.kind != "size"):
        return None  # "the green field", "the blue sky", "a snowy slope": hardly false
    if at is not None and at.kind == "colour":
        if _is_room(p, hb, lex):
            return None  # "a white bathroom": its walls may well be white
        if _natural_colour(p, hb, lex):
            # An animal or a food has its own colours: once or twice is a parse error
            # ("a blue dog", "purple rice").
            return score if seen >= max(OBSERVED_MIN, NATURAL_SHARE * total) else None
    if seen >= OBSERVED_MIN and total >= NOUN_DESCRIBED:
        return score
    # A size is physical too where a thing moves to a thing ("a large ball next to a glass"
    # → "a ball next to a large glass"), not to what it holds ("a small vase with water").
    # Only big or small, and not of an animal: "a tall cow", "a long elephant" are odd.
    sized = la in _BIG_SMALL and supercategory_of(p, hb, lex) not in _NO_SIZE
    if at is None or (at.kind not in PHYSICAL and not sized) or not _is_object(p, hb, lex):
        return None
    if _kind_count(stats, lex, nb, at.kind) >= KIND_SEEN:
        return score
    # A noun the corpus hardly describes takes what its class takes (a rare vehicle a colour).
    # Not a packaged compound ("a stop sign" is red) nor a game played ("playing baseball").
    sc = supercategory_of(p, hb, lex)
    if total >= NOUN_DESCRIBED or sc in NATURAL_COLOURS or frozen_tokens(p, lex)[hb]:
        return None
    if p.deps[hb] == "dobj" and verb_key(p, p.heads[hb], lex) == "play":
        return None
    return score if _class_share(stats, lex, sc, at.kind) >= CLASS_SHARE else None


_CLASS_SHARES: dict[tuple[str, str, str], float] = {}


def _class_share(stats: CorpusStats, lex: Lexicon, sc: str, kind: str) -> float:
    """Share of words of `kind` among what the corpus says of the nouns of supercategory sc."""
    key = (stats.sha256, sc, kind)
    if key not in _CLASS_SHARES:
        heads = lex.kind_words.get(sc, ())
        total = sum(stats.total("amod|n", (h,)) for h in heads)
        seen = sum(_kind_count(stats, lex, h, kind) for h in heads)
        _CLASS_SHARES[key] = seen / total if total else 0.0
    return _CLASS_SHARES[key]


_NO_SIZE = frozenset({"food_mass", "room", "animal"})
# Plants have their own colours too ("grey tulips"); the object lexicon has no plants.
_PLANTS = frozenset(
    "flower flowers tulip tulips rose roses daisy daisies lily lilies tree trees plant plants"
    " leaf leaves bush bushes shrub shrubs".split()
)


def _natural_colour(p: Parse, h: int, lex: Lexicon) -> bool:
    """Whether noun h has colours of its own (an animal, a food, a plant)."""
    return p.lows[h] in _PLANTS or supercategory_of(p, h, lex) in NATURAL_COLOURS


_BIG_SMALL = frozenset("big large huge giant small little tiny".split())


def _is_room(p: Parse, h: int, lex: Lexicon) -> bool:
    return supercategory_of(p, h, lex) == "room" or p.lows[h] in ("room", "rooms")


def _lowered_first(p: Parse, j: int) -> str:
    """Token j's word, lowercased if it started the caption and no longer does."""
    word = p.words[j]
    first = next((k for k, w in enumerate(p.words) if w.strip()), 0)
    if j == first and word[:1].isupper() and not word[:2].isupper():
        return word[0].lower() + word[1:]
    return word


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
    return supercategory_of(p, h, lex) is not None and p.lows[h] not in lex.collectives


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


def _with_state(p: Parse, i: int, kind: str) -> int | None:
    """The noun of "with its mouth open", "with the stall door open": a state after its noun
    in a with-phrase, which the parser reads in many ways (a root, an adverb); else None."""
    if kind != "state" or i < 2 or p.tags[i - 1] not in NOUN_TAGS:
        return None
    j = i - 2
    while j > 0 and (p.tags[j] in NOUN_TAGS or p.deps[j] in ("det", "poss")) and i - j < 5:
        j -= 1
    return i - 1 if p.lows[j] == "with" else None


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


# Words that make a count two: "one … the other", "both", "halves", "opposite directions".
_TWO_WORDS = frozenset({("both",), ("halves",), ("the", "other"), ("opposite", "directions")})
_TWO_WORDS |= {("opposite", "sides"), ("opposite", "side"), ("opposite", "ends")}


def _count_value(p: Parse, k: int, lex: Lexicon) -> int:
    low = p.lows[k]
    return lex.numbers.get(low) or (int(low) if low.isdecimal() and len(low) < 3 else 0)


_CHOICES = frozenset("choose chooses choosing decide decides deciding pick picking choice".split())


def _count_fixed(p: Parse, i: int, value: int, lex: Lexicon) -> bool:
    """Whether the rest of the caption fixes count i: the same count given again ("two
    people on two horses" ↛ "on five horses", "two sandwiches on three separate plates"), or
    a two its words enumerate ("one … the other", "one grown and one baby") or "between"
    needs ("between two parked cars" ↛ "between four")."""
    again = any(
        k != i
        and p.deps[k] == "nummod"
        and _count_value(p, k, lex) == value
        and not _joined(p, p.heads[i], p.heads[k])
        for k in range(len(p))
    )
    grams = {tuple(p.lows[k : k + n]) for n in (1, 2) for k in range(len(p))}
    two = value == 2 and (not _TWO_WORDS.isdisjoint(grams) or p.lows.count("one") >= 2)
    h = p.heads[i]  # "between two parked cars": one stands between two things
    b = p.heads[h]
    between = value == 2 and p.deps[h] == "pobj" and p.lows[b] == "between"
    between = between and p.lows[p.heads[b]] not in _CHOICES  # "choosing between five cakes"
    return again or two or between


def _joined(p: Parse, a: int, b: int) -> bool:
    """Whether nouns a and b are joined by "and" ("two women and two girls": two counts)."""
    return (p.deps[a] == "conj" and p.heads[a] == b) or (p.deps[b] == "conj" and p.heads[b] == a)


def _number_slot(p: Parse, i: int, ctx: RuleContext):
    """Candidates for a count ("two dogs" → "three dogs"): nearby values first, as a count
    a caption would plausibly give; no corpus feature applies (score 0)."""
    lex = ctx.lex
    value = _count_value(p, i, lex)
    h = p.heads[i]
    # A lexicon noun tagged singular after a count is a typo or an invariant plural ("two
    # giraffe", "two sheep"): another count keeps it as it is.
    counted = p.tags[h] == "NNS" or (
        p.tags[h] == "NN"
        and (p.lows[h],) in lex.nouns
        and h == i + 1
        and p.lows[i] in lex.numbers  # "the #41 bus" is no count
    )
    if value < 2 or p.deps[i] != "nummod" or not counted or h < i:
        return None
    if _count_fixed(p, i, value, lex):
        return None
    # A count another caption gives the thing, or people any people, is no false one
    # ("hauling two extra trailers" ↛ "three" where another says "a chain of three trailers").
    said = ctx.siblings.counts
    keys = {noun_key(p, h, lex)} | ({"person"} if entity_class(p, h, lex) == "person" else set())
    cands = [
        (_number_word(v, p.words[i], lex), -abs(v - value) / 2.0, False)
        for v in lex.number_choices
        if v != value
        and not p.has(_number_word(v, "x", lex))
        and not any((v, k) in said for k in keys)
    ]
    return cands or None


# Colours a caption may give one thing ("a pink flower" is often "red", an orange boat "red",
# beige linen "brown"): one for the other is hardly false.
_NEAR_COLOURS = frozenset(
    frozenset(pair)
    for pair in (
        ("pink", "red"),
        ("orange", "red"),
        ("brown", "beige"),
        ("brown", "tan"),
        ("gold", "yellow"),
        ("golden", "yellow"),
        ("silver", "gray"),
        ("silver", "grey"),
        ("purple", "pink"),
        ("violet", "pink"),
    )
)
# Sizes that read as an oddity, not a scene ("a miniature billboard", "a massive boy").
_ODD_SIZES = frozenset("miniature oversized massive enormous".split())
_PERSON_SIZES = frozenset("big large small little tall short".split())


# Nouns of a grown-up of no stated age (group heads): "a young man" → "an old man", not
# "an elderly boy"; a sex goes only on a person noun of no sex of its own ("a male skier").
_GROWN_UPS = frozenset({"man", "woman", "person", "couple", "adult", "lady", "people"})
_SPANS = frozenset("year years month months week weeks day days".split())


def _sporting(p: Parse, lex: Lexicon) -> bool:
    """Whether the caption names a sport's gear or does it ("a skateboard", "skateboarding")."""
    for j, low in enumerate(p.lows):
        if supercategory_of(p, j, lex) == "sports":
            return True
        n = lex.nouns.get((low[:-3],)) if low.endswith("ing") else None
        if n is not None and n.supercategory == "sports":
            return True
    return False


def _said_of_anyone(ctx: RuleContext, r: str) -> bool:
    """Whether another caption gives anything word r or one of its group ("an old woman")."""
    group = ctx.lex.attributes[r].group
    return any(
        (a := ctx.lex.attributes.get(w)) is not None and a.group == group
        for w, _ in ctx.siblings.amod
    )


def _sex_fits(p: Parse, ctx: RuleContext, i: int, r: str, noun: int | None) -> bool:
    """Whether sex word r may replace token i of a person noun of no sex of its own ("a male
    skier" → "a female skier"): the caption's other words keep the old sex ("his board"),
    and no other caption names a person of the new one ("a woman")."""
    lex = ctx.lex
    if noun is None or entity_class(p, noun, lex) != "person" or _said_of_anyone(ctx, r):
        return False
    new, old = (lex.female, lex.male) if r == "female" else (lex.male, lex.female)
    rest = p.lows[:i] + p.lows[i + 1 :]
    return (
        p.lows[noun] not in new | old
        and old.isdisjoint(rest)
        and ctx.siblings.nouns.isdisjoint(new)
    )


def _age_fits(p: Parse, ctx: RuleContext, i: int, r: str, noun: int | None) -> bool:
    """Whether age word r may replace token i: only of a grown-up of no stated age ("a young
    man" → "an elderly man", not "an elderly boy", "a young building"), not on a skateboard
    (an oddity, not a scene), never in a span ("a 30 year old man") nor where another
    caption says it of anyone."""
    lex = ctx.lex
    if noun is None or (i > 0 and p.lows[i - 1] in _SPANS) or _said_of_anyone(ctx, r):
        return False
    grown = entity_class(p, noun, lex) == "person" and noun_key(p, noun, lex) in _GROWN_UPS
    return grown and not _sporting(p, lex)


def _replacement_fits(p: Parse, ctx: RuleContext, old: tuple, r: str, noun: int | None) -> bool:
    """Whether word r may replace attribute `old` (token, Attribute) of noun token `noun`:
    not a near colour, not an odd size (of a person only a plain one; `_size_fits`), a
    colour the caption's words do not imply (`_colour_implied`), an age or a sex where it
    fits (`_age_fits`, `_sex_fits`)."""
    i, attr = old
    if frozenset((p.lows[i], r)) in _NEAR_COLOURS or r in _ODD_SIZES:
        return False
    if r == "new":
        return True  # a made thing's age (`_old_thing`)
    if r == _TEENAGE:
        return noun is not None and _teen_fits(p, ctx, noun)
    if attr.kind in ("age", "sex"):
        fits = _age_fits if attr.kind == "age" else _sex_fits
        return fits(p, ctx, i, r, noun)
    if attr.kind in ("colour", "material") and noun is not None:
        key, sc = noun_key(p, noun, ctx.lex), supercategory_of(p, noun, ctx.lex)
        if not _suits(ctx, attr.kind, r, key, sc) or _clear_beside(p, i):
            return False
    if attr.kind == "colour":
        near = [k for k in (*p.children(i), max(i - 1, 0)) if k != i]
        graded = any(
            p.lows[k] in _INTENSIFIERS or r not in _SHADES.get(p.lows[k], {r}) for k in near
        )
        return not graded and not _colour_implied(p, i, r)
    if attr.kind == "state":
        return _state_fits(p, ctx, i, r, noun)
    if attr.kind == "size" and noun is not None:
        if entity_class(p, noun, ctx.lex) == "person":
            return r in _PERSON_SIZES
        return _size_fits(p, ctx, i, r, noun)
    return True


# A shade goes with some colours only: "dark green" → "dark blue", not "dark yellow";
# "light blue" ↛ "light red"; "bright pink" → "bright yellow".
_SHADES = {
    "dark": frozenset("blue green brown gray grey red purple".split()),
    "light": frozenset("blue green brown gray grey pink purple".split()),
    "pale": frozenset("blue green pink yellow".split()),
    "deep": frozenset("blue red purple green".split()),
    "bright": frozenset("red yellow orange green blue pink white purple".split()),
}
# A noun the corpus gives colours this often has colours of its own: a new colour needs this
# share of them ("green bananas" ↛ "blue bananas", "a red stop light" ↛ "a black one").
COLOUR_SUITS = 0.05


def _said_of(ctx: RuleContext, kind: str, group: int, noun: str) -> tuple[int, int]:
    """(words of `kind` the corpus says of noun, those of them in `group`)."""

    def by_group() -> tuple:
        groups: dict = {}
        for w, c in (ctx.stats.index["amod|n"].get((noun,)) or {}).items():
            if (a := ctx.lex.attributes.get(w)) and a.kind == kind:
                groups[a.group] = groups.get(a.group, 0) + c
        # The entry holds the lexicon, so its id stays its own while the entry lives.
        return ctx.lex, sum(groups.values()), groups

    _, seen, groups = ctx.stats.memo(("said_of", id(ctx.lex), kind, noun), by_group)
    return seen, groups.get(group, 0)


def _suits(ctx: RuleContext, kind: str, r: str, noun: str, sc: str | None) -> bool:
    """Whether colour or material r suits noun (of supercategory sc or None): a material
    the corpus has said of it ("a steel track" ↛ "a glass track"), or of a noun it says
    few materials of, one it says of its lexicon class twice ("a wooden platter" → "a
    metal one", "a plastic spoon" ↛ "a brick one"); a colour of at least `COLOUR_SUITS` of
    those it says of a noun it colours `FIXED_SEEN` times ("green bananas" ↛ "blue bananas")."""
    group = ctx.lex.attributes[r].group
    seen, new = _said_of(ctx, kind, group, noun)
    if kind == "colour":
        return seen < FIXED_SEEN or new >= COLOUR_SUITS * seen
    if new or seen >= FIXED_SEEN:
        return new > 0
    if sc is None:  # no class to ask: a thing made of some material takes another
        return seen > 0  # "a glass door" → "a wooden door"; "a metal alcove" is odd
    heads = ctx.lex.kind_words.get(sc, ())
    return sum(_said_of(ctx, kind, group, h)[1] for h in heads) >= 2


def _clear_beside(p: Parse, i: int) -> bool:
    """Whether "clear" describes what word i does: of a clear sky or vase the colour and
    the material are fixed ("a clear, glass vase" ↛ "a clear, wooden vase", "clear blue sky"
    ↛ "clear gray sky")."""
    h = p.heads[i]
    return any(
        p.lows[k] == "clear" and k != i for k in (*p.children(h), *p.children(i), i - 1, i - 2)
    )


# Places an "empty" or "open" describes as spacious or without people, not as a state that
# toggles: "an open field", "an empty train station" ("a closed field", "a full station").
_PLACES = frozenset(
    "station stations area areas city town airport terminal plain plains plane lot lots market"
    " space plaza square mall stadium platform parking countryside country range park parks"
    " highway intersection room rooms hallway office".split()
)
# Furniture is empty or taken, never "full" ("a full bed", "a full bench").
_SEATS = frozenset("bed beds chair chairs bench benches couch couches sofa seat seats".split())
_COPULAS = frozenset("is are was were be been being 's look looks looked seem seems".split())
_TOGGLES = frozenset({"open", "closed", "empty", "full"})
_FILLED = frozenset({"empty", "full"})
_PREDICATIVE = frozenset({"asleep", "awake"})
# Weather of a day or a sky, not of a thing ("a stormy cloud" ↛ "a sunny cloud").
_WEATHER = frozenset({"rainy", "foggy", "stormy"})
_WEATHER_NOUNS = frozenset("day days afternoon morning evening weather sky skies".split())


def _weather_fits(p: Parse, r: str, noun: int | None) -> bool:
    """Whether weather word r may replace one of token `noun`: of a day or a sky, and not a
    sunny day where umbrellas stand for the rain ("people with umbrellas on a rainy day")."""
    if noun is None or p.lows[noun] not in _WEATHER_NOUNS:
        return False
    return not (r == "sunny" and any(w.startswith("umbrella") for w in p.lows))


_MODERN = frozenset({"modern"})
_AGED_WORDS = frozenset("old older ancient historic aged".split())


def _is_picture(p: Parse, h: int | None, lex: Lexicon) -> bool:
    return h is not None and (p.lows[h] in _PICTURES or p.lows[h] in lex.undescribed)


def _is_place(p: Parse, h: int, lex: Lexicon) -> bool:
    low = p.lows[h]
    sc = supercategory_of(p, h, lex)
    return sc in ("place", "room") or low in lex.surfaces or low in lex.grounds or low in _PLACES


# The words before a bare "on" that say a device is switched on ("open and on", "turned on").
_ON_AFTER = frozenset("and is are turned switched".split())
_ON_BEFORE = frozenset({"", "and", ",", ".", "with", "while"})


def _switched_on(p: Parse) -> bool:
    """Whether the caption says something is on as a state ("a laptop is open and on"): a
    closed one is then a contradiction, not a scene ("closed and on")."""
    return any(
        low == "on"
        and k > 0
        and p.lows[k - 1] in _ON_AFTER
        and (k + 1 == len(p) or p.lows[k + 1] in _ON_BEFORE)
        for k, low in enumerate(p.lows)
    )


_CROWD = frozenset("people crowd crowds pedestrians traffic".split())


def _trafficked(p: Parse, lex: Lexicon) -> bool:
    """Whether the caption names traffic on its place: two vehicles or more (a plural counts
    as two) or people in the plural ("a busy street with a van and a car driving" ↛ "a
    deserted street with …"; "an officer riding his motorcycle in a deserted street" stays)."""
    vehicles = 0
    for k, low in enumerate(p.lows):
        if low in _CROWD:
            return True
        if p.tags[k] in NOUN_TAGS and supercategory_of(p, k, lex) == "vehicle":
            vehicles += 2 if p.tags[k] == "NNS" else 1
    return vehicles >= 2


def _state_fits(p: Parse, ctx: RuleContext, i: int, r: str, noun: int | None) -> bool:
    """Whether state word r may replace token i: open ↔ closed and empty ↔ full only of a
    thing that opens or holds ("a closed laptop", "a full bowl"), never of a place that is
    open or empty as a wide space ("a closed field", "a full train station": an empty place
    becomes a crowded one, `_replacements`) nor of a seat ("a full bed"); no empty or full
    as the complement of a verb that is no copula ("chairs sit empty" ↛ "sit full"), and
    asleep ↔ awake only after one ("fallen awake"); no modern where old things are."""
    low = p.lows[i]
    copula = p.deps[i] in ("acomp", "oprd") and p.lows[p.heads[i]] in _COPULAS
    if low in _PREDICATIVE or r in _PREDICATIVE:
        return copula  # "is asleep" → "is awake", not "fallen awake"
    if (low in _WEATHER or r in _WEATHER) and not _weather_fits(p, r, noun):
        return False
    if r in _MODERN and (_AGED_WORDS & set(p.lows) or _is_picture(p, noun, ctx.lex)):
        return False  # "a very old antique clock" ↛ "a very old modern clock"
    if (r == "deserted" and _trafficked(p, ctx.lex)) or (r == "closed" and _switched_on(p)):
        return False
    if low not in _TOGGLES and r not in _TOGGLES:
        return True
    if not copula and p.deps[i] in ("acomp", "oprd") and {low, r} & _FILLED:
        return False  # "left open" → "left closed" reads well
    if noun is None:
        return True
    if p.lows[noun] in _SEATS:
        return False
    return not (_is_place(p, noun, ctx.lex) and r in ("full", "closed", "open"))


# An empty place is one without people: its opposite is a crowded one.
_PEOPLED = ("crowded", "busy")


def _replacements(p: Parse, ctx: RuleContext, i: int, attr, noun: int | None) -> tuple:
    """The words that may replace attribute `attr` at token i: its opposites, or for an
    empty place ("an empty street") a crowded or busy one."""
    if p.lows[i] == "empty" and noun is not None and _is_place(p, noun, ctx.lex):
        return _PEOPLED
    if p.lows[i] == "old" and noun is not None and _old_thing(p, i, noun, ctx.lex):
        return ("new",)
    child = p.lows[i] in _CHILD_WORDS and not p.children(i)  # "very young" ↛ "very teenage"
    if child and noun == i + 1 and p.lows[noun] in _CHILDREN:
        return (_TEENAGE,)
    return attr.replacements


# A little or young boy or girl is a child: a teenage one is the clear opposite of that age
# ("a young boy flying a kite" → "a teenage boy flying a kite"; "an elderly boy" is none).
_CHILD_WORDS = frozenset({"young", "little", "small"})
_CHILDREN = frozenset("boy boys girl girls kid kids".split())
_TEENAGE = "teenage"
# What puts a small child in the scene, or says another caption's person is grown.
_TODDLER = frozenset(
    "crib pacifier stroller diaper bib cart lap arms potty toddler toddlers infant playpen"
    " highchair baby sippy toy toys child children teddy stuffed".split()
)
_GROWN = frozenset("man men woman women guy guys lady teen teens teenager teenagers adult".split())
_HELD = frozenset(
    "hold holds holding held carry carries carrying carried push pushing feeding".split()
)


def _teen_fits(p: Parse, ctx: RuleContext, noun: int) -> bool:
    """Whether the child at token `noun` may be a teenage one: not in a small child's scene
    ("in a high chair", "on his lap"), not held or carried, and no other caption calls a
    person of the image grown or teenage ("a young man", "a teenager")."""
    if not _TODDLER.isdisjoint(p.lows) or ("high", "chair") in zip(p.lows, p.lows[1:]):
        return False
    if p.deps[noun] in ("dobj", "pobj") and p.lows[p.heads[noun]] in _HELD:
        return False
    return _GROWN.isdisjoint(ctx.siblings.nouns) and not any(
        w in (_TEENAGE, "teen", "older") for w, _ in ctx.siblings.amod
    )


# Made things whose age is plain to see: "an old truck" → "a new truck", "an old building".
_MADE = frozenset({"vehicle", "electronic", "appliance", "furniture", "indoor", "outdoor"})
_BUILDINGS = frozenset(
    "house houses building buildings church churches tower towers barn barns bridge bridges"
    " shed cabin structure structures sign signs appliances equipment luggage".split()
)
# Words of age, and places that keep things for their age ("old planes in a museum").
_OLD_KINDS = frozenset(
    "antique antiques vintage ancient historic rusty rusted retro classic used victorian"
    " museum museums".split()
)
# "old fashion", "old school", "old style", "old time": idioms, not a thing's age.
_OLD_IDIOMS = frozenset("fashion fashioned school style styled time timey world".split())


def _old_thing(p: Parse, i: int, noun: int, lex: Lexicon) -> bool:
    """Whether the "old" at token i is the age of a made thing (a vehicle, a building, a
    piece of furniture: "an old truck"), not of a person, an animal, a place or a picture,
    nor part of a span ("a 100 year old building") or an idiom ("old fashion")."""
    if (i > 0 and p.lows[i - 1] in _SPANS) or (i + 1 < len(p) and p.lows[i + 1] in _OLD_IDIOMS):
        return False
    if p.children(i) or not _OLD_KINDS.isdisjoint(p.lows):
        return False  # "a very new truck", "an old antique clock" ↛ "a new antique clock"
    return supercategory_of(p, noun, lex) in _MADE or p.lows[noun] in _BUILDINGS


# Words that say a colour of their own: "a lush black valley", "a rusty hydrant is brown".
_IMPLIED_COLOURS = {"lush": "green", "leafy": "green", "grassy": "green", "snowy": "white"}
_IMPLIED_COLOURS |= {"rusty": "brown", "rusted": "brown"}
# "very white" ↛ "very silver": a plain colour is graded, another may not be.
_INTENSIFIERS = frozenset("very really extremely super so".split())


def _colour_implied(p: Parse, i: int, r: str) -> bool:
    """Whether a word shortly before colour i implies it or the new colour r ("a lush green
    valley" → "a lush black valley" contradicts itself, "a lush field of green grass"; "a
    rusty hydrant is red" may well look brown). A word after it describes something else
    ("a white jacket on a snowy hill")."""
    colours = (p.lows[i], r)
    h = p.heads[i]
    near = [*range(max(0, i - 4), i), h, *(k for k in range(len(p)) if p.heads[k] in (h, i))]
    return any(_IMPLIED_COLOURS.get(p.lows[k]) in colours for k in near if k != i)


# Things small or big by their kind: "a large kitten", "a very tiny semi truck" are oddities.
_SMALL_KINDS = frozenset(
    "kitten kittens puppy puppies cub cubs calf calves lamb lambs foal foals chick chicks"
    " duckling ducklings piglet piglets baby babies".split()
)
_BIG_KINDS = frozenset("semi semis airliner airliners jumbo skyscraper skyscrapers".split())


def _size_fits(p: Parse, ctx: RuleContext, i: int, r: str, noun: int) -> bool:
    """Whether size word r may replace token i of thing `noun`: not where another size word
    describes it ("a small long train", "small and wide street"), nor against a size the
    thing has by kind ("a large kitten", "a tiny semi truck")."""
    lex = ctx.lex
    if any(k != i and _kind(lex, p.lows[k]) == "size" for k in _noun_modifiers(p, noun)):
        return False
    words = {p.lows[noun], *(p.lows[k] for k in _noun_modifiers(p, noun))}
    if r in lex.attributes["big"].replacements:
        return words.isdisjoint(_BIG_KINDS)
    return not (r in lex.attributes["small"].replacements and words & _SMALL_KINDS)


_PAIR = (("black", "and", "white"), ("black", "&", "white"))


def _literal_pair(p: Parse, i: int, lex: Lexicon) -> bool:
    """Whether token i is the "black" of "black and white" said of a thing of the object
    lexicon ("a black and white cat" → "a brown and white cat"): the idiom is a picture's
    ("a black and white photo"), not an animal's or a bus's."""
    if tuple(p.lows[i : i + 3]) not in _PAIR:
        return False  # only "black" changes: "a black and red cat" is no cat
    noun = _attribute_noun(p, i)
    return noun is not None and noun > i + 2 and _is_object(p, noun, lex)


def _second_of_compound(p: Parse, i: int, ctx: RuleContext) -> bool:
    """Whether token i ends a compound with the word before it ("stainless steel")."""
    pair = (p.lows[i - 1], p.lows[i])
    if pair in ctx.lex.compounds:
        return True
    return pair in ctx.stats.compounds and p.lows[i - 1] not in ctx.lex.swappable


# A picture in black and white, said as the idiom ("a black and white photo", "in black and
# white"): its clear opposite is a colour one.
_PICTURES = frozenset(
    "photo photos photograph photographs picture pictures image images shot snapshot pic".split()
)
_COLOURED = frozenset("color colour colored coloured colorful colourful".split())


def _picture_slot(p: Parse, ctx: RuleContext, i: int):
    """(end token, candidates) where token i starts the "black and white" of a picture ("a
    black and white photo of a train" → "a color photo of a train", "in black and white" →
    "in color"), unless another caption says the picture is in colour; else None."""
    if tuple(p.lows[i : i + 3]) != _PAIR[0] or i + 3 > len(p):
        return None
    after = p.lows[i + 3] if i + 3 < len(p) else ""
    pictured = i > 0 and p.lows[i - 1] == "in" and after in _PLAIN
    if after not in _PICTURES and not (pictured and not _PICTURES.isdisjoint(p.lows)):
        return None  # "a man in black and white" is dressed so
    if any(w in _COLOURED for w, _ in ctx.siblings.amod) or _COLOURED & ctx.siblings.nouns:
        return None
    return i + 3, [(match_case(p.words[i], "color"), ctx.stats.prior("amod|n", "color"), False)]


# "in black and white stripes": the idiom of a picture only where a noun does not follow.
_PLAIN = frozenset({"", ".", ",", "!"})


def _word_candidates(p: Parse, ctx: RuleContext, i: int, attr) -> list:
    """Candidates (word, score, False) for attribute `attr` at token i, or [] where it has no
    place (`_attribute_ok`) or no replacement fits."""
    lex, stats = ctx.lex, ctx.stats
    held = _with_state(p, i, attr.kind)
    if held is None and not _attribute_ok(p, i, attr.kind, lex):
        return []
    if any(not _degree(p, k) and p.deps[k] == "advmod" for k in p.children(i)):
        return []  # "dimly lit" ↛ "dimly dark"
    noun = held if held is not None else _attribute_noun(p, i)
    n = noun_key(p, noun, lex) if noun is not None else None
    cands = []
    for r in _replacements(p, ctx, i, attr, noun):
        if p.has(r) or (n is not None and _stated(ctx, r, n)):
            continue
        if not _replacement_fits(p, ctx, (i, attr), r, noun):
            continue
        if n is not None:
            score = stats.score([("amod|n", (n,))], r)
        else:
            score = stats.prior("amod|n", r)
        if score is not None:
            cands.append((match_case(p.words[i], r), score, False))
    return cands


# An animal's age said as a noun before it: "a baby elephant" ↔ "an adult elephant".
_ANIMAL_AGES = {"baby": "adult", "adult": "baby"}
# Words that put an animal of the other age in the scene ("a baby elephant and its mother").
_OTHER_AGE = frozenset(
    "mother mom mama parent parents family adult adults baby babies calf calves cub cubs"
    " young herd".split()
)


def _animal_age_slot(p: Parse, ctx: RuleContext, i: int):
    """Candidates where token i is the "baby" or "adult" of an animal noun right after it
    ("a baby giraffe" → "an adult giraffe"), unless this caption or another one puts an
    animal of the other age in the scene (its mother, a herd, the animal in the plural)."""
    new = _ANIMAL_AGES.get(p.lows[i])
    if new is None or i + 1 >= len(p) or p.heads[i] != i + 1:
        return None
    if supercategory_of(p, i + 1, ctx.lex) != "animal" or p.tags[i + 1] != "NN":
        return None
    rest = p.lows[:i] + p.lows[i + 1 :]
    if new == "baby" and not _AGED_WORDS.isdisjoint(rest):
        return None  # "the old, adult elephant" ↛ "the old, baby elephant"
    sib = ctx.siblings
    n = noun_key(p, i + 1, ctx.lex)
    if not _OTHER_AGE.isdisjoint(rest) or not _OTHER_AGE.isdisjoint(sib.nouns) or n in sib.several:
        return None
    if any(w in ("young", "baby", "little", "small", "adult") and m == n for w, m in sib.amod):
        return None
    return [(match_case(p.words[i], new), ctx.stats.prior("amod|n", new), False)]


# Things that come in a pair by kind ("a pair of shoes", "of skis", "of scissors") are no
# count; people, animals, vehicles and furniture are.
_PAIRED_COUNTS = frozenset({"person", "animal", "vehicle", "furniture"})


def _pair_slot(p: Parse, ctx: RuleContext, i: int):
    """(end token, candidates) where token i starts "a pair of" people, animals, vehicles or
    furniture ("a pair of zebras stand together" → "three zebras stand together"): a count
    of two; not where a verb agrees with "a pair" in the singular ("a pair of zebras is")."""
    if tuple(p.lows[i : i + 3]) != ("a", "pair", "of") or i + 3 >= len(p):
        return None
    noun = i + 3
    while noun + 1 < len(p) and p.heads[noun] == noun + 1 and p.deps[noun] in ("compound", "amod"):
        noun += 1
    if p.tags[noun] != "NNS" or entity_class(p, noun, ctx.lex) not in _PAIRED_COUNTS:
        return None
    if "VBZ" in p.tags or p.has("three"):
        return None
    return i + 3, [(match_case(p.words[i], "three"), -0.5, False)]  # as "two" → "three"


def attribute(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex = ctx.lex
    frozen = frozen_tokens(p, lex)
    slots = []
    for i, low in enumerate(p.lows):
        picture = _picture_slot(p, ctx, i) or _pair_slot(p, ctx, i)
        if picture is not None:
            slots.append(((i, picture[0]), picture[1]))
            continue
        literal = frozen[i] and _literal_pair(p, i, lex)
        if not literal and (frozen[i] or (i + 1 < len(p) and is_compound(p, i, i + 1, ctx))):
            continue  # "hot dog", "black and white photo", "polar bear"
        if i > 0 and _second_of_compound(p, i, ctx):
            continue  # "stainless steel" ↛ "stainless wooden"
        attr = lex.attributes.get(low)
        if attr is not None:
            cands = _word_candidates(p, ctx, i, attr)
        else:
            cands = _number_slot(p, i, ctx) or _animal_age_slot(p, ctx, i)
        if cands:
            slots.append(((i, i + 1), cands))
    if not slots:
        return None
    (i, e), repl, score = pick(rng, slots)
    return [(i, e, repl)], score
