"""The `relation` rule: replace a spatial or relational preposition or phrase (DESIGN §4).

Never a particle of a phrasal verb, an idiom or `with` (that is `existence`); the replacement is
plausible for the (head, relation, object) triple and absent from every sibling caption."""

from __future__ import annotations

import math

from ahnpl.pipeline.caption_parse import Choices, Parse, frozen_tokens, match_phrase
from ahnpl.pipeline.corpus_stats import (
    OBSERVED_MIN,
    CorpusStats,
    entity_class,
    head_key,
    noun_key,
    relation_key,
    verb_key,
)
from ahnpl.pipeline.lexicon import Lexicon
from ahnpl.pipeline.rules.common import (
    PROPER_OR_COMMON,
    UNLOCATED,
    Result,
    RuleContext,
    agent_of,
    is_compound,
    pick,
    setting_of,
    subject_of,
    supercategory_of,
)
from ahnpl.pipeline.surface import match_case

_OBJECT_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS", "PRP"})

# Relations are few and frequent, so their statistics can speak earlier: a relation half as
# often expected as once in a context, and unseen there, is not plausible in it.
RELATION_VETO = 0.5
RELATION_FLOOR = -6.0
VERTICAL = frozenset({"under", "above", "on", "in"})
HEAD_KNOWN = 5  # a verb seen with fewer relations than this may govern its preposition


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
        # "next to each other making pizza" (parsed with pizza as the object) is reciprocal.
        ok = ok and tuple(p.lows[last + 1 : last + 3]) not in RECIPROCALS
        obj = p.child(last, ("pobj",)) if ok else None
        if obj is not None and p.lows[obj] in _PRONOUNS:
            # "a pizza with eggs on it", "a wall with writing on it" say what it holds or
            # bears, not where a thing is ("a lake with boats on it" does).
            obj = _antecedent(p, i, obj, lex)
            if obj is not None and rel.group not in BESIDE and _borne(p, p.heads[i], obj, rel, lex):
                obj = None
        if obj is not None and p.lows[obj] in PARTITIVES and not _compounded(p, obj):
            # "in the parking lot of a church" is in a lot, not in a church
            obj = _of_complement(p, obj)  # "next to a stack of luggage": the luggage
        # Nothing is located by "a day at the beach" or "a view of": time and view heads.
        head = p.lows[p.heads[i]]
        if (
            obj is not None
            and p.tags[obj] in _OBJECT_TAGS
            and (p.lows[obj] not in lex.relation_object_stoplist or _named_place(p, obj, ctx))
            and head not in UNLOCATED
            and p.lows[obj] not in MISPARSED  # "in a helmet standing" read as a compound
        ):
            yield i, i + length, rel, obj
        i += length


_PRONOUNS = {"it": "NN", "them": "NNS"}
MISPARSED = frozenset(
    "standing sitting laying lying walking posing riding holding looking playing eating".split()
)
BESIDE = frozenset({"near", "front", "behind"})
GOERS = frozenset({"person", "animal", "vehicle"})  # what stands or moves on a ground
WATERS = frozenset("water ocean sea lake pond river waves wave".split())
# Nouns that count or gather what their "of" names ("a pile of luggage", "a body of water").
PARTITIVES = frozenset(
    "stack stacks pile piles group groups bunch bunches lot lots row rows line lines couple "
    "pair set variety number assortment selection array collection body herd flock slice slices "
    "piece pieces".split()
)


def _compounded(p: Parse, i: int) -> bool:
    """Whether the noun at token i has a compound modifier ("parking lot", "bus line")."""
    return any(p.deps[j] == "compound" for j in p.children(i))


def _of_complement(p: Parse, i: int) -> int | None:
    """The noun of "of" after token i ("a pile of luggage" → luggage), if any."""
    of = p.child(i, ("prep",))
    if of is None or p.lows[of] != "of":
        return None
    obj = p.child(of, ("pobj",))
    return obj if obj is not None and p.tags[obj] in _OBJECT_TAGS else None


FOODS = frozenset({"food", "food_mass"})
MEALS = frozenset("food foods meal meals snack snacks dinner lunch breakfast dessert".split())
MARKINGS = frozenset(
    "writing words graffiti paint markings marks designs design stickers sticker letters logo "
    "logos pictures picture drawings decorations text numbers names patterns stripes spots "
    "print prints toppings topping outlets buttons knobs handles".split()
)


def _borne(p: Parse, thing: int, holder: int, rel, lex: Lexicon) -> bool:
    """Whether "thing on it" says what the holder is made of or bears rather than where a
    thing is: a food on a food ("a pizza with eggs on it"), what a dish holds, words or paint
    on anything ("a wall with writing on it")."""
    if p.tags[thing].startswith("VB"):
        thing = p.child(thing, ("dobj",)) or thing  # "a sandwich that has lettuce on it"
    if p.lows[thing] in PARTITIVES:
        thing = _of_complement(p, thing) or thing  # "a lot of lettuce on it"
    sc = supercategory_of(p, thing, lex)
    if supercategory_of(p, holder, lex) == "kitchen" and (sc is None or sc in FOODS):
        return True  # what a dish holds: "a plate with a sandwich and some fries on it"
    if sc in FOODS:
        return supercategory_of(p, holder, lex) in FOODS
    return p.lows[thing] in MARKINGS


