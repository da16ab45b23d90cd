"""The `object` and `object_swap` rules (DESIGN §4): replace a noun by one of its
supercategory that fits the rest of the scene, keeping compounds whole and pronouns in
agreement; swap two nouns that can take each other's role."""

from __future__ import annotations

import math

from ahnpl.pipeline.caption_parse import Choices, Parse, frozen_tokens, match_phrase, moved_word
from ahnpl.pipeline.corpus_stats import (
    OBSERVED_MIN,
    VETO_EXPECTED,
    caption_nouns,
    entity_class,
    head_key,
    noun_key,
    relation_key,
    relations_in,
    verb_key,
)
from ahnpl.pipeline.lexicon import Lexicon
from ahnpl.pipeline.rules.common import (
    NOUN_TAGS,
    OBJECT_KNOWN,
    RELATIVE,
    SCENE_RATIO,
    Result,
    RuleContext,
    agent_of,
    fits_known_contexts,
    is_compound,
    is_plural,
    pick,
    plural_phrase,
    subject_of,
    supercategory_of,
)
from ahnpl.pipeline.surface import match_case

# A noun the rest of the scene predicts SCENE_EXPECTED times among its kind but that was seen
# there under SCENE_RATIO of that ("a tennis racket … in a baseball game") does not fit it;
# the scene also weighs the choice among those that fit.
SCENE_EXPECTED = 1.5
# A place keeps the preposition that locates something in it: the new place must take it
# this often among its relations ("in a field" ↛ "in a beach", "on the street" → "on a beach").
PLACE = "place"
PLACE_RELATION_SHARE = 0.05
# What a relation's head holds or is near ("flowers in a vase", "a pair of scissors") is
# known from fewer sightings than a verb's object: the new noun must be one of them.
LOCATED_KNOWN = 6
# A noun described this often has shown which adjectives it takes ("tall" is no bear's).
ADJECTIVES_KNOWN = 10
# A verb or noun seen with this many places has shown where it happens ("grazing in" a field,
# "surfing on" the ocean): the new place must be one of them.
PLACE_KNOWN = 3
# The kinds whose scene is what they hold or stand among: each other noun of the caption must
# have been seen with the new one ("a grand piano in a bathroom", "a church over a river").
OBSERVED_SCENES = frozenset({"room", "indoor", PLACE})
# A hypernym of a supercategory's nouns ("a person" may be a man or a child) is never a
# replacement; only a noun of another supercategory replaces it, as SugarCrepe's replace_obj
# does ("Several people standing in the snow" → "Several birds …").
HYPERNYMS = {"person": "animal"}
# Of the animals only those that live among people replace them: no giraffes down a street.
HYPERNYM_SETTINGS = frozenset({None, "pet", "farm", "bird"})
# A child stays a child (and a grown-up a grown-up) where the caption says what only one of
# them has: "a child's toy", "a kiddie train", "waiting for his parents".
CHILD = "child"
CHILDHOOD = frozenset(
    "toy toys kiddie parent parents pacifier playground school crib stroller mom mother dad "
    "father daddy mommy league little-league adult adults".split()
)