def _antecedent(p: Parse, rel: int, pron: int, lex: Lexicon) -> int | None:
    """The noun a pronoun object stands for ("a lake with boats on it" → lake): the first
    noun of the caption, of the pronoun's number, that is not the thing located."""
    located = p.heads[rel]
    for j in range(rel):
        if supercategory_of(p, j, lex) == "room" and p.deps[j] != "compound":
            return None  # "a kitchen with a sink in it": the room holds it, whatever follows
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
    lexicon or the corpus knows. Never a room ("their living room", "a commercial kitchen"):
    what is in a room is not in front of it."""
    if supercategory_of(p, obj, ctx.lex) == "room" or p.lows[obj] in ("room", "rooms"):
        return False
    return any(p.deps[j] == "compound" and is_compound(p, j, obj, ctx) for j in p.children(obj))


# Verbs whose preposition says where the action goes, not where the thing is: "looking
# inside a fridge" is no place to be beside; in the water one swims, surfs or rides.
LOOKING = frozenset("look looking looks looked peer peering stare staring gaze gazing peek".split())
IN_WATER = frozenset("swim surf ride float paddle wade go play fish sail row".split())
# A particle before the preposition that makes one phrase with it: "leaning up against",
# "stand out against", "going out in the water" ("lit up on a counter" is not one).
BOUND = frozenset({("up", "against"), ("out", "against"), ("out", "in"), ("out", "on")})
POSTURES = frozenset({"sit", "lie", "lay", "stand"})
# Verbs that take their preposition as a particle the corpus does not count as one.
VERB_PREPOSITIONS = frozenset(
    {("chew", "on"), ("chews", "on"), ("chewing", "on"), ("hold", "onto"), ("holding", "onto")}
    | {(w, "on") for w in ("hanging", "hangs", "hung", "mounted")}  # on a wall, not before it
    | {("covered", "in"), ("painted", "in"), ("dressed", "in"), ("decorated", "in")}
    | {("talking", "into"), ("speaking", "into"), ("talks", "into")}
    # One cooks on a grill or a stove, not in front of it.
    | {(w, "on") for w in ("cook", "cooks", "cooking", "cooked", "grilling", "frying")}
    # What is painted on a cup is a picture, not a thing beside it; leaning against is
    # hardly changed by "next to".
    | {(w, "on") for w in ("painted", "printed", "written", "drawn", "engraved", "etched")}
    | {(w, "against") for w in ("leaning", "leans", "leaned", "lean", "propped", "resting")}
)
# What a person or an animal may be put on: a seat, a board, a ground (not a motorcycle one
# stands beside, nor a table).
SEATS = frozenset("chair couch sofa bench bed stool seat mattress ottoman sofa".split())
_PEOPLE_PRONOUNS = frozenset({"her", "him", "me", "us", "you"})


def _bound(p: Parse, s: int, obj: int, lex: Lexicon) -> bool:
    """Whether the relation at s is bound to its verb (a particle before it, a verb of
    looking) or to water by what is done there ("swimming in some water")."""
    head = p.heads[s]
    if s > 0 and (p.lows[s - 1], p.lows[s]) in BOUND and p.deps[s - 1] in ("prt", "advmod"):
        return True
    # A person on a board or a bike does a trick on it, not next to it; one sitting on it
    # may as well sit next to it.
    if p.lows[s] == "on" and setting_of(p, obj, lex) is not None:
        # "starting to stand up on a surfboard" rides it.
        up = any(p.lows[j] == "up" and p.deps[j] == "prt" for j in p.children(head))
        rider = entity_class(p, agent_of(p, head) or head, lex) == "person"
        if rider and (up or verb_key(p, head, lex) not in POSTURES):
            return True
    if p.lows[s] == "on" and p.lows[head] in ("perched", "perches", "perching"):
        return True  # "a hawk perched on a metal bar"
    # One on a phone or a console uses it: "playing a game on a console", "on their laptops".
    device = supercategory_of(p, obj, lex) == "electronic" or p.lows[obj] in DEVICES
    if p.lows[s] == "on" and device:
        return _located_class(p, head, lex) == "person"
    if not p.tags[head].startswith("VB"):
        return False
    if (p.lows[head], p.lows[s]) in VERB_PREPOSITIONS:
        return True
    return p.lows[head] in LOOKING or (p.lows[obj] in WATERS and verb_key(p, head, lex) in IN_WATER)


def _no_vertical(
    p: Parse, obj: int, cls: str | None, group: str, old: str, lex, stacked: bool = False
) -> bool:
    """Whether up or down is absurd here: people are not on or under people ("a man
    standing under her"), nor a person or an animal on what is not furniture, a vehicle,
    a board or a ground ("a giraffe standing on a tree", "an elephant on a fence"), nor a
    thing turned upside down unless the corpus says this pair is so (`stacked`: the shapes
    world's "a triangle below a diamond")."""
    if p.lows[obj] in _PEOPLE_PRONOUNS:
        return True  # "a man standing under her", "a cake on her"
    if cls not in ANIMATE and not stacked and not {group, old}.isdisjoint(("under", "above")):
        # A thing turned upside down is odd, not false ("a gold frame under a painting",
        # "a clock under a building", "a traffic light above a bridge": an independent
        # reading, seeds 51–81, 0 of 9 good); a cat under its bench is plain.
        return True
    if entity_class(p, obj, lex) == "person" and cls == "person":
        return True
    if group == "on" and old != "in" and cls in ("person", "animal", "vehicle"):
        # A seat or a board for one who sits or stands, a ground for anything: not "men
        # standing on a table", "a bicycle on a bed".
        seat = cls != "vehicle" and (
            noun_key(p, obj, lex) in SEATS or supercategory_of(p, obj, lex) == "sports"
        )
        return not seat and p.lows[obj] not in lex.surfaces
    if group == "above" and cls in ("person", "animal"):
        return True  # "a bear above a comforter"
    if old in BESIDE and cls == "furniture" and supercategory_of(p, obj, lex) == "furniture":
        return True  # "a bed sitting on a dresser", "under a dresser"
    if group == "on" and cls is None:
        return True  # the unknown cannot be judged to stand on it ("a carriage on a hydrant")
    if group == "under" and cls in ("person", "animal"):
        # Under a table, a tree, a blanket or a car, not under a suitcase, a kite or a zoo.
        sc = supercategory_of(p, obj, lex)
        return sc not in SHELTERING and not {noun_key(p, obj, lex), p.lows[obj]} & SHELTERS
    return False


# What a person or an animal may be under: furniture, vehicles, and these.
SHELTERING = frozenset({"furniture", "vehicle"})
SHELTERS = frozenset(
    "tree trees umbrella umbrellas parasol blanket blankets covers sheet sheets quilt "
    "comforter bridge overpass awning tent canopy roof shelter arch archway branches bench "
    "benches chair chairs table tables desk desks bed beds couch sofa car cars truck".split()
)


# "on top of" says the thing rests on the other, so beside it is a clear change ("a cat on
# top of a fridge" → "next to a fridge"); plain "on" and "in" also say a part, a fixture or
# a support ("a clock on a steeple", "a sign on a street", "a train on its tracks").
ON_TOP = frozenset({"on top of", "atop"})
WORN = frozenset("skis skiis skies skates rollerskates rollerblades stilts leash leashes".split())
# A bird on the sill is "in the window" too (an independent reading, seeds 41–91: 1 of 4 good).
DOORS = frozenset({"door", "doors", "doorway", "gate", "window", "windows"})
# Parts of a window or a wall one sits on: beside them is nowhere ("a cat sitting next to a
# window sill"; seeds 81–91: 0 of 3 good).
SILLS = frozenset({"sill", "sills", "windowsill", "windowsills", "ledge", "ledges"})
ENCLOSURES = frozenset(
    "enclosure enclosures pen pens cage cages corral exhibit habitat zoo".split()
)
ANIMATE = frozenset({"person", "animal"})
# The relation another caption would state from the object's side.
CONVERSE = {"front": "behind", "behind": "front", "on": "under", "under": "on", "near": "near"}
DISHES = frozenset(
    "plate plates platter platters tray trays dish dishes bowl bowls pan pans".split()
)
_DETERMINED = frozenset({"det", "poss", "amod", "compound", "nummod", "nmod", "npadvmod"})


# Flat or soft things one lies or puts things on have no front or back to be before or
# behind (an independent reading, seeds 71 and 81: 0 of 3 good).
FLAT = frozenset(
    "sheet sheets blanket blankets towel towels pillow pillows cushion cushions cloth cloths "
    "rug rugs carpet carpets mat mats quilt quilts comforter bedspread tablecloth napkin "
    "napkins".split()
)


def _bare(p: Parse, obj: int) -> bool:
    """A singular common noun with nothing before it ("in bed", "on horseback", "on cell
    phone"): a set phrase whose noun cannot stand after another preposition ("next to bed")."""
    if p.tags[obj] != "NN" or p.lows[obj] in _PRONOUNS:
        return False
    return not any(p.deps[j] in _DETERMINED for j in p.children(obj) if j < obj)


# Things one uses facing them: "in front of" and "behind" them are both true of a photo of
# one at work ("a man standing in front of → behind the grill", "playing a game on → in
# front of the Wii", "sitting behind → in front of an open laptop"; seeds 81-111, 2 of 13
# good).
FACED = frozenset({"electronic", "appliance"})
FACED_WORDS = frozenset(
    "grill grills counter counters clock clocks wii screen screens console consoles".split()
)


def _turned_around(p: Parse, old: str, group: str, obj: int, cls: str | None, lex: Lexicon) -> bool:
    """Whether changing `old` to `group` at object obj only turns one using a thing around:
    before or behind a device, an appliance, a counter or a clock, also one named in a
    compound ("a computer desk"; seed 111)."""
    if group not in ("front", "behind") or cls not in ANIMATE:
        return False
    words = {p.lows[obj]} | {p.lows[j] for j in p.children(obj) if p.deps[j] == "compound"}
    kinds = {n.supercategory for w in words if (n := lex.nouns.get((w,))) is not None}
    return not FACED_WORDS.isdisjoint(words) or not FACED.isdisjoint(kinds)


# What lies on a food is its topping or its filling, and a perch is part of its tree: "hot
# dogs on → in front of buns", "putting fire on → in front of a cake", "a bird on a branch in
# → next to a tree" (seed 111, 0 of 3 good).
BREADS = frozenset("bun buns roll rolls bread breads".split())
TREES = frozenset({"tree", "trees", "bush", "bushes"})


def _topping_or_part(p: Parse, s: int, old: str, group: str, obj: int, lex: Lexicon) -> bool:
    """Whether `group` would set a topping before or behind the food it lies on, or a
    branch beside the tree it grows from."""
    if group in ("front", "behind") and old in ("on", "onto"):
        return p.lows[obj] in BREADS or supercategory_of(p, obj, lex) in FOODS
    # The noun just before may be the part, however the parser attaches the phrase.
    part = _located_noun(p, p.heads[s])
    parts = {p.lows[s - 1] if s > 0 else "", p.lows[part] if part is not None else ""}
    return group in BESIDE and p.lows[obj] in TREES and not PERCHES.isdisjoint(parts)


def _vague_or_odd(
    p: Parse, span: tuple, old: str, group: str, obj: int, cls: str | None, ctx: RuleContext
) -> bool:
    """Changes an independent reading found true or odd as a class (docs/negatives.md,
    round neg13): beside, before or behind what plain "on" or "in" places, unless a person or
    an animal is placed or a food on its dish; beside what holds "it"; sitting beside a seat;
    from beside up or down for a thing; the middle of a road for a thing or a vehicle;
    across for a vehicle that goes down its road."""
    lex, (s, e) = ctx.lex, span
    phrase = " ".join(p.lows[s:e])
    if group in BESIDE and p.lows[obj] in WORN:
        return True  # "a man on skis" ↛ "in front of skis", "walked next to a leash"
    if _turned_around(p, old, group, obj, cls, lex) or _topping_or_part(p, s, old, group, obj, lex):
        return True
    if old == "in" and group in BESIDE and "out" in p.lows[max(0, s - 3) : s]:
        return True  # "elephants out in a field" is an idiom: "out next to a field" (seed 101)
    if group in ("front", "behind") and (
        cls not in ANIMATE or entity_class(p, obj, lex) == "person"
    ):
        return True  # "a clock in front of glass", "a batter swinging behind fans"
    if (old, group) == ("outside", "in") and p.lows[obj] in DOORS:
        return True  # "a cat lies outside a door" ↛ "in a door"
    if group == "outside" and p.lows[obj] in ENCLOSURES:
        return True  # "a polar bear outside its enclosure"
    if group == "outside" and p.lows[obj] not in ENTERABLE:
        # One is outside a building or a vehicle, not outside the container, the room or the
        # ground that holds it: "flowers placed outside a vase", "a pizza outside the oven",
        # "a bus parked outside the weeds".
        return True
    if group in BESIDE and p.lows[obj] in SILLS:
        return True
    part = _located_noun(p, p.heads[s])
    parts = BODY_PARTS | HEADS
    # The part just before may be what is placed, however the parser attaches the phrase.
    placed = (part is not None and p.lows[part] in parts) or (s > 0 and p.lows[s - 1] in parts)
    if group in BESIDE and placed:
        # "a dog sitting with its paws on → in front of a table", "resting its paws next to
        # a chair": a part of the body rests on a thing, it stands nowhere (seed 91)
        return True
    if group in ("front", "behind") and _at_the_plate(p, s, obj):
        return True  # "a batter swinging with the catcher and umpire behind → in front of him"
    if group in ("front", "behind") and old == "on" and p.lows[obj] in FLAT | DISHES:
        return True  # "a cat in front of a white sheet", "the meal in front of a green plate"
    if group in BESIDE and _where_done(p, obj, lex):
        return True  # "a giraffe next to the dry terrain", "kids next to a field play soccer"
    who = _located_noun(p, p.heads[s])
    if group in BESIDE and old not in BESIDE and _area(p, obj, cls, who, lex):
        # One in or on a way is beside it too ("a woman carrying her dog on → next to a busy
        # city street"; the independent readings, seeds 41–91: 10 of 32 good).
        return True
    if group in BESIDE and _food_on_its_holder(p, s, obj, lex):
        return True  # "a piece of cake left next to a plate", "meat slices next to a pizza"
    if group in BESIDE and old in ("on", "in", "onto") and phrase not in ON_TOP:
        if e < len(p) and p.lows[e] in _PRONOUNS:
            return True  # "a steeple that has a clock on it" ↛ "a clock next to it"
        if cls not in ANIMATE:
            return True
        seat = noun_key(p, obj, lex) in SEATS or p.lows[obj] in SEATS
        # "sitting next to a chair", "seated next to a bench"
        return seat and verb_key(p, p.heads[s], lex) in ("sit", "seat", "seated")
    if old in BESIDE and group in VERTICAL and cls not in ANIMATE:
        return not (group == "on" and p.lows[obj] in lex.surfaces and cls in GOERS)
    if group == "middle":
        return cls not in ANIMATE  # "rows of cars parked in the middle of a street"
    swap = group == "across" or (old == "across" and group in ("along", "down", "up"))
    if swap and p.lows[obj] not in CROSSED:
        # Across and along a walkway, a field, a beach or a rail are near-synonyms or odd
        # ("ducks walk across a walkway", "riding a skateboard across a hand rail", "zebra
        # walking along a field": seeds 61–101, 2 of 8 good); one crosses a road, a slope or a
        # stream.
        return True
    # "a bus driving down → across the road", "vehicles moving across a street"
    return group == "across" and (
        cls == "vehicle" or (old in ("down", "up") and cls not in ANIMATE)
    )


CROSSED = frozenset(
    "street streets road roads roadway highway avenue lane crosswalk intersection hill hills "
    "slope slopes stream streams river rivers creek".split()
)


# Ways and town grounds one is on or in: one beside them is on the pavement or the platform,
# which a photo does not tell apart ("a man standing in → next to the street", "a bench in →
# next to the park", "a train pulling into → next to the station").
WAYS = frozenset(
    "street streets road roads roadway roadways highway sidewalk sidewalks pavement path paths "
    "trail trails track tracks racetrack lane lanes crosswalk intersection driveway runway "
    "tarmac park parks station stations platform platforms tunnel tunnels valley walk walkway "
    "walkways boardwalk".split()
)
WILD = frozenset({"wild"})


def _area(p: Parse, obj: int, cls: str | None, who: int | None, lex: Lexicon) -> bool:
    """Whether object obj is an area whose edge is no place apart from it: a way or a town
    ground (`WAYS`), or the enclosure a wild animal lives in ("a brown bear walking in → next
    to its zoo enclosure"; a cow beside its pen, a dog beside a cage are plain)."""
    if p.lows[obj] in WAYS:
        return True
    return p.lows[obj] in ENCLOSURES and cls == "animal" and setting_of(p, who, lex) in WILD


def _food_on_its_holder(p: Parse, s: int, obj: int, lex: Lexicon) -> bool:
    """Whether the relation at s places a food on or in its dish, utensil or another food
    ("a slice of pizza on a plate", "tomatoes on top of a pizza", "broccoli held up on a
    fork"): beside it, the food lies loose on the table (an independent reading, seed 91:
    0 of 8 good)."""

    def is_food(i: int | None) -> bool:
        return i is not None and (supercategory_of(p, i, lex) in FOODS or p.lows[i] in MEALS)

    # The food just before may be what is placed, however the parser attaches the phrase
    # ("a woman sitting … with Mexican food on her plate").
    if not is_food(_located_noun(p, p.heads[s])) and not (s > 0 and is_food(s - 1)):
        return False
    sc = supercategory_of(p, obj, lex)
    return sc == "kitchen" or sc in FOODS or p.lows[obj] in DISHES


# Players whose places the game fixes: the catcher and the umpire behind the batter.
PLAYERS = frozenset(
    "batter batters hitter catcher catchers umpire umpires pitcher ump plate".split()
)


def _at_the_plate(p: Parse, s: int, obj: int) -> bool:
    """Whether a relation at s places baseball players by each other, where the game fixes
    who stands before whom (an independent reading, seed 71)."""
    who = _located_noun(p, p.heads[s])
    words = {p.lows[obj]} | ({p.lows[who]} if who is not None else set())
    return not PLAYERS.isdisjoint(words) or (
        p.lows[obj] in _PEOPLE_PRONOUNS | {"him", "them"} and not PLAYERS.isdisjoint(p.lows)
    )


# Grounds with no edge to stand beside: one is always on or in them.
EXPANSES = frozenset(
    "terrain terrains landscape landscapes countryside wilderness desert savanna savannah "
    "plain plains tundra mountain mountains mountainside hillside slope slopes snow".split()
)
# A game or a board sport is done on its ground, not beside it.
SPORTS = frozenset(
    f"{stem}{end}"
    for stem in ("play", "pitch", "swing", "throw", "catch", "kick", "serve", "hit", "ski")
    + ("snowboard", "skate", "skateboard", "surf", "bat")
    for end in ("", "s", "es", "ing", "ed")
) | {"swung", "threw", "thrown", "caught", "hitting", "skiing", "skating", "batting"}


def _where_done(p: Parse, obj: int, lex: Lexicon) -> bool:
    """Whether beside, before or behind object obj is odd for where the sentence's action is
    done: an expanse one is always on ("a man on skis standing next to a snowy terrain"), a
    place or ground where a game or a board sport in the sentence is played ("a bunch of
    kids next to a field play soccer", "three people are skiing next to the snowy
    mountain"). An independent reading, seed 71: 0 of 7 such negatives good."""
    if p.lows[obj] in EXPANSES:
        return True
    ground = supercategory_of(p, obj, lex) == "place" or p.lows[obj] in lex.surfaces
    return ground and any(p.tags[j].startswith("VB") and p.lows[j] in SPORTS for j in range(len(p)))


def _located_class(p: Parse, head: int, lex: Lexicon, depth: int = 0) -> str | None:
    """`entity_class` of what a relation headed by token head locates; for a collective, of
    what it gathers ("a group of men standing around a table": men; "a couple of parking
    meters": meters, not people)."""
    if p.lows[head] in PARTITIVES and _of_complement(p, head) is not None:
        head = _of_complement(p, head)
    if p.tags[head].startswith("VB"):
        doer = subject_of(p, head)
        if doer is not None and p.lows[doer] in PARTITIVES and _of_complement(p, doer):
            # "a couple of frisbees are stuck in a tower": frisbees, not a couple of people
            return entity_class(p, _of_complement(p, doer), lex)
    cls = entity_class(p, head, lex)
    if cls is not None:
        return cls
    who = subject_of(p, head) if p.tags[head].startswith("VB") else head
    if who is not None and p.lows[who] in lex.collectives:
        member = _of_complement(p, who)
        return entity_class(p, member, lex) if member is not None else None
    if p.deps[head] in _CLAUSES and p.heads[head] != head and depth < 3:
        # "a man wearing a suit and standing on a field", "a giraffe standing" (parsed as a
        # noun): the verb's doer is its clause's.
        return _located_class(p, p.heads[head], lex, depth + 1)
    return None


_CLAUSES = frozenset({"acl", "conj", "relcl", "advcl"})


def _reciprocal_slots(p: Parse, ctx: RuleContext) -> list:
    """ "next to each other" → "far from each other", "near one another" → "far from one
    another": the only change of place a reciprocal object takes ("behind each other",
    "under one another" say nothing clear)."""
    lex, out, i = ctx.lex, [], 0
    if any(w in ROWS for w in p.lows):
        return []  # "a row of surfboards ... next to each other": a row says they are
    frozen = frozen_tokens(p, lex)
    while i < len(p):
        m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
        if m is None:
            i += 1
            continue
        length, rel = m
        end = i + length
        pair = tuple(p.lows[end : end + 2])
        if rel.group == "near" and pair in RECIPROCALS and not frozen[i] and not p.has("far"):
            if _a_pair_apart(p, i, end + 2, lex) and not any(
                p.deps[j] == "advmod" and j < i for j in p.children(i)
            ):
                score = ctx.stats.score([("rel|o", ("other",))], "far", veto=math.inf)
                out.append(((i, end), [(lex.relation_say["far"], score, True)]))
        i = end
    return out


RECIPROCALS = frozenset({("each", "other"), ("one", "another")})
# A group stands together by being one ("a group of children standing far from each other"
# reads self-contradictory: seed 101, 0 of 2 good), as do several who share one thing.
GATHERINGS = frozenset("group groups crowd crowds bunch team family class several many".split())


def _a_pair_apart(p: Parse, i: int, after: int, lex: Lexicon) -> bool:
    """Whether the reciprocal relation at i places two, no group and no more, sharing
    nothing the caption names: "two zebras standing next to each other" → "far from each
    other", but not "a group of children", nor "three people standing near one another with
    an umbrella" (seed 101)."""
    before = p.lows[:i]
    if not GATHERINGS.isdisjoint(before) or any(lex.numbers.get(w, 0) > 2 for w in before):
        return False
    if any(w.isdecimal() and int(w) > 2 for w in before):
        return False
    # "with an umbrella", "with one umbrella": one thing held by all of them
    return not (
        after + 1 < len(p) and p.lows[after] == "with" and p.lows[after + 1] in ("a", "an", "one")
    )


ROWS = frozenset("row rows line lines lined queue pile piles stack".split())


def _in_relation_phrase(p: Parse, lex: Lexicon) -> list[bool]:
    """Tokens inside a relation phrase of several words ("in front of", "on top of")."""
    out, i = [False] * len(p), 0
    while i < len(p):
        m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
        if m is not None and m[0] > 1:
            out[i : i + m[0]] = [True] * m[0]
        i += m[0] if m is not None else 1
    return out


# What rests on a table, a shelf or a counter, unless it is a person or an animal, would
# float beside it ("a laptop next to a desk", "a plate of food in front of a table").
FITTED = frozenset({"appliance", "furniture"})
# People, animals and luggage stand on the floor as well.
MOVABLE = frozenset({"person", "animal", "accessory"})
TABLETOPS = frozenset({"table", "shelf", "cabinet", "dresser", "counter", "countertop"})
# One grazes on what one eats, in the field one is in: "grazing near a fence" ↛ "on a fence".
GRAZING = frozenset({"graze", "grazes", "grazed", "grazing"})
EATING = frozenset({"eat", "eats", "eating", "munching", "chewing"})


DEVICES = frozenset("console consoles device devices electronics tablet tablets ipad".split())
CRAFT = frozenset(
    "boat boats sailboat sailboats ship ships kayak kayaks canoe canoes yacht yachts ferry "
    "raft rafts".split()
)


def _located_noun(p: Parse, head: int) -> int | None:
    """The noun a relation headed by token head locates, through relative clauses and
    collectives ("a lot of sailboats that are in the water" → sailboats)."""
    who = agent_of(p, head) if p.tags[head].startswith("VB") else head
    if who is not None and p.lows[who] in PARTITIVES:
        who = _of_complement(p, who) or who
    return who


RIDES = frozenset("cart carts carriage wagon ride rides transportation".split())
BEACHES = frozenset({"beach", "beaches", "shore", "sand"})
PERCHES = frozenset("branch branches limb limbs twig twigs wire wires perch stick".split())
WALLS = frozenset({"wall", "walls", "ceiling"})
MIRRORS = frozenset({"mirror", "mirrors", "reflection"})


def _stays(p: Parse, s: int, group: str, obj: int, cls: str | None, ctx: RuleContext) -> bool:
    """Whether the relation at s keeps its place whatever the statistics say: an object only
    ever seen "in" ("in amazement"), a grazed field, a boat in the water, a bird on its
    branch, what hangs on a wall, furniture or an appliance in the room or the house that
    holds it ("a piano in the living room area")."""
    lex = ctx.lex
    sc = supercategory_of(p, obj, lex)
    head = p.heads[s]
    ridden = sc in ("vehicle", "animal") or p.lows[obj] in RIDES
    if group in ("in", "on") and ridden:
        if verb_key(p, head, lex) in lex.ridden or p.lows[head] in ("ride", "rides"):
            return True  # "riding in a shopping cart", "going for a ride on an elephant"
    if p.lows[s] in ("among", "amongst"):
        return True  # "among others" → "next to others" hardly changes the scene
    if group == "in" and p.lows[obj] in MIRRORS:
        return True  # "a dog shown in a car rear view mirror" is its reflection
    if group == "in" and any(p.lows[j] == "out" and p.deps[j] == "prt" for j in range(len(p))):
        return True  # "a cat in a car looks out": it is inside
    if group == "in" and not _placed_otherwise(ctx.stats, noun_key(p, obj, lex), lex, "in"):
        return True
    grazing = not GRAZING.isdisjoint(p.lows) or ("grass" in p.lows and EATING & set(p.lows))
    if group in VERTICAL and sc == "place" and grazing:
        return True  # "cows grazing in a field" ↛ "next to a field"
    if group in ("in", "on") and p.lows[obj] in WATERS and obj > s:  # not "a lake ... on it"
        who = _located_noun(p, p.heads[s])
        if setting_of(p, who, lex) == "water" or (who is not None and p.lows[who] in CRAFT):
            return True  # "sailboats that are in the water" ↛ "next to the water"
    if group == "on" and p.lows[obj] in PERCHES and cls == "animal":
        return True  # "a bird on a branch" ↛ "in front of a branch"
    if group == "on" and p.lows[obj] in WALLS and cls not in ("person", "animal"):
        return True  # what is on a wall hangs there: "a dispenser on the wall"
    if group in ("in", "on") and p.lows[obj] in BEACHES and cls in ("person", "animal"):
        return True  # one on the beach is not beside it: "a man standing next to the beach"
    return group == "in" and cls in ("furniture", "appliance")


# Relations another caption's relation leaves possible for the same object (seed 101): one
# walking down a street walks along it, a train parked in front of a station is outside it,
# animals walking down or standing on a road may be in its middle.
IMPLIED = {
    "along": ("down", "up"),
    "outside": ("front",),
    "middle": ("down", "up", "along", "on"),
}


# Relations another caption may use to say a thing is by its object, and kinds of objects one
# near the other is near both ("near incoming waves" and "next to the ocean").
NEARISH = frozenset({"near", "at", "edge", "along"})
FENCES = frozenset("fence fences cage cages pen pens enclosure enclosures gate railing".split())


def _said_near(p: Parse, obj: int, o: str, ctx: RuleContext) -> bool:
    """Whether another caption already puts something by object obj (key o) or its kin: the
    word itself or a word of its compound ("next to the window" for "a window sill"), a noun
    of its supercategory, another water or fence ("near incoming waves" for "the ocean",
    "lined up at a metal fence" for "a cage"). Beside it is then not false (an independent
    reading, seed 91)."""
    lex = ctx.lex
    words = {o} | {p.lows[j] for j in p.children(obj) if p.deps[j] == "compound"}
    sc = supercategory_of(p, obj, lex)
    for g, o2 in ctx.siblings.rel:
        if g not in NEARISH:
            continue
        n2 = lex.nouns.get((o2,))
        if o2 in words or (sc is not None and n2 is not None and n2.supercategory == sc):
            return True
        if any(o in kin and o2 in kin for kin in (WATERS, FENCES)):
            return True
    return False


def _placed_otherwise(stats: CorpusStats, o: str, lex: Lexicon, own: str) -> bool:
    """Whether the corpus places object o by a relation other than `own` and "at" ("in
    flight", "in amazement", "in a different language" are no places one is beside)."""
    slot = stats.index["rel|o"].get((o,)) or {}
    return any(c for g, c in slot.items() if g in lex.relation_say and g not in (own, "at"))


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


# Scenery seen far off: "snow capped mountains", "a blurry city", "the sunshine" in the
# foreground read odd (an independent reading, seeds 51–81: 0 of 3 good), and so do the
# buildings behind a scene put in front of its subject ("a street sign with small shops in
# the foreground", "men playing on a field with several buildings in the foreground": seed
# 101, 0 of 2 good).
DISTANT = frozenset(
    "sky skies clouds horizon skyline sunset sunrise moon sun sunshine mountain mountains "
    "hills city cityscape building buildings skyscraper skyscrapers shops stores houses "
    "storefronts".split()
)
INDOOR_WORDS = frozenset({"inside", "indoors"})
OUTDOOR_SIDES = frozenset({"outside", "outdoors"})
WEATHER = frozenset(
    "snowing raining snows rains rain snow sunny windy storm stormy cloudy foggy".split()
)


def _outdoor_doing(p: Parse, lex: Lexicon) -> bool:
    """Whether the caption says weather or a vehicle on its way ("while it's snowing
    outside", "travelling on his motorcycle outside"), which "inside" would contradict."""
    if not WEATHER.isdisjoint(p.lows):
        return True
    return _riding_scene(p, lex)


def _riding_scene(p: Parse, lex: Lexicon) -> bool:
    """Whether the caption has a vehicle of the road, the rails, the water or the air (a
    skateboard goes indoors too: "a girl sitting on a skateboard inside")."""
    ways = lex.vehicle_settings - {"pavement"}
    return any(setting_of(p, j, lex) in ways for j in range(len(p)))


OUTDOOR_WORDS = frozenset(
    "grass sunny sun sky trees tree field street road beach snow park yard garden".split()
)


GROVES = frozenset({"trees", "forest", "woods"})


def _middle_of(p: Parse, obj: int, cls: str | None, ctx: RuleContext) -> list:
    """ "on the side of" → "in the middle of" a place or a ground for what stands or moves
    there ("a man standing on the side of the road", "zebras at the edge of a forest"),
    where the statistics, which hardly see the phrase, veto it: not the side of a building
    or a boat (a face, not an edge), nor a fixture of the road or a parked vehicle (only
    people and animals stand in the middle of a road)."""
    lex, o = ctx.lex, noun_key(p, obj, ctx.lex)
    say = lex.relation_say["middle"]
    said = any((g, o) in ctx.siblings.rel for g in ("middle", *IMPLIED["middle"]))
    if cls not in ANIMATE or p.has(say) or said:
        return []
    ground = supercategory_of(p, obj, lex) == "place" or p.lows[obj] in lex.surfaces
    return [(say, RELATION_FLOOR, True)] if ground or p.lows[obj] in GROVES else []


def _side_slots(p: Parse, lex: Lexicon) -> list:
    """Side words swapped with their opposite: "in the background" → "in the foreground",
    "to the left of" → "to the right of", "sitting outside" → "sitting inside"."""
    slots = []
    frozen = frozen_tokens(p, lex)
    in_phrase = _in_relation_phrase(p, lex)
    for i, low in enumerate(p.lows):
        if frozen[i] or in_phrase[i]:
            continue  # "on top of" ↛ "on bottom of": the phrase is replaced whole or not at all
        # "playing outside in the grass": the place that follows says which side it is
        # ("sitting inside with a book" is no place).
        place = i + 1 < len(p) and p.tags[i + 1] == "IN" and (p.lows[i + 1],) in lex.relations
        # Alone, as the parser reads it: an adverb, "is outside", "working outside cooking".
        alone = p.deps[i] in ("advmod", "acomp", "prep") and p.tags[i] in ("RB", "JJ", "IN")
        alone = alone and p.child(i, ("pobj",)) is None and p.tags[p.heads[i]].startswith("VB")
        # Indoors, nothing is in the grass or the sun: "dogs playing outdoors in the grass".
        outdoor = lex.side_adverbs.get(low) in INDOOR_WORDS and not OUTDOOR_WORDS.isdisjoint(p.lows)
        # Nor does it snow indoors, nor does one ride a motorcycle or a train there.
        outdoor = outdoor or (lex.side_adverbs.get(low) in INDOOR_WORDS and _outdoor_doing(p, lex))
        # "a bus moving down the road with people inside": who is in the vehicle, not a scene
        # one can turn inside out (an independent reading, seed 71).
        riding = lex.side_adverbs.get(low) in OUTDOOR_SIDES and _riding_scene(p, lex)
        if low in lex.side_adverbs and alone and not place and not outdoor and not riding:
            slots.append(((i, i + 1), [(lex.side_adverbs[low], 0.0, True)]))
        elif low == "background" and not DISTANT.isdisjoint(p.lows):
            continue  # "with sky in the background" ↛ "sky in the foreground"
        elif low == "top" or (low == "back" and _ridden_back(p, i, lex)):
            # The underside is rarely what one sees or sits on ("kissing the bottom of her
            # head", "a cat on the bottom of a fridge"); one rides on an animal's back.
            continue
        elif (
            low in lex.sides
            and p.tags[i] in ("NN", "JJ")
            and (
                (i > 0 and p.lows[i - 1] in lex.side_before)
                or (i > 0 and p.lows[i - 1] == "in" and low in SCENE_PLANES)
                or (i + 1 < len(p) and p.lows[i + 1] in lex.side_after)
            )
            and not p.has(lex.sides[low])
            and not _side_is_attribute(p, i, lex)
        ):
            slots.append(((i, i + 1), [(lex.sides[low], 0.0, True)]))
    return slots


# Parts a side word only names ("his left hand", "the front legs"), and the parts of a house
# or a shop ("the front window of a store", "the back door"): an attribute of the part, not
# where a thing is (independent readings, seeds 71–91: 0 of 4 good); a vehicle's front and
# back seats and windows are places in it.
BODY_PARTS = frozenset("hand hands arm arms leg legs foot feet paw paws teeth".split())
HOUSE_PARTS = frozenset("window windows door doors porch yard lawn steps".split())
VIEWS = frozenset({"view", "shot", "angle"})
HEADS = frozenset("head heads face faces nose chin".split())


# "with utility vehicles in background": the planes of a picture need no article.
SCENE_PLANES = frozenset({"background", "foreground"})


def _side_is_attribute(p: Parse, i: int, lex: Lexicon) -> bool:
    """Whether the side word at i names a kind of part or a viewpoint rather than a place
    ("their right to protest", "his left hand", "the front end view", "the back window of a
    store")."""
    after = p.lows[i + 1] if i + 1 < len(p) else ""
    if after in BODY_PARTS or not VIEWS.isdisjoint(p.lows[i + 1 : i + 3]):
        return True
    if p.lows[i] in ("left", "right") and after not in lex.side_after and p.deps[i] != "pobj":
        return True  # "expressing their right", not "on the left", "to the right of"
    if after in HOUSE_PARTS:
        return not any(supercategory_of(p, j, lex) == "vehicle" for j in range(len(p)))
    return False


# Verbs of posture and motion where "together" says where the doers are ("two zebras
# standing together" → "standing apart"); not "tied together", "stacked together".
# Not "pose": "posing apart" is unidiomatic (seeds 51, 111: 0 of 2 good).
TOGETHER_VERBS = frozenset("stand sit lie lay walk graze rest run swim sleep huddle".split())
_COPULA = frozenset({"is", "are", "was", "were", "be"})
AIRBORNE = (("in", "the", "air"), ("in", "the", "sky"))
ALOFT = frozenset(
    "ground above over off midair jump jumping fly flies flying flew soar soars soaring".split()
)


def _apart_slots(p: Parse, lex: Lexicon) -> list:
    """ "together" → "apart" ("close together" → "far apart") after a verb of posture or
    motion of people or animals: the adverb of "next to each other"."""
    out, frozen = [], frozen_tokens(p, lex)
    for i, low in enumerate(p.lows):
        v = p.heads[i]
        if low != "together" or frozen[i] or p.deps[i] != "advmod" or p.has("apart"):
            continue
        if i + 1 < len(p) and p.lows[i + 1] == "with" or not ROWS.isdisjoint(p.lows):
            continue  # "together with his dog" names company, "in a line" keeps them close
        if any(p.lows[j] not in ("close", "closely") for j in p.children(i)):
            continue  # "closely together" would leave "closely apart"
        if not p.tags[v].startswith("VB") or verb_key(p, v, lex) not in TOGETHER_VERBS:
            continue
        if any(p.lows[j] == "around" for j in p.children(v)):
            continue  # "standing around drinking wine together": "apart" would dangle
        if _located_class(p, v, lex) in ("person", "animal"):
            close = i > 0 and p.lows[i - 1] in ("close", "closely")
            out.append(((i - close, i + 1), [("far apart" if close else "apart", 0.0, True)]))
    return out + _side_by_side_slots(p, lex)


def _side_by_side_slots(p: Parse, lex: Lexicon) -> list:
    """ "side by side" → "far apart" where it says where people or animals stand or go
    ("two elephants are walking through trees side by side"), as "together" → "apart"."""
    for i in range(len(p) - 2):
        # The set phrase (`phrases.json`) is replaced whole, so it is not broken.
        if tuple(p.lows[i : i + 3]) != ("side", "by", "side") or p.has("apart"):
            continue
        v = p.heads[i]
        if not p.tags[v].startswith("VB") or p.lows[v] in _COPULA:
            v = next((j for j in range(i - 1, -1, -1) if p.tags[j].startswith("VB")), v)
        verb = p.tags[v].startswith("VB") and (
            verb_key(p, v, lex) in TOGETHER_VERBS or p.lows[v] in _COPULA
        )
        if verb and _located_class(p, v, lex) in ANIMATE:  # not "paths running side by side"
            return [((i, i + 3), [("far apart", 0.0, True)])]
    return []


# What one is in and may as well stand outside of: a vehicle one rides inside, a building.
ENTERABLE = frozenset(
    "car cars bus buses train trains truck trucks van vans taxi cab jeep suv trolley tram "
    "airplane plane jet house building store shop restaurant cafe tent barn garage station "
    "church office bakery market terminal airport".split()
)


def _outside_of(p: Parse, obj: int, cls: str | None, ctx: RuleContext, best: float | None) -> list:
    """ "in" → "outside" a vehicle or a building for a person or an animal ("a dog sitting
    in a car" → "outside a car"), where the statistics, which seldom see "outside" with
    the object, veto it: the plain opposite an independent reading found good. It scores as
    the best other change (`best`) where there is one, so that the opposite is preferred."""
    lex, o = ctx.lex, noun_key(p, obj, ctx.lex)
    say = lex.relation_say["outside"]
    if cls not in ANIMATE or p.has(say) or ("outside", o) in ctx.siblings.rel:
        return []
    score = RELATION_FLOOR if best is None else best
    return [(say, score, True)] if p.lows[obj] in ENTERABLE else []


def _forms(stems: str, extra: str = "") -> frozenset[str]:
    """The stems with their -s, -es, -ing and -ed endings (and `extra` irregular forms)."""
    ends = ("", "s", "es", "ing", "ed")
    return frozenset(f"{w}{e}" for w in stems.split() for e in ends) | frozenset(extra.split())


# Going somewhere, where "toward" ↔ "away from" and "into" ↔ "out of" are the plain opposites
# of the way one goes ("a polar bear walks toward the water" → "away from the water", "a
# passenger train pulls into a station" → "out of a station"); looking or facing, where
# "toward" ↔ "away from" is ("a giraffe looking toward the camera").
GOING = _forms(
    "walk run head go come move drive ride pull step climb jump dive swim wade fly march "
    "trot gallop charge race hurry wander stroll skate ski surf paddle sail taxi roll",
    "went gone came ran flew swam dove rode drove stepping running swimming taxiing "
    "riding driving coming moving diving wading strolling skating skiing racing charging",
)
GAZING = _forms("look stare gaze peer glance face turn lean point", "staring facing")
# Where one does not go out of: the air, the sky, the camera's view.
NOT_LEFT = frozenset("air sky skies camera distance view picture frame shot".split())
GOING_OPPOSITES = {"toward": "away", "away": "toward", "into": "out_of", "out_of": "into"}


def _way_opposite(
    p: Parse, s: int, group: str, obj: int, ctx: RuleContext, best: float | None
) -> list:
    """ "toward" ↔ "away from", "into" ↔ "out of" where a person, an animal or a vehicle
    goes there (or, for toward and away, looks there), where the statistics, which seldom
    see the opposite with the object, veto it: the plain opposite of the way one goes, a
    kind the independent readings found good. Scored as the best other change (`best`)."""
    lex, head = ctx.lex, p.heads[s]
    new = GOING_OPPOSITES.get(group)
    if new is None or not p.tags[head].startswith("VB") or "away" in p.lows:
        return []  # "running away through grass toward trees" ↛ "away … away from trees"
    if new in ("into", "out_of") and (p.lows[obj] in NOT_LEFT or "onto" in p.lows[s:]):
        return []  # "walk out of a bus onto the street" ↛ "into a bus onto the street"
    verb = p.lows[head]
    ways = GOING | GAZING if new in ("toward", "away") else GOING
    if verb not in ways or _located_class(p, head, lex) not in GOERS:
        return []
    if new in ("toward", "away") and (
        supercategory_of(p, obj, lex) == "sports" or verb.startswith("jump")
    ):
        return []  # one runs or jumps toward a ball or a frisbee to get it, never away
    if new in ("into", "out_of") and not {"toward", "towards"}.isdisjoint(p.lows[s:]):
        return []  # "walks out of the ocean towards a beach chair": the way is said twice
    say = lex.relation_say[new]
    if p.has(say) or (new, noun_key(p, obj, lex)) in ctx.siblings.rel:
        return []
    return [(say, RELATION_FLOOR if best is None else best, True)]


def _ridden_back(p: Parse, i: int, lex: Lexicon) -> bool:
    """Whether "back" at i is the back of an animal or a vehicle ("riding on the back of an
    elephant", "sitting on the back of a motorcycle"): its front is no place to be."""
    if i > 1 and tuple(p.lows[i - 2 : i]) == ("on", "its"):
        # "a statue of an elephant with a howdah on its back" (seeds 71, 91: "on its front")
        return any(supercategory_of(p, j, lex) in ("animal", "vehicle") for j in range(i))
    if i + 1 >= len(p) or p.lows[i + 1] != "of":
        return False
    return supercategory_of(p, _of_complement(p, i), lex) in ("animal", "vehicle")


# What the sky holds and never lies on the ground: "a rainbow in the sky" ↛ "on the ground".
SKY_ONLY = frozenset("rainbow rainbows moon sun clouds cloud stars fireworks smoke".split())


def _airborne_slots(p: Parse) -> list:
    """ "in the air" / "in the sky" → "on the ground" where the phrase alone says where a
    thing is ("two snowboarders in the air", "a man that is in the air"): not after a verb
    of flight or of holding ("flying in the sky", "holding a racket in the air")."""
    out = []
    for i in range(len(p) - 2):
        if tuple(p.lows[i : i + 3]) not in AIRBORNE or not ALOFT.isdisjoint(p.lows):
            continue  # "in the air above a half pipe" says it twice
        if not SKY_ONLY.isdisjoint(p.lows):
            continue  # "in the air above a half pipe" says it twice
        h = p.heads[i]
        if i > 0 and p.lows[i - 1] in ("up", "high", "mid"):
            continue  # "high in the air": the modifier would be left on the new phrase
        if p.tags[h] in PROPER_OR_COMMON or p.lows[h] in _COPULA:
            out.append(((i, i + 3), [("on the ground", 0.0, True)]))
    return out


def _up_or_down_refused(
    p: Parse, obj: int, cls: str | None, change: tuple[str, str], pair: tuple, ctx: RuleContext
) -> bool:
    """Whether the change (old group, new group) of the relation with object token obj is a
    refused move up or down; `pair` is (located noun key, object key)."""
    old, group = change
    who, o = pair
    stats = ctx.stats
    if group in VERTICAL:
        # A pile or a group has a height of its own: "under a stack of luggage" is odd.
        if p.lows[p.heads[obj]] == "of" and p.lows[p.heads[p.heads[obj]]] in PARTITIVES:
            return True
        # The located noun itself seen so ("a triangle below a diamond"), not its verb.
        stacked = stats.count("rel|ho", (who, o), group) >= OBSERVED_MIN
        if _no_vertical(p, obj, cls, group, old, ctx.lex, stacked):
            return True
    # Up and down need the object's own evidence: nothing was ever seen under a curb, a
    # tripod or a cutting board, nor on a water fountain.
    return group in ("on", "under", "above") and not stats.count("rel|o", (o,), group)


def _with_opposites(p: Parse, slot: tuple, cands: list, ctx: RuleContext) -> list:
    """The candidates of a relation slot (s, group, object token, located class) with the
    plain opposites the statistics veto: the middle of what one is at the edge of, outside
    a vehicle or a building (then never the vaguer "next to" it), the other way one goes."""
    s, group, obj, cls = slot
    say = ctx.lex.relation_say
    if not cands and group == "edge":
        cands = _middle_of(p, obj, cls, ctx)
    best = max((c[1] for c in cands), default=None)
    if group == "in" and not any(c[0] == say["outside"] for c in cands):
        cands = cands + _outside_of(p, obj, cls, ctx, best)
    if group == "in" and any(c[0] == say["outside"] for c in cands):
        # "sitting in → outside a restaurant", not "next to a restaurant" (an independent
        # reading, seed 81: "someone is online next to the slightly crowded restaurant").
        cands = [c for c in cands if c[0] != say["near"]]
    opposite = say.get(GOING_OPPOSITES.get(group, ""))
    if opposite is not None and not any(c[0] == opposite for c in cands):
        cands = cands + _way_opposite(p, s, group, obj, ctx, best)
    return cands


def relation(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex, stats = ctx.lex, ctx.stats
    slots = _side_slots(p, lex) + _apart_slots(p, lex) + _airborne_slots(p)
    riding = any(
        t.startswith("VB") and verb_key(p, j, lex) in lex.ridden for j, t in enumerate(p.tags)
    )
    for s, e, rel, obj in _relation_slots(p, ctx):
        if riding and setting_of(p, obj, lex) is not None:
            continue  # "a man on a motorbike rides down the street": he is on it
        if rel.group not in ("toward", "away") and _bound(p, s, obj, lex):
            continue
        surface = p.lows[obj] in lex.surfaces  # "a bus on a street" ↛ "in front of a street"
        # A vehicle or board on its surface is not beside it: "a train next to the tracks".
        vehicle = surface and setting_of(p, agent_of(p, p.heads[s]), lex) in lex.vehicle_settings
        h, o = head_key(p, p.heads[s], lex), noun_key(p, obj, lex)
        # For up and down the class of what is located speaks too: a cat sits under a bench,
        # a person does not.
        cls = _located_class(p, p.heads[s], lex)
        if _stays(p, s, rel.group, obj, cls, ctx):
            continue
        feats = [("rel|ho", (h, o)), ("rel|h", (h,)), ("rel|o", (o,))]
        vertical = [*feats, ("crel|co", (cls, o))] if cls is not None else feats
        afloat = setting_of(p, agent_of(p, p.heads[s]), lex) == "water"
        resting = rel.group == "on" and cls not in MOVABLE and o in TABLETOPS
        fitted = "appliance" in (cls, supercategory_of(p, obj, lex))
        fitted = fitted and {cls, supercategory_of(p, obj, lex)} <= FITTED
        if _bare(p, obj):
            continue  # "in bed", "on horseback", "on sidewalk" ↛ "next to bed"
        located = _located_noun(p, p.heads[s])
        who = noun_key(p, located, lex) if located is not None else None
        cands = []
        for group in rel.contrast:
            say = lex.relation_say[group]
            if p.has(say) or (group, o) in ctx.siblings.rel:
                continue
            if _vague_or_odd(p, (s, e), rel.group, group, obj, cls, ctx):
                continue
            if (CONVERSE.get(group), who) in ctx.siblings.rel:
                continue  # "a train behind a bench" where another says "a bench in front of it"
            if group == "near" and _said_near(p, obj, o, ctx):
                continue
            if any((g2, o) in ctx.siblings.rel for g2 in IMPLIED.get(group, ())):
                continue  # "walking along a street" where another says "down a city street"
            if _up_or_down_refused(p, obj, cls, (rel.group, group), (who, o), ctx):
                continue
            # Beside a road is not on it: a thing by a ground may stand on it, not on water.
            onto = group == "on" and rel.group in BESIDE and p.lows[obj] not in WATERS
            onto = onto and cls in GOERS and not afloat
            # "a man catching a Frisbee next to a field" is on it anyway (seeds 41, 91).
            onto = onto and not _where_done(p, obj, lex)
            if (resting and group in BESIDE) or (group == "on" and not GRAZING.isdisjoint(p.lows)):
                continue
            if fitted and group in ("front", "behind"):
                continue  # "a dishwasher behind an oven": appliances stand side by side
            if (surface and group not in lex.surfaces_keep and not onto) or (
                vehicle and group == "near"
            ):
                continue
            score = _relation_score(
                stats,
                vertical if group in VERTICAL else feats,
                group,
                p.tags[p.heads[s]].startswith("VB"),
            )
            if score is not None:
                cands.append((say, score, say in rel.replacements))
        cands = _with_opposites(p, (s, rel.group, obj, cls), cands, ctx)
        if cands:
            slots.append(((s, e), cands))
    slots += _reciprocal_slots(p, ctx)
    if not slots:
        return None
    (s, e), repl, score = pick(rng, slots, antonyms=True)
    return [(s, e, match_case(p.words[s], repl))], score