# Words before a noun that say its kind was named before ("another dog", "other cows").
_SAME_AGAIN = frozenset({"another", "other"})
# Skis come in pairs, a snowboard alone: plural skis are never snowboards, nor the reverse.
_PAIRED_BOARDS = frozenset({"ski", "snowboard"})
# Road vehicles by how they are moved: a pedalled or kicked one is leaned, chained, pushed,
# carried, and a driven one is not ("a bus chained to a building", "a train hauling
# scooters"); neither becomes the other (a motorcycle, ridden and driven, may become either).
_PEDALLED = frozenset({"bicycle", "scooter"})
_DRIVEN = frozenset({"car", "bus", "truck", "van", "taxi"})
# A motorcycle may become a car where it is parked or driven, not where people ride or sit on
# it: one rides in a car, not on it.
_RIDDEN_ON = frozenset({"motorcycle"})
_RIDING = frozenset("ride rides riding rode rider riders biker bikers motorcyclist".split())
# "The camera" that one looks at, smiles or poses for is the photographer's, no thing in the
# scene ("a zebra looking at the cell phone").
_VIEWER = frozenset({"camera"})
# A baby does little of what a grown-up does ("a baby reaching out to catch a frisbee") and
# a grown-up little of what a baby does: neither replaces the other.
_NO_TRADE = frozenset({frozenset({"baby", "man"}), frozenset({"baby", "woman"})})
# A grown-up and a child of one gender: an age word kept beside the noun blurs them ("a young
# boy" → "a young man", "teenage girls" → "women" may be the same person).
_AGES_OF = (frozenset({"man", "boy"}), frozenset({"woman", "girl"}))
# Captions call grown women girls ("a man and a girl on skis" for a couple): the one for the
# other changes too little to be false (seed-101 reading, 0 of 4 good); men are seldom boys.
_BLURRED_AGES = frozenset({"woman", "girl"})
_AGE_WORDS = frozenset(
    "young younger teenage teenaged teen adolescent little small older old elderly".split()
)
# A person's pronouns of no gender: kept after a woman or a man they read wrong.
_THEY = frozenset("they them their theirs themselves themself".split())
_COUNTERPART = {"man": "woman", "woman": "man", "boy": "girl", "girl": "boy"}
_YOUNG = frozenset({"boy", "girl"})
# Another person of no gender named beside one of a gender may be someone else.
_AGELESS = frozenset({"child", "baby"})
# What one gender wears or grows in captions: it keeps that gender.
_WORN = {
    "female": frozenset("dress dresses gown skirt bikini bra heels earrings pregnant".split()),
    "male": frozenset("beard beards bearded mustache moustache tuxedo shirtless".split()),
}
# Words that describe one gender's looks in captions ("a pretty young lady", "a handsome
# man"): kept beside a person of the other gender they read wrong (seed-101 reading).
_DESCRIBED = {
    "female": frozenset("pretty beautiful lovely gorgeous".split()),
    "male": frozenset({"handsome"}),
}
# A room's things taken together by their kind's name: where the caption or another caption
# names them so ("a kitchen with stainless steel appliances", "a living room full of
# furniture"), any one thing of the kind may be among them, so none is clearly absent.
# ("Vehicles" and "devices" name one thing as often as a lot: "a large vehicle".)
_LOTS = {
    "appliance": frozenset({"appliance"}),
    "furniture": frozenset({"furniture"}),
    "kitchen": frozenset({"utensil", "silverware", "cookware", "kitchenware", "dishware"}),
}
# A verb that governed the old noun this often, a third of what it governed, selects it.
_SELECTS = 3
# Relations that put a thing in or on what they govern: the new noun must take them as the
# old one does ("bananas in a bowl" ↛ "in a plate"), where the corpus has located things by
# it `HOLDING_KNOWN` times.
_HOLDING = frozenset({"in", "on", "into", "onto"})
HOLDING_KNOWN = 20
# Count nouns that also read as a mass or a game without an article ("serving cake",
# "with pizza", "playing frisbee"): only these replace a bare singular noun of a caption
# that writes articles ("cutting and serving cake" ↛ "serving hot dog").
# The use of what people and animals sit or lie on (`objects.json` `uses`), and the classes
# (`entity_class`) that do.
_SEAT = "seat"
_ANIMATE = frozenset({"person", "animal"})
_MASS_SENSE = frozenset({"pizza", "cake", "pie", "frisbee", "football", "baseball"})
# A noun in the sense another scene gives it: "the batter up to the plate" is home plate.
_OTHER_SENSE = {
    "plate": frozenset("baseball batter catcher pitcher umpire home bat swing".split()),
}
# What only horses do or wear: "cows with jockeys", "a trolley pulled by a cow".
_HORSE = "horse"
_HORSE_ONLY = frozenset(
    "jockey jockeys saddle saddled carriage carriages buggy cart carts rider riders polo "
    "racing race races finish equestrian reins pulled pulling drawn mounted".split()
)
# The parts of an animal that no other animal of the lexicon has: kept beside another kind
# they read wrong ("three giraffes … with their trunks", seed-101 reading).
_OWN_PARTS = {
    "elephant": frozenset("trunk trunks tusk tusks".split()),
    "zebra": frozenset("stripes striped".split()),
    "bird": frozenset("beak beaks wing wings feathers feathered".split()),
    "sheep": frozenset("wool woolly fleece".split()),
    "cat": frozenset("whiskers".split()),
}
# What only tamed animals undergo: of the wild ones, elephants alone are herded and ridden
# ("a herd of elephants being herded into a river" ↛ "zebras being herded").
_TAMED = "elephant"
_TAMED_ONLY = frozenset(
    "herded herding ridden riding ride rides rode rider riders mahout trainer trained "
    "circus saddle".split()
)


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
        # Not a noun modifier, even one parsed as an adjective ("a sink faucet"); a first
        # conjunct parsed so ("a stove, sink and coffee maker") is a noun of its own.
        h = p.heads[last]
        modifier = (
            p.deps[last] in ("amod", "nmod")
            and h > last
            and not any(p.tags[k] in ("CC", ",") for k in range(last + 1, h))
        )
        if p.tags[last] in NOUN_TAGS and p.deps[last] != "compound" and not modifier:
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
            before = (s > 0 and is_compound(p, s - 1, s, ctx)) or _spelled_apart(p, s, lex)
            if not inside and not before and not _kind_made(p, s, i, noun, lex):
                default = form if form is not None else p.tags[last] == "NNS"
                yield s, last + 1, noun, plural_phrase(p, s, last, default)
        i += length


def _spelled_apart(p: Parse, s: int, lex: Lexicon) -> bool:
    """Whether the two words before s written as one are a lexicon noun: "lap top computer"
    is a laptop computer, and "computer" alone is half of it ("a lap top camera")."""
    return s > 1 and (p.lows[s - 2] + p.lows[s - 1],) in lex.nouns and p.lows[s - 1].isalpha()


def _kind_made(p: Parse, s: int, i: int, noun, lex: Lexicon) -> bool:
    """Whether the noun modifiers p[s:i] make the noun a kind of its own ("freight cars", "a
    coach bus", "a toilet bowl", "an SLR camera", "chocolate cake"): the rest of the caption
    fits that kind ("an engine hauling freight cars" ↛ "… hauling scooters"), so the phrase
    stays. A modifier that is itself a noun of the same kind ("a laptop computer", "luggage
    suitcases") names the thing again and goes with it. A person stays a person of any kind
    ("a business man" → "a woman")."""
    if noun.supercategory == "person":
        return False
    for k in range(s, i):
        mod = lex.nouns.get((p.lows[k],))
        if mod is None or mod.supercategory != noun.supercategory:
            return True
    return False


def _noun_features(p: Parse, h: int, ctx: RuleContext) -> list[tuple[str, tuple]]:
    """The contexts a noun at token h stands in: its governor (verb or relation), what it
    governs by a relation, its adjectives."""
    lex, feats = ctx.lex, []
    g, dep = p.heads[h], p.deps[h]
    place = supercategory_of(p, h, lex) == PLACE
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
        # A place is what its adjectives say ("a grassy field", "a snowy forest"): each is a
        # context the new place must fit.
        if p.deps[j] == "amod" and (p.lows[j] in lex.swappable or place):
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
    return [j for j in p.children(v) if p.lows[j] in RELATIVE]


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


# A pronoun follows its one referent across a change of gender ("a man holding a hot dog in
# his hand" → "a woman … in her hand"); "her" is "his" as a determiner, "him" as an object.
_PRONOUNS = {
    "male": {"he": "she", "him": "her", "his": "her", "himself": "herself"},
    "female": {"she": "he", "hers": "his", "herself": "himself", "her": "his", "her/PRP": "him"},
}


# Kin the lexicon gives no gender but pronouns may refer to ("a girl and her mom").
_KIN = frozenset("mom mommy mum dad daddy parent parents grandma grandpa".split())


def _gender_of(word: str, lex: Lexicon) -> str | None:
    low = word.lower()
    return "male" if low in lex.male else "female" if low in lex.female else None


def _sole_referent(p: Parse, span: tuple[int, int], lex: Lexicon) -> bool:
    """Whether the noun at `span` is the caption's only person or gendered noun and comes
    before its gendered pronouns, so that they can only be its own ("a woman holding a boy
    who is brushing his teeth", "a ewe and her kid" are not)."""
    s, e = span
    for j in range(len(p)):
        if j < s and p.tags[j] in ("PRP", "PRP$") and _gender_of(p.lows[j], lex) is not None:
            return False  # "a ewe and her kid": the pronoun's referent comes before it
        if s <= j < e or p.tags[j] not in NOUN_TAGS:
            continue
        if p.lows[j] in lex.male or p.lows[j] in lex.female or p.lows[j] in _KIN:
            return False
        if supercategory_of(p, j, lex) == "person":
            return False
    return True


def _pronoun_edits(p: Parse, gender: str) -> list[tuple[int, int, str]]:
    """The edits that turn each pronoun of `gender` to the other gender's, casing kept."""
    table, out = _PRONOUNS[gender], []
    for j, (low, tag) in enumerate(zip(p.lows, p.tags)):
        key = low + "/PRP" if low == "her" and tag == "PRP" else low
        if tag in ("PRP", "PRP$") and key in table:
            out.append((j, j + 1, match_case(p.words[j], table[key])))
    return out


def object_(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex = ctx.lex
    found = list(_nouns_in(p, ctx))
    # Groups already in the caption are no replacement: "a dog and a cat" ↛ "a cat and a cat".
    present = {noun.group for _, _, noun, _ in found} | {
        lex.nouns[(w,)].group for w in p.lows if (w,) in lex.nouns
    }
    genders = _gender(p, lex)
    slots = []
    # "A cat looking at another cat": both keep their kind, or "another" is left wrong.
    again = {noun.group for s, _, noun, _ in found if s > 0 and p.lows[s - 1] in _SAME_AGAIN}
    for s, e, noun, plural in found:
        if noun.group in again or _fixed_sense(p, s, e) or _part_of_kind(p, e - 1, noun, lex):
            continue
        # "a flock of sheep", "a group of gentleman": members of a collective are several.
        plural = plural or (not noun.mass and _of_collective(p, e - 1, lex))
        target = HYPERNYMS.get(lex.group_heads[noun.group])
        if target is not None:
            cands = _across(p, ctx, (s, e), target, plural, present)
            cands += _told_apart(p, ctx, (s, e), plural, genders)
        else:
            # Its pronouns follow a sole referent's new gender; another's stay and must agree.
            sole = len(genders) == 1 and _sole_referent(p, (s, e), lex)
            agree = frozenset() if sole else genders
            cands = _within(p, ctx, (s, e), noun, plural, present, agree)
            if lex.group_heads[noun.group] == CHILD:  # a child the others call a boy or a girl
                cands += _told_apart(p, ctx, (s, e), plural, genders, young=True)
        if cands:
            slots.append(((s, e), cands))
    if not slots:
        return None
    (s, e), repl, score = pick(rng, slots)
    edits = [(s, e, repl)]
    new = _gender_of(repl, lex)
    for gender in genders:
        if new is not None and new != gender:
            edits += _pronoun_edits(p, gender)
    return edits, score


def _fixed_sense(p: Parse, s: int, e: int) -> bool:
    """Whether the noun at s..e is no thing of the scene to replace: the viewer's camera
    ("looking at the camera", "posing for the camera"), or a word in another scene's sense
    ("the batter up to plate")."""
    low = p.lows[e - 1]
    if low in _VIEWER and p.deps[e - 1] == "pobj" and s > 0 and p.lows[s - 1] == "the":
        return True
    return low in _OTHER_SENSE and any(w in _OTHER_SENSE[low] for w in p.lows)


def _part_of_kind(p: Parse, h: int, noun, lex: Lexicon) -> bool:
    """Whether the noun at h names a part of a thing of its own kind ("the cab of a pickup
    truck", "the bed of a truck"): it is no whole thing to replace ("the bus of a truck")."""
    prep = next((j for j in p.children(h) if p.lows[j] == "of" and p.deps[j] == "prep"), None)
    whole = p.child(prep, ("pobj",)) if prep is not None else None
    return supercategory_of(p, whole, lex) == noun.supercategory if whole is not None else False


def _crosses_use(lex: Lexicon, old: str, new: str, plural: bool, crowd: bool, lows) -> bool:
    """Whether `new` for `old` crosses a line the rest of the caption draws: pedalled and
    driven vehicles, one skier's skis and snowboards, a horse's harness, rider or race, a
    tamed elephant's herding or rider, what one gender wears ("the man in the dress", "a
    woman with a beard")."""
    pair = {old, new}
    gender = _gender_of(old, lex)
    if gender is not None and gender != _gender_of(new, lex):
        if any(w in _WORN[gender] for w in lows):
            return True
    if pair & _PEDALLED and pair & _DRIVEN:
        return True  # "a bicycle leaning on a door" ↛ "a car leaning on a door"
    if plural and pair == _PAIRED_BOARDS and not crowd:
        return True  # one skier's skis are no snowboards: one rides one board
    if pair in _NO_TRADE:
        return True
    if old == "cat" and new == "dog" and "top" in lows:
        return True  # a cat climbs "on top of" a refrigerator or a cabinet; a dog does not
    if any(w in _OWN_PARTS.get(old, ()) for w in lows):
        return True  # "elephants … with their trunks" ↛ "giraffes … with their trunks"
    if old == _TAMED and any(w in _TAMED_ONLY for w in lows):
        return True
    return old == _HORSE and any(w in _HORSE_ONLY for w in lows)


def _lexicon_rules_out(ctx: RuleContext, old: str, new: str, plural, crowd, lows, sat) -> bool:
    """Whether the lexicon rules `new` out for `old`: another use, a kind or near relative of
    it (`kinds`), or a line the caption draws (`_crosses_use`). Where a person or an animal
    is `sat` on the old noun, a table may become a seat ("a cat sitting on a table" → "on a
    chair"); a thing on it keeps it a table ("a jar on a table" ↛ "on a couch")."""
    lex = ctx.lex
    use = lex.uses.get(old)
    if lex.uses.get(new) != use and not (sat and use is None and lex.uses.get(new) == _SEAT):
        return True  # "a banana with fondant stars", "the batter up to fork"
    if (old, new) in lex.kinds:
        return True  # "a bird" → "a duck", "a taxi" → "a car" may be true
    return _crosses_use(lex, old, new, plural, crowd, lows)


def _bare(p: Parse, span: tuple[int, int], lex: Lexicon) -> bool:
    """Whether the singular noun at `span` stands without an article, number or possessive
    in a caption that writes articles or numbers ("two men cutting and serving cake", "a
    table with pizza"), so it is read as a mass; a headline ("Man riding bike") has none."""
    h = span[1] - 1
    if p.tags[h] != "NN" or _possessive(p, h) or all(p.heads[j] == h for j in range(h)):
        return False  # "Cake on a plate": a headline's first noun drops its article
    if p.child(h, ("det", "nummod", "poss", "predet")) is not None:
        return False
    if p.deps[h] == "conj" and p.child(p.heads[h], ("det", "nummod")) is not None:
        return False  # "a man and little girl": the article is shared
    return any(tag in ("DT", "CD") for tag in p.tags)


def _kept_words_rule_out(p: Parse, ctx: RuleContext, h: int, adjectives, old, new) -> bool:
    """Whether the words kept around the noun at h rule `new` out for `old`: an age they blur
    (`_ages_blur`), a child's things or a possessive for a child ("the child's toy"), words
    that describe the old gender only ("a pretty young girl" ↛ "a pretty young man")."""
    if _ages_blur(ctx, adjectives, old, new):
        return True
    if CHILD in (new, old) and (_possessive(p, h) or any(w in CHILDHOOD for w in p.lows)):
        return True
    gender = _gender_of(old, ctx.lex)
    if gender is None or gender == _gender_of(new, ctx.lex):
        return False
    return any(p.lows[j] in _DESCRIBED[gender] and _modifies(p, j, h) for j in range(h))


def _case_template(p: Parse, i: int) -> str:
    """The casing the new noun for word i takes: its own, but an acronym's capitals ("A TV
    with …" ↛ "A LAPTOP with …") only in a caption written in capitals."""
    word = p.words[i]
    if word.isupper() and any(w.islower() for w in p.words):
        return word[0] + word[1:].lower() if i == 0 else word.lower()
    return word


def _modifies(p: Parse, j: int, h: int, hops: int = 3) -> bool:
    """Whether token j depends on h within `hops` arcs ("pretty" → "young" → "girl")."""
    for _ in range(hops):
        if p.heads[j] == j:
            return False
        j = p.heads[j]
        if j == h:
            return True
    return False


def _ages_blur(ctx: RuleContext, adjectives: list[str], old: str, new: str) -> bool:
    """Whether `new` for `old` changes only an age that the words around blur: a grown-up
    and a child of one gender where an age word stays beside the noun ("a young boy" → "a
    young man") or the other captions give either one an age ("teenage girls" → "women");
    a woman and a girl always (`_BLURRED_AGES`)."""
    if {old, new} not in _AGES_OF:
        return False
    if {old, new} == _BLURRED_AGES:
        return True
    aged = {a for a, n in ctx.siblings.amod if n in (old, new)} | set(adjectives)
    return bool(aged & _AGE_WORDS)


def _false_for_image(ctx: RuleContext, gid: int, sg: str, present: set[int]) -> bool:
    """Whether noun `sg` (group `gid`) is absent from the caption and from its siblings, also
    as a kind of it: a sibling's "boy" makes "a child" true (its "child" leaves "a boy" false)."""
    said = ctx.siblings.nouns
    specific = [w for w in said if sg in ctx.lex.kind_of.get(w, ())]
    # Captions call one grown woman a girl too: a sibling's "woman" leaves "a girl" true,
    # unless the caption names its own woman or girl, whom the sibling may mean ("a man,
    # woman, and boy" → "a girl, woman, and boy").
    blurred = (
        sg in _BLURRED_AGES
        and said & _BLURRED_AGES
        and not present & {g for g, w, _, _ in ctx.lex.noun_choices["person"] if w in _BLURRED_AGES}
    )
    return (
        gid not in present
        and sg not in said
        and sg not in HYPERNYMS
        and not specific
        and not blurred
    )


def _within(p, ctx: RuleContext, span, noun, plural, present, genders) -> list:
    """Candidates for the noun at `span` among the other nouns of its supercategory, each
    (text, score, False): plausible in its contexts and scene, false for the image."""
    lex, stats = ctx.lex, ctx.stats
    s, e = span
    feats = _noun_features(p, e - 1, ctx)
    kind = lex.kind_words[noun.supercategory]
    # The rest of the scene must hold the new noun too: no tennis racket in a baseball
    # game (nouns seen together in one caption, `co`).
    # Not for people: captions say who does what unevenly (girls skateboard too); but a
    # skier's scene is the snow, a skateboarder's the ramp, as a board's is.
    own = noun_key(p, e - 1, lex)
    others = _scene_nouns(p, lex, range(s, e))
    if _LOTS.get(noun.supercategory, frozenset()) & (others | ctx.siblings.nouns):
        return []  # "a stove among stainless steel appliances" ↛ "a refrigerator"
    scene = [("co|n", (k,)) for k in sorted(others - {own})]
    setting = lex.settings.get(lex.group_heads[noun.group])
    if noun.supercategory == "person" and setting is None:
        scene = []
    # A place keeps the preposition that locates something in it; a thing the one that puts
    # something in or on it ("bananas in a bowl" ↛ "in a plate", "on a plate" ↛ "on a bowl").
    place = noun.supercategory == PLACE
    relation = _governing_relation(feats)
    if not place and relation not in _HOLDING:
        relation = None
    adjectives = _adjectives(p, e - 1, lex)
    # Not for people: who is on a court or in a dress, captions say unevenly.
    located = [f for f in feats if f[0] in ("rel|hr", "rel|ro")] if scene else []
    # Vehicles of one medium move where the others do; animals do not share their uses.
    # Not under a name or a noun modifier ("an American Airlines plane", "a 747 jumbo
    # passenger jet"): those fit the old noun only, and a rare noun has no counts to say.
    named = any(p.deps[j] in ("compound", "nmod", "nummod") and j < s for j in p.children(e - 1))
    moves = setting in lex.vehicle_settings and not named
    peers = tuple(w for w, st in sorted(lex.settings.items()) if moves and st == setting)
    known = PLACE_KNOWN if noun.supercategory == PLACE else OBJECT_KNOWN
    # Several people may each ride a board ("a group of people with snowboards").
    crowd = any(
        p.tags[j] == "NNS" and supercategory_of(p, j, lex) == "person" for j in range(len(p))
    )
    old = lex.group_heads[noun.group]
    ridden = any(w in _RIDING for w in p.lows)
    sat = any(v == "crel|cr" and c[0] in _ANIMATE for v, c in feats)
    bare = not plural and old in _MASS_SENSE and _bare(p, span, lex)
    cands = []
    for gid, sg, pl, _ in lex.noun_choices[noun.supercategory]:
        if not _false_for_image(ctx, gid, sg, present) or lex.settings.get(sg) != setting:
            continue
        if _lexicon_rules_out(ctx, old, sg, plural, crowd, p.lows, sat):
            continue
        if _kept_words_rule_out(p, ctx, e - 1, adjectives, old, sg):
            continue
        # A pronoun must keep agreeing: "a woman holding a hot dog in his hand" is wrong.
        if ("male" in genders and sg in lex.female) or ("female" in genders and sg in lex.male):
            continue
        if bare and sg not in _MASS_SENSE:
            continue  # "serving cake" ↛ "serving hot dog": a count noun needs an article
        if old in _RIDDEN_ON and sg in _DRIVEN and (relation == "on" or ridden):
            continue  # "people on motor bikes" ↛ "on taxis", "riding motorcycles" ↛ "vans"
        # A person's counterpart of the other gender does what the person does: captions name
        # men far more often than women (boys than girls) at most things, so an unseen "girl
        # skiing" is sparse counts, not an odd scene.
        counterpart = _COUNTERPART.get(old) == sg
        if not counterpart and not fits_known_contexts(stats, feats, sg, kind, known, peers=peers):
            continue
        if not fits_known_contexts(stats, located, sg, kind, LOCATED_KNOWN, peers=peers):
            continue
        if _selected(stats, feats, old, sg):
            continue
        if relation is not None and not _takes_relation(stats, relation, sg, place):
            continue
        if not _takes_adjectives(stats, adjectives, sg):
            continue
        score = _in_scene(
            stats, feats, scene, sg, kind, noun.supercategory in OBSERVED_SCENES, counterpart
        )
        if score is not None:
            cands.append((match_case(_case_template(p, s), pl if plural else sg), score, False))
    return cands


def _selected(stats, feats: list, old: str, new: str) -> bool:
    """Whether a verb the noun stands under selects the old noun (a third or more of what
    the corpus saw it govern, `_SELECTS` times at least) and never governed the new one:
    "reading a book" ↛ "reading a teddy bear", however few things the corpus saw read
    (seed-111 reading)."""
    for view, context in feats:
        if view != "gov|g":
            continue
        slot = stats.index[view].get(context) or {}
        seen, total = slot.get(old, 0), stats.totals[view].get(context, 0)
        if seen >= _SELECTS and 3 * seen >= total and not slot.get(new, 0):
            return True
    return False


def _scene_nouns(p: Parse, lex: Lexicon, skip: range) -> set[str]:
    """The caption's nouns (`caption_nouns`) with the lexicon nouns the tagger took for
    names in lower case ("a sink and oven": "oven" NNP), which are part of the scene too."""
    named = {
        noun_key(p, i, lex)
        for i, t in enumerate(p.tags)
        if t in ("NNP", "NNPS")
        and i not in skip
        and p.words[i].islower()
        and (p.lows[i],) in lex.nouns
    }
    return caption_nouns(p, lex, skip) | named


def _in_scene(stats, feats, scene, sg: str, kind, observed: bool, sparse=False) -> float | None:
    """The score of `sg` in its contexts `feats`, averaged with its fit to the `scene` (the
    caption's other nouns), or None where either vetoes it; with `sparse`, its contexts
    only weigh it (a person's counterpart: see `_within`)."""
    veto = math.inf if sparse else VETO_EXPECTED
    score = stats.score(feats, sg, among=kind, veto=veto) if feats else stats.prior("gov|g", sg)
    if score is None or not scene:
        return score
    # A room is what it holds: each thing of the caption must have been seen in the new one
    # ("a grand piano in a bathroom", "a kitchen with a bidet" are not).
    fit = stats.score(
        scene, sg, among=kind, veto=SCENE_EXPECTED, ratio=SCENE_RATIO, observed=observed
    )
    return None if fit is None else (score + fit) / 2


def _across(p, ctx: RuleContext, span, target: str, plural: bool, present) -> list:
    """Candidates for a hypernym at `span` ("people") among the nouns of supercategory
    `target` (animals): each must have been seen (`OBSERVED_MIN` times) in every context of
    the noun, in its verb's frame, and with every other noun of the caption, since a noun of
    another kind has no counts of the old one's kind to be judged against."""
    lex, stats = ctx.lex, ctx.stats
    s, e = span
    h = e - 1
    feats = _noun_features(p, h, ctx) + _frame(p, h, lex)
    # "A group of people playing": the group's contexts are the people's.
    of, holders = p.heads[h], [h]
    if p.deps[h] == "pobj" and p.lows[of] == "of" and p.lows[p.heads[of]] in lex.collectives:
        holders.append(p.heads[of])
        of_key = relation_key(("of",), lex)
        feats += [f for f in _noun_features(p, holders[1], ctx) if f[1][0] != of_key]
        feats += _frame(p, holders[1], lex)
    # Where the caption puts it, its kind must have been put (no animal "at a table").
    places = _located(p, holders, lex)
    if any(stats.count("crel|cr", (target, r), o) < OBSERVED_MIN for r, o in places):
        return []
    # What the caption does must be done by the new noun somewhere: no cows cutting a ribbon.
    verbs = sorted(
        "v:" + lex.verbs[low][0][0].forms[0]
        for low, tag in zip(p.lows, p.tags)
        if tag.startswith("VB") and low in lex.verbs
    )
    kind = lex.kind_words[target]
    own = noun_key(p, e - 1, lex)
    scene = [("co|n", (k,)) for k in sorted(_scene_nouns(p, lex, range(s, e)) - {own})]
    adjectives = _adjectives(p, e - 1, lex)
    cands = []
    # A person doing what only people do ("petting a cat") is no animal.
    if any(verb_key(p, j, lex) in lex.human_only for j in _verbs_of(p, holders)):
        return []
    for gid, sg, pl, _ in lex.noun_choices[target]:
        if lex.settings.get(sg) not in HYPERNYM_SETTINGS:
            continue
        if not _false_for_image(ctx, gid, sg, present) or not _takes_adjectives(
            stats, adjectives, sg
        ):
            continue
        if any(stats.count("co|n", (sg,), v) < OBSERVED_MIN for v in verbs):
            continue
        score = stats.score(feats, sg, among=kind, observed=True) if feats else None
        fit = stats.score(scene, sg, among=kind, observed=True) if scene else score
        if score is not None and fit is not None:
            cands.append(
                (match_case(_case_template(p, s), pl if plural else sg), (score + fit) / 2, False)
            )
    return cands


def _of_collective(p: Parse, h: int, lex: Lexicon) -> bool:
    of = p.heads[h]
    return p.deps[h] == "pobj" and p.lows[of] == "of" and p.lows[p.heads[of]] in lex.collectives


def _told_apart(p: Parse, ctx: RuleContext, span, plural: bool, genders, young=False) -> list:
    """Candidates for a hypernym at `span` ("a person", "people"; with `young`, "a child")
    that the other captions show false: where they name one grown-up or child of one gender
    (a boy or a girl for a child; in the plural for people; for a grown-up, also both of one
    gender: "girls" and "women") and no child or baby, the
    hypernym is that one ("a woman on skis", "two women"), and its counterpart of the other
    gender ("a man on skis", "two men") is a plausible scene the image does not show. Its
    pronouns follow (`_pronoun_edits`)."""
    lex = ctx.lex
    said = ctx.siblings.nouns
    named = [w for w in sorted(said) if w in _COUNTERPART]
    several = any(w in ctx.siblings.several for w in named)
    if not young and len(named) == 2 and len({_gender_of(w, lex) for w in named}) == 1:
        # "two girls" and "two women": either way they are no men.
        named = [w for w in named if w not in _YOUNG]
    ageless = _AGELESS - {CHILD} if young else _AGELESS
    if len(named) != 1 or said & ageless or not _sole_referent(p, span, lex):
        return []
    if not plural and any(w in _THEY for w in p.lows):
        return []  # "a person … in their hand" ↛ "a woman … in their hand"
    # "People walk by as a woman sits on a bench": she is one of several; a crowd may be
    # mixed, so only people counted ("two people", "a couple of people") are told apart.
    if plural and (not several or not _counted(p, span)):
        return []
    if young and named[0] not in _YOUNG:
        return []
    gender = _gender_of(named[0], lex)
    if genders - {gender} or any(w in _WORN[gender] for w in p.lows):
        return []  # a pronoun says otherwise, or the caption says what that gender wears
    sg = _COUNTERPART[named[0]]
    if _worn_by(ctx.siblings, _gender_of(sg, lex)):
        return []  # "a man …", "a person in a striped dress": the others disagree
    pl = next(pl for _, w, pl, _ in lex.noun_choices["person"] if w == sg)
    feats = _noun_features(p, span[1] - 1, ctx)
    score = ctx.stats.score(feats, sg, among=lex.kind_words["person"]) if feats else None
    if score is None:
        score = ctx.stats.prior("gov|g", sg)
    return [(match_case(_case_template(p, span[0]), pl if plural else sg), score, False)]


def _worn_by(roles, gender: str) -> bool:
    """Whether the captions `roles` describes name what `gender` wears or grows (`_WORN`)."""
    said = roles.nouns | {a for a, _ in roles.amod}
    return any(w in said or w.rstrip("s") in said for w in _WORN[gender])


def _counted(p: Parse, span: tuple[int, int]) -> bool:
    """Whether the plural at `span` is counted: "two people", "a couple of people"."""
    s, h = span[0], span[1] - 1
    if any(p.deps[j] == "nummod" for j in p.children(h)):
        return True
    of = p.heads[h]
    return p.lows[of] == "of" and p.lows[p.heads[of]] in ("couple", "pair") and s > 0


def _possessive(p: Parse, h: int) -> bool:
    return h + 1 < len(p) and p.lows[h + 1] in ("'s", "'")


def _verbs_of(p: Parse, holders: list[int]) -> list[int]:
    """Tokens of the verbs done by the noun at one of `holders` ("sitting … petting a cat")."""
    return [j for j in range(len(p)) if p.tags[j].startswith("VB") and agent_of(p, j) in holders]


def _located(p: Parse, holders: list[int], lex: Lexicon) -> list[tuple[str, str]]:
    """(relation, object) of each relation that locates the noun at one of `holders`, itself
    or as the subject of its verb ("people sitting at a table": at, table)."""
    out = []
    for s, e, obj in relations_in(p, lex):
        head = p.heads[s]
        if obj not in holders and (head in holders or subject_of(p, head) in holders):
            out.append((relation_key(tuple(p.lows[s:e]), lex), noun_key(p, obj, lex)))
    return out


def _frame(p: Parse, h: int, lex: Lexicon) -> list[tuple[str, tuple]]:
    """The verb frames of the noun at h beside its verbs: ("svo|vo", (verb, object)) for a
    subject, also of a participle or relative clause on it ("a person riding a bike"), and
    ("svo|sv", (subject, verb)) for an object; "people riding horses" ↛ "dogs …"."""
    g, dep = p.heads[h], p.deps[h]
    out = []
    if dep == "dobj" and g != h and (sj := p.child(g, ("nsubj",))) is not None:
        out.append(("svo|sv", (noun_key(p, sj, lex), verb_key(p, g, lex))))
    doing = [g] if dep == "nsubj" and g != h else []
    doing += [
        j
        for j in p.children(h)
        if p.deps[j] in ("acl", "relcl")
        and p.child(j, ("nsubj", "nsubjpass")) in (None, *_relative_kids(p, j))
    ]
    for v in doing:
        if p.tags[v].startswith("VB") and (o := p.child(v, ("dobj",))) is not None:
            out.append(("svo|vo", (verb_key(p, v, lex), noun_key(p, o, lex))))
    return out


def _adjectives(p: Parse, h: int, lex: Lexicon) -> list[str]:
    """The adjectives (and material noun modifiers: "a paper plate") of the noun at h."""
    return [
        p.lows[j]
        for j in p.children(h)
        if (p.deps[j] == "amod" and p.tags[j] in ("JJ", "VBN"))
        or (p.deps[j] == "compound" and p.lows[j] in lex.attributes)
    ]


def _takes_adjectives(stats, adjectives: list[str], noun: str) -> bool:
    """Whether `noun` was seen with each adjective, where the corpus describes it often
    (`ADJECTIVES_KNOWN` times): no "tall bear", "opened tv", "paper pan"."""
    if not adjectives or stats.total("amod|n", (noun,)) < ADJECTIVES_KNOWN:
        return True
    return all(stats.count("amod|n", (noun,), a) for a in adjectives)


def _governing_relation(feats: list[tuple[str, tuple]]) -> str | None:
    """The relation group governing the noun (`_noun_features`' "rel|hr"), if any."""
    return next((context[1] for view, context in feats if view == "rel|hr"), None)


def _takes_relation(stats, relation: str, noun: str, place: bool = True) -> bool:
    """Whether the corpus locates things `relation` `noun` (`OBSERVED_MIN` times and
    `PLACE_RELATION_SHARE` of the noun's relations): "on a beach", not "in a beach". A thing
    (not `place`) the corpus locates things by fewer than `HOLDING_KNOWN` times has not shown
    which prepositions it takes, and passes."""
    slot = stats.index["rel|o"].get((noun,)) or {}
    seen, total = slot.get(relation, 0), sum(slot.values())
    if not place and total < HOLDING_KNOWN:
        return True
    return seen >= OBSERVED_MIN and seen >= PLACE_RELATION_SHARE * total


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
        subj = subject_of(p, anchor)
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
        number = is_plural(p, subj, lex)
        if (
            number != is_plural(p, obj, lex)
            or plural_phrase(p, a[0], subj, number) != number
            or plural_phrase(p, b[0], obj, number) != number
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
