"""The `verb` rule (DESIGN §4): replace a verb by one that fits its subject, its object, its
medium and the scene, in the same form."""

from __future__ import annotations

import math

from ahnpl.pipeline.caption_parse import Choices, Parse, frozen_tokens, match_phrase
from ahnpl.pipeline.corpus_stats import (
    OBSERVED_MIN,
    CorpusStats,
    caption_nouns,
    noun_key,
    verb_key,
)
from ahnpl.pipeline.lexicon import TAG_TO_FORM, Lexicon
from ahnpl.pipeline.rules.common import (
    SCENE_RATIO,
    Result,
    RuleContext,
    agent_of,
    fits_known_contexts,
    pick,
    setting_of,
    subject_of,
    supercategory_of,
)
from ahnpl.pipeline.surface import match_case

# A verb must fit its subject and object: a verb seen under a quarter as often as expected
# there ("horses sitting"), or one too rare for absence to tell ("an airplane falls"), is out.
VERB_RATIO = 0.25
VERB_FLOOR = -7.0
VERB_KNOWN = 60

# An object is more telling than a subject ("a man" does anything): fewer sightings suffice.
VERB_KNOWN_OBJECT = 10
VERB_MIN = 1  # an argument seen this often has shown which verbs it takes
VERB_SEEN = 5  # a verb seen this often with its object (or subject) is plausible with it
VERB_SCENE_EXPECTED = 3.0
RELATION_SEEN = 3  # a verb seen this often with a relation to an object takes it there
RIDDEN = "being ridden"
RIDDEN_SEEN = 10  # a vehicle the corpus rides this often is ridden, not driven
VERB_SCENE_KNOWN = 80
# a scene word seen with this many verbs of the kind knows which fit


def _verb_features(p: Parse, i: int, ctx: RuleContext) -> list[tuple[str, tuple]]:
    """The contexts of the verb at token i: its subject and object, its relations."""
    lex = ctx.lex
    subj, obj = subject_of(p, i), _portion_of(p, p.child(i, ("dobj",)))
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
        prt = p.child(i, ("prt",))
        particle = p.lows[prt] if prt is not None else None
        if particle is not None and (particle not in _DIRECTIONS or p.child(i, ("dobj",))):
            continue  # phrasal verbs change meaning with the verb: "stand out", "lay out"
        obj = p.child(i, ("dobj",))
        if obj is not None and p.tags[obj] == "PRP":
            continue  # "serve it": what "it" is, and so which verbs fit it, is unknown
        if _purpose(p, i) or _to_a_verb(p, i, lex):
            continue  # "waiting to cross", "stopped to let people board", "running to steal a
            # base" ↛ "walking", "kneeling to pet animals" ↛ "standing": done for the purpose
        if _frame_of_its_own(p, i) or _stranded(p, i) or _at_a_speed(p, i):
            continue
        k = TAG_TO_FORM[tag]
        match = [v for v, form in entries if form == k]
        if len(match) != 1:
            continue
        cands = _verb_candidates(p, i, match[0], k, present, ctx, particle)
        if cands:
            slots.append((i, cands))
    if not slots:
        return None
    i, repl, score = pick(rng, slots)
    if isinstance(repl, tuple):
        form, relation = repl
        return [(i, i + 1, match_case(p.words[i], form)), relation], score
    return [(i, i + 1, match_case(p.words[i], repl))], score


def _groups(lex, v, transitive: bool, obj_kind, subj_kind, lifeless: bool, setting) -> list:
    """The verb groups of `v` whose frame (transitivity, object and subject kinds) fits."""
    return [
        (g, members)
        for g in lex.verb_membership[v.forms[0]]
        for g_transitive, objects, members, subjects in (lex.verb_groups[g],)
        if g_transitive == transitive
        and not (objects and obj_kind not in objects)
        and not (subjects and subj_kind not in subjects)
        and not (lifeless and g == "posture")
        # A bird on a branch sits as it stands: no change of meaning.
        and not (setting == "bird" and g == "posture")
    ]


def _verb_candidates(
    p: Parse, i: int, v, k: int, present: set, ctx: RuleContext, particle: str | None = None
) -> list:
    lex = ctx.lex
    obj = p.child(i, ("dobj",))
    transitive = obj is not None or p.child(i, ("auxpass", "nsubjpass")) is not None
    # "A car is parked", "a man is seated": the passive of a verb of rest states where a thing
    # is, as "is driving", "is standing" would; it takes their -ing form.
    aux = p.child(i, ("auxpass",))
    if k == 4 and obj is None and aux is not None and p.lows[aux] in _BE_FINITE:
        if p.child(i, ("agent",)) is None:
            transitive, k = False, 2
    obj_kind = supercategory_of(p, _portion_of(p, obj), lex)
    portion = _portion_of(p, obj) != obj  # "a slice of pizza" is eaten or cut, not baked
    # Only a subject known to be alive sleeps or kneels: not "an oven", not "flowers"; and a
    # thing that "sits" on a table also "lies" or "stands" there: no change of meaning.
    subj = agent_of(p, i)
    lifeless = not _animate(p, subj, lex)
    kind = supercategory_of(p, _members(p, subj, lex), lex) if subj is not None else None
    if _no_slot(p, i, kind, subj, obj):
        return []
    animal = kind == "animal"
    purpose = i > 0 and p.lows[i - 1] == "to"  # "ready to swing" ↛ "ready to hold"
    # "A couple of small birds" are birds: they perch, they do not lie on a table.
    setting = setting_of(p, _members(p, subj, lex), lex) if subj is not None else None
    beast = noun_key(p, _members(p, subj, lex), lex) if animal else None
    feats = _verb_features(p, i, ctx)
    groups = _groups(
        lex, v, transitive, obj_kind, supercategory_of(p, subj, lex), lifeless, setting
    )
    # Asleep or posing, one does nothing else: "a cat sits on a bench watching the ground" ↛
    # "sleeps", "a man sitting on a bench reading a newspaper" ↛ "sleeping", "people playing
    # while throwing frisbees" ↛ "posing"; nor does one sleep with a laptop or a knife.
    busy = _busy(p, i)
    handled = feats + _patient(p, i, lex)
    # Counted among the verbs that could stand there: "kites fly", so no other motion verb.
    among = tuple(sorted({m.forms[0] for _, members in groups for m in members} | {v.forms[0]}))
    scene = [("co|n", (n,)) for n in sorted(caption_nouns(p, lex))]
    # "A bus parked in front of …" → "A bus driving in front of …": an intransitive verb has no
    # passive participle to put there.
    if k == 4 and p.deps[i] == "acl" and not transitive:
        k = 2
    out: dict[str, tuple] = {}
    for g, members in groups:
        if _group_ruled_out(p, i, ctx, g, v, subj, particle):
            continue
        for other in members:
            base = other.forms[0]
            if (
                base in v.synonyms
                or present & set(other.forms)
                or (lifeless and base in lex.animate_only)
                or (animal and base in lex.human_only)
                or (purpose and base in lex.statives)
                or (base in lex.road_only and setting not in (None, "road"))
                or (busy and base in _STILL)
                or (portion and base in _WHOLE_DISH)
                or (g == "posture" and _posture_unfit(p, i, ctx, subj, beast, v.forms[0], base))
                or (g == "posture" and _preposition_unfit(p, i, ctx.lex, base))
                or _said_by_siblings(base, ctx)
                or other.forms[k] in out
                # "sitting down" → "lying down", "walking up" → "running up": the corpus
                # must say the new verb with the particle ("falling up" is no phrase).
                or (particle and ctx.stats.count("prt|v", (base,), particle) < OBSERVED_MIN)
            ):
                continue
            if _unseen(ctx.stats, g, base, feats, handled, animal):
                continue
            score, extra = _fit_frame(p, i, ctx, g, feats, base, among, transitive, scene)
            if extra is not None and k == 4:
                continue  # "cars sit parked on the side of a street" ↛ "sit driven down"
            if score is not None:
                # A vehicle "parking", "stopping" is barely a scene: it is parked, stopped.
                form = other.forms[4 if k == 2 and base in _AT_REST else k]
                out[form] = (form if extra is None else (form, extra), score, False)
    ridden = _ridden(p, i, ctx, v, k, subj, feats, scene)
    if ridden is not None and not present & {"ride", "rides", "riding", "rode", "ridden"}:
        out[RIDDEN] = (RIDDEN, ridden, False)
    return list(out.values())


def _no_slot(p: Parse, i: int, kind: str | None, subj: int | None, obj: int | None) -> bool:
    """Whether the verb at i is no slot whatever the replacement.

    A thing other than a vehicle (`kind`, the subject's supercategory) does nothing: "a bowl
    holds soup", "a clock reads 8:29" state what is there ("pulls soup", "checks 8:29" are no
    scene). A passive's subject is what is done to ("the cake is cut"); a room or a place
    found as the subject is a misparse of where someone does it ("a man is in a kitchen
    making pizzas"). What one handles while doing something else is held, and the rest was
    written for that ("a man making duck lips while holding an orange" ↛ "eating", "a surfer
    walking out of the water holding his board" ↛ "riding"): a handling verb beside another
    action of its agent stays."""
    if kind not in _DOERS and p.child(i, ("nsubjpass", "auxpass")) is None:
        return True
    return obj is not None and _busy(p, i, _STATES, subj)


def _posture_unfit(p: Parse, i: int, ctx: RuleContext, subj, beast, source: str, base: str):
    """Whether the subject rules the posture `base` out: a horse, an elephant or a giraffe
    rests standing ("a herd of elephants lying on a road", "a horse lying between parked
    cars"); hoofed animals do not sit, and their "sitting" is lying ("a herd of cattle
    sitting" where "four cows lay" is made); several people do not lie on one seat ("many
    people sleeping on two benches"), and nobody lies on a thing that is no place to lie
    ("a woman laying on a laptop")."""
    if beast is not None:
        if base in _PLACED and beast in _UPRIGHT:
            return True
        if beast in _NO_SITTING and (
            base == "sit" or (base in _RECLINE and "sit" in ctx.siblings.verbs | {source})
        ):
            return True
        return False
    if base not in _RECLINE or subj is None:
        return False
    places = [
        k
        for j in p.children(i)
        if p.deps[j] == "prep" and p.lows[j] in ("on", "in", "onto")
        for k in p.children(j)
        if p.deps[k] == "pobj"
    ]
    lex = ctx.lex
    if any(supercategory_of(p, k, lex) in _NO_BED for k in places):
        return True
    m = _members(p, subj, lex)
    several = p.tags[m] == "NNS" or m != subj
    return several and any(noun_key(p, k, lex) in _SEATS for k in places)


def _portion_of(p: Parse, obj: int | None) -> int | None:
    """The food a portion is of ("a slice of pizza" → pizza, "a piece of cake" → cake), which
    is what is eaten or cut; else `obj`. The counts of "slice" and "piece" as objects are too
    few to tell which verbs take them ("eating a slice of pizza" ↛ "cutting" had been vetoed
    by them)."""
    if obj is None or p.lows[obj] not in _PORTIONS:
        return obj
    of = next((j for j in p.children(obj) if p.lows[j] == "of" and p.deps[j] == "prep"), None)
    inner = p.child(of, ("pobj",)) if of is not None else None
    return obj if inner is None else inner


def _patient(p: Parse, i: int, lex: Lexicon) -> list:
    """A passive's subject as the object feature of the verb at i, which it is: what a
    handling verb handles ("the ball to be hit" ↛ "to be swung"), and so is the noun a passive
    participle describes ("a bowl of stew being held" ↛ "being swung"); else []."""
    passive = p.child(i, ("nsubjpass",))
    if passive is None and p.deps[i] == "acl" and p.child(i, ("auxpass",)) is not None:
        passive = p.heads[i]
    return [("svo|o", (noun_key(p, passive, lex),))] if passive is not None else []


def _unseen(stats: CorpusStats, g: str, verb: str, feats: list, handled: list, animal: bool):
    """Whether the corpus lacks what `verb` of group `g` needs at the slot: its handled object
    (`_OBJECT_SEEN`, `handled` with a passive's subject) or a person's place (`_placed`)."""
    if g in _OBJECT_SEEN and not _object_seen(stats, handled, verb):
        return True
    return verb in _PLACED and not animal and not _placed(stats, feats, verb)


def _group_ruled_out(p: Parse, i: int, ctx: RuleContext, g: str, v, subj, particle) -> bool:
    """Whether group `g` offers no verb at slot i whatever the verb: a gait for a thing, a
    posture on a horse or of a person rising, a bicycle moving by itself, a bird walking
    where it flies."""
    lifeless = not _animate(p, subj, ctx.lex)
    if g in _FRAME_SEEN and (lifeless or not _literal_slot(p, i, ctx.lex, particle)):
        return True
    if g == "posture" and (_on_a_mount(p, i, ctx) or _on_the_body(p, i)):
        return True
    if g in ("posture", "halt") and (_along_a_path(p, i) or _leaning(p, i)):
        return True
    if g == "posture" and (_in_a_position(p, i) or _leaning_on(p, i, v)):
        return True
    # A person "sitting down", "standing up" moves into a posture, among acts and places of
    # that move ("sitting up brushing her teeth", "lying down in a chair"); a dog "laying
    # down" rests.
    if g == "posture" and particle is not None and not _animal(p, subj, ctx.lex):
        return True
    if g == "vehicle_motion" and _rider_moves_it(p, subj, ctx):
        return True
    if g in _DISH_GROUPS and p.child(i, ("nsubjpass", "auxpass")) is not None:
        return True
    # A bird flies overhead: not "walking overhead", "racing in the sky".
    kind = supercategory_of(p, _members(p, subj, ctx.lex), ctx.lex) if subj is not None else None
    # A vehicle that carries a load pulls it and may push it: one act ("semi pulling cars" for
    # a car carrier, "a tow truck carries a crate").
    if g == "handle" and kind == "vehicle":
        return True
    return g == "motion" and v.forms[0] == "fly" and kind != "person"


def _ridden(p: Parse, i: int, ctx: RuleContext, v, k: int, subj, feats: list, scene):
    """Score of "being ridden" for a vehicle at rest that people ride ("a motorcycle parked
    on the street" → "being ridden on the street"; the corpus rides it `RIDDEN_SEEN` times),
    in the -ing slot, with nobody on it already; else None."""
    lex = ctx.lex
    if k != 2 or subj is None or v.forms[0] not in _RESTING or "ride" in ctx.siblings.verbs:
        return None
    s = _members(p, subj, lex)
    # The vehicle must be what rests, the verb's subject or the noun it describes ("a
    # motorcycle parked …"), not "a motorcycle with people standing beside it".
    own = p.heads[subj] == i or p.heads[i] == subj
    if not own or supercategory_of(p, s, lex) != "vehicle":
        return None
    if p.deps[s] == "pobj" and p.lows[p.heads[s]] in ("on", "onto"):
        return None  # "a man sitting on a motorcycle parked on the road": he is on it
    key = noun_key(p, s, lex)
    if ctx.stats.count("svo|o", (key,), "ride") < RIDDEN_SEEN:
        return None
    if any(p.lows[j] in ("parked", "parking") for j in range(len(p)) if j != i):
        return None  # "a row of parked motorcycles sitting …"
    if i + 1 < len(p) and p.lows[i + 1] == "by":
        return None  # "being ridden by the doors" reads as who rides it
    if any(p.lows[j] in _PROPPED for j in p.children(i) if p.deps[j] == "prep"):
        return None  # "resting upon the wall", "against a fence": propped up, no way to ride
    frame = [("svo|o", (key,))] + [f for f in feats if f[0].startswith("rel|")]
    return _plausible(ctx, frame, "ride", ("ride", v.forms[0]), True, scene)


def _plausible(ctx: RuleContext, feats: list, verb: str, among: tuple, transitive: bool, scene):
    """`_verb_score` of `verb` in `feats`, averaged with its fit to the scene, or None."""
    score = _verb_score(ctx.stats, feats, verb, among, transitive, ctx.lex.locative)
    if score is None or not scene:
        return score
    # The rest of the scene must hold the new verb: nobody swims on a sidewalk.
    kinds = tuple("v:" + m for m in among)
    fit = ctx.stats.score(
        scene, "v:" + verb, among=kinds, veto=VERB_SCENE_EXPECTED, ratio=SCENE_RATIO
    )
    if fit is None or not fits_known_contexts(
        ctx.stats, scene, "v:" + verb, kinds, VERB_SCENE_KNOWN
    ):
        return None
    return (score + fit) / 2


def _fit_frame(p: Parse, i: int, ctx: RuleContext, g: str, feats, verb, among, transitive, scene):
    """(score, relation edit or None) of `verb` of group `g` at slot i, or (None, None)."""
    if g in _RELATION_GROUPS:
        seen = _frame_seen(ctx.stats, [f for f in feats if f[1][0] in _PLACES], verb)
    else:
        seen = g not in _FRAME_SEEN or _frame_seen(ctx.stats, feats, verb)
    score = _plausible(ctx, feats, verb, among, transitive, scene) if seen else None
    if score is not None or g not in _RELATION_GROUPS:
        return score, None
    # "A train traveling down the tracks" → "parked on the tracks": the new verb with the
    # relation the corpus gives it to that object.
    alt = _relation_for(p, i, verb, ctx, feats)
    if alt is None or (g in _FRAME_SEEN and not _frame_seen(ctx.stats, alt[0], verb)):
        return None, None
    return _plausible(ctx, alt[0], verb, among, transitive, scene), alt[1]


def _relation_for(p: Parse, i: int, verb: str, ctx: RuleContext, feats: list):
    """For a verb whose one prepositional phrase does not take `verb`: (the features with the
    relation the corpus says most for `verb` with that object, seen `RELATION_SEEN` times,
    and the edit of the relation), else None."""
    lex = ctx.lex
    preps = [j for j in p.children(i) if p.deps[j] == "prep"]
    # Right after the verb: not "next to" parsed as an adverb and "to", not "sitting still on".
    if len(preps) != 1 or preps[0] != i + 1 or frozen_tokens(p, lex)[preps[0]]:
        return None
    j = preps[0]
    m = match_phrase(p.lows, j, lex.relations, lex.max_relation_len, lex.relation_starts)
    n, group = (m[0], m[1].group) if m is not None else (1, p.lows[j])
    pobj = p.child(j + n - 1, ("pobj",))
    if pobj is None:
        return None
    o = noun_key(p, pobj, lex)
    seen = ctx.stats.index["rel|ho"].get((verb, o)) or {}
    options = [
        (c, r)
        for r, c in seen.items()
        if r in lex.relation_say and r != group and c >= RELATION_SEEN
    ]
    if not options:
        return None
    r = max(options)[1]
    new = [("rel|ro", (r, o)) if view == "rel|ro" else (view, c) for view, c in feats]
    return new, (j, j + n, lex.relation_say[r])


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


# Groups whose replacements must have been seen in each prepositional frame of the verb: a
# posture becomes a gait only where the corpus walks or runs ("standing in a field" →
# "walking in a field"; SugarCrepe's replace_rel: "standing on a field" → "running").
_FRAME_SEEN = frozenset({"gait", "halt"})
# Groups whose verbs must have been seen with the slot's object: one swings a bat, not a
# drink; one throws a frisbee, not a chalkboard (what one holds is no sign of what one throws).
# One plays a game or a video, not a screen, the clouds or an event ("watching …" ↛ "playing").
# An animal catches or chases what moves, and chews or licks what it eats ("a horse
# chewing ferns" ↛ "catching ferns").
_OBJECT_SEEN = frozenset({"handle", "play", "device", "animal_mouth"})
# Groups whose verbs take the relation the corpus gives them ("traveling down the road" →
# "parked on the road"): a vehicle moves along a way and rests on it; the corpus must say
# the verb with each place it is at, on or in ("a truck driving on the grass", "a bus
# traveling at a bus stop" are rare scenes).
_RELATION_GROUPS = frozenset({"vehicle_motion"})
_PLACES = frozenset({"at", "on", "in", "edge", "middle", "top"})
# Groups of what is done to food and drink. Their passive states what became of a dish ("a
# pizza being cooked in a stove", "vegetables being cooked" in a skillet, "the pizza is
# served with a soda"), and the rest of the sentence is said of that act: "being cut in a
# skillet", "served in a stove" are no scenes, "being prepared" ↔ "being cut" no contrast.
_DISH_GROUPS = frozenset({"food", "cooking", "beverage"})
# Postures a person takes only where people take them (`_placed`): lying (or asleep), and
# down on the knees or heels; each with the verbs the corpus may say it with.
_RECLINE = ("lie", "lay", "sleep")
_CROUCH = ("kneel", "squat", "crouch")
_PLACED = {v: kin for kin in (_RECLINE, _CROUCH) for v in kin}
# Animals that rest standing (they seldom lie down), and animals that do not sit (hoofed
# animals and elephants: "cattle sitting" is cattle lying), by their statistics keys.
_UPRIGHT = frozenset({"horse", "elephant", "giraffe"})
_NO_SITTING = frozenset(
    "horse elephant giraffe cow cattle sheep zebra goat deer bull donkey camel".split()
)
# What people do not lie on: things, not places ("laying on a laptop"); and seats that
# hold one person lying ("many people sleeping on two benches").
_NO_BED = frozenset({"electronic", "kitchen", "food", "food_mass", "accessory", "appliance"})
_SEATS = frozenset({"bench", "chair", "seat", "stool"})
# What names a posture after "in a" (`_in_a_position`), and the kinds of thing one sits or
# stands at to use, never lies at (`_preposition_unfit`).
_POSITIONS = frozenset({"position", "positions", "pose", "poses", "stance", "crouch"})
_USED_AT = frozenset({"furniture", "electronic", "appliance", "kitchen"})
# Adverbs of speed (`_at_a_speed`).
_SPEEDS = frozenset("slowly quickly fast rapidly swiftly leisurely briskly hurriedly".split())
# Directions of a leaning body (`_leaning`).
_LEANS = frozenset("over back forward forwards backward backwards out".split())
# Prepositions of a path (`_along_a_path`).
_PATHS = frozenset("down up across through toward towards into onto past out".split())
# Parts of the body one lies, kneels or stands on (`_on_the_body`).
_BODY = frozenset(
    "back backs side sides stomach stomachs belly bellies chest knee knees leg legs foot feet"
    " haunches hands head".split()
)
# Verbs whose -ing form is an act where the participle states the scene ("parked").
_AT_REST = frozenset({"park", "stop"})
# Portions of a food (`_portion_of`).
_PORTIONS = frozenset("slice slices piece pieces half halves chunk chunks wedge wedges".split())
_WHOLE_DISH = frozenset({"prepare", "cook", "bake", "make"})
# Verbs of a vehicle at rest ("parked", "sitting"), the sources of "being ridden".
_RESTING = frozenset({"park", "sit", "stand", "stop", "rest"})
# A vehicle rests "against" or "upon" what props it up (a wall, a fence, a tree).
_PROPPED = frozenset({"against", "upon"})
# Subjects that do things (None: a noun the lexicon does not know, often a person).
_DOERS = frozenset({None, "person", "animal", "vehicle", "room", "place"})
# Verbs of a clause that go on while the verb at hand does ("sits … watching").
_ALSO = frozenset({"advcl", "xcomp", "conj"})
# Particles of direction keep a verb of posture or motion literal: "sitting down".
_DIRECTIONS = frozenset({"down", "up"})
# Clauses of an object, and the verb forms that make them an action of the object.
_CLAUSES = frozenset({"acl", "relcl", "ccomp"})
_ACTIVE = frozenset({"VB", "VBG", "VBP", "VBZ"})
# Verbs of a state that go with any action ("wearing a helmet and fixing a bike").
_STATES = frozenset("wear wears wearing wore worn have has having had".split())
# Verbs of one doing nothing else, and the dependencies of verbs that are no action.
_STILL = frozenset({"sleep", "pose"})
_MODIFIERS = frozenset({"amod", "compound", "aux", "auxpass", "nmod"})
_BE_FINITE = frozenset({"is", "are", "was", "were", "'s", "'re"})
_BE = frozenset({"is", "are", "was", "were", "am", "be", "been", "being", "'s", "'re"})


def _on_a_mount(p: Parse, i: int, ctx: RuleContext) -> bool:
    """Whether the verb at i is on what people ride, a horse or a motorcycle: one sits on it
    ("standing on top of a horse", "laying on a bike" are no scenes); boards aside. Where a
    sibling says it is ridden, a thing the corpus rides less or does not know is a mount too
    ("standing on a moped", "standing on the back of an elephant" beside "riding")."""
    lex = ctx.lex
    # A sibling rides, and rides an animal or a vehicle (not skis on a "snowy terrain").
    ridden = "ride" in ctx.siblings.verbs and any(
        getattr(lex.nouns.get(tuple(n.split())), "supercategory", None) in ("animal", "vehicle")
        for n in ctx.siblings.nouns
    )
    for j in p.children(i):
        m = match_phrase(p.lows, j, lex.relations, lex.max_relation_len, lex.relation_starts)
        obj = p.child(j + m[0] - 1, ("pobj",)) if m is not None and m[1].group == "on" else None
        kind = supercategory_of(p, obj, lex) if obj is not None else "none"
        if kind in ("animal", "vehicle") or (ridden and kind is None):
            rides = ctx.stats.count("svo|o", (noun_key(p, obj, lex),), "ride")
            if rides >= RIDDEN_SEEN or (ridden and (rides > 0 or kind is None)):
                return True
    return False


def _along_a_path(p: Parse, i: int) -> bool:
    """Whether the verb at i governs a phrase of path ("walking down a hill", "runs across a
    field", "lays across a bed"): it was written for a motion or a length, and a posture
    does not take it ("standing down a hill", "sits across a bed")."""
    return any(p.deps[j] == "prep" and p.lows[j] in _PATHS for j in p.children(i))


def _in_a_position(p: Parse, i: int) -> bool:
    """Whether the verb at i governs "in a … position" (or pose, stance): the phrase names the
    posture ("crouched in a ready position", "sitting in a pouncing position"), which another
    posture verb then contradicts ("sat in a ready position") or barely changes."""
    return any(
        p.deps[j] == "prep"
        and p.lows[j] == "in"
        and any(p.lows[k] in _POSITIONS for k in p.children(j) if p.deps[k] == "pobj")
        for j in p.children(i)
    )


def _leaning_on(p: Parse, i: int, v) -> bool:
    """Whether the verb at i is a lean on something ("leaning on a surfboard", "leaning on a
    bunch of oranges"): the thing props one up, and another posture on it puts one atop it
    ("sitting on a bunch of oranges and apples", "sitting on a surfboard … riding a wave")."""
    on = ("on", "upon")
    return v.forms[0] == "lean" and any(
        p.deps[j] == "prep" and p.lows[j] in on for j in p.children(i)
    )


def _preposition_unfit(p: Parse, i: int, lex: Lexicon, base: str) -> bool:
    """Whether a phrase the posture at i governs takes only the old posture: one stands (or
    leans) over a thing ("sitting over a dinner table", "sitting over a sink" are no
    scenes), and one sits or stands at a desk, a table or a computer, never lies there
    ("laying at a desk"; "laying in a chair at a table" has its seat)."""
    seated = any(p.deps[j] == "prep" and p.lows[j] in ("in", "on") for j in p.children(i))
    for j in p.children(i):
        if p.deps[j] != "prep" or p.lows[j] not in ("over", "at"):
            continue
        objs = [k for k in p.children(j) if p.deps[k] == "pobj"]
        if p.lows[j] == "over" and objs and base not in ("stand", "lean"):
            return True
        if p.lows[j] == "at" and base in _RECLINE and not seated:
            if any(supercategory_of(p, k, lex) in _USED_AT for k in objs):
                return True
    return False


def _leaning(p: Parse, i: int) -> bool:
    """Whether a direction of the body follows the verb at i with no object ("leaning over",
    "leans forward", "standing back"): it says how one leans, and no other posture takes it
    ("sitting over holding a racket", "sitting back")."""
    j = i + 1
    if j >= len(p) or p.lows[j] not in _LEANS or p.heads[j] != i:
        return False
    return p.child(j, ("pobj",)) is None


def _on_the_body(p: Parse, i: int) -> bool:
    """Whether the verb at i rests on a part of the body ("lying on their back", "sitting on
    his knees", "standing on one leg"): the part names the posture, which no other posture
    takes ("sitting on their back", "stands on his chest")."""
    return any(
        p.lows[j] == "on" and any(_body_part(p, k) for k in p.children(j) if p.deps[k] == "pobj")
        for j in p.children(i)
    )


def _body_part(p: Parse, k: int) -> bool:
    """Whether token k is a part of someone's body: "his knees", "one leg", not "the side"."""
    return p.lows[k] in _BODY and any(p.deps[c] in ("poss", "nummod") for c in p.children(k))


def _literal_slot(p: Parse, i: int, lex: Lexicon, particle: str | None) -> bool:
    """Whether a posture at i may become a gait, or a gait a posture: not "stand up" (to
    rise), not with a purpose ("runs to hit the ball" ↛ "stands to hit"), not beside another
    posture that shares its phrase ("people standing and sitting on a field" ↛ "running and
    sitting")."""
    if particle is not None or _purpose(p, i) or (i > 0 and p.lows[i - 1] == "to"):
        return False
    near = [j for j in p.children(i) if p.deps[j] == "conj"]
    if p.deps[i] == "conj":
        near.append(p.heads[i])
    return not any("posture" in lex.verb_membership.get(verb_key(p, j, lex), ()) for j in near)


def _frame_seen(stats: CorpusStats, feats: list, verb: str) -> bool:
    """Whether the corpus says `verb` with each (relation, object) of the slot: a place one
    stands on is not always one to walk on ("a bird standing on a branch" ↛ "walking on a
    branch", "standing on one leg" ↛ "walking on one leg")."""
    return all(stats.count(view, c, verb) >= OBSERVED_MIN for view, c in feats if view == "rel|ro")


def _placed(stats: CorpusStats, feats: list, verb: str) -> bool:
    """Whether a person may take the posture `verb` (`_PLACED`) at the slot's places: one is
    given ("on", "in", "at" …), and the corpus says a verb of that posture at each of them
    `OBSERVED_MIN` times. People lie or sleep in bed, on a beach, in a field, not "in a
    farmers market", "at a table", "in a chair" or "under an umbrella"; nobody kneels at a
    keyboard. An animal lies down anywhere it stands."""
    places = [c for view, c in feats if view == "rel|ro" and c[0] in _PLACES]
    kin = _PLACED[verb]
    return bool(places) and all(
        sum(stats.count("rel|ro", c, v) for v in kin) >= OBSERVED_MIN for c in places
    )


def _object_seen(stats: CorpusStats, feats: list, verb: str) -> bool:
    """Whether the corpus says `verb` with the slot's object `OBSERVED_MIN` times."""
    return all(stats.count(view, c, verb) >= OBSERVED_MIN for view, c in feats if view == "svo|o")


def _purpose(p: Parse, i: int) -> bool:
    """Whether the verb at i governs a to-infinitive ("waiting to cross the street")."""
    return any(
        p.deps[j] in ("xcomp", "advcl", "ccomp")
        and any(p.lows[k] == "to" and p.deps[k] == "aux" for k in p.children(j))
        for j in p.children(i)
    )


def _to_a_verb(p: Parse, i: int, lex: Lexicon) -> bool:
    """Whether "to" and a verb's base form follow the verb at i, a purpose the parser read as
    a place ("kneeling to pet animals", with "pet" an adjective)."""
    if i + 2 >= len(p) or p.lows[i + 1] != "to":
        return False
    return any(k == 0 for _, k in lex.verbs.get(p.lows[i + 2], ()))


def _frame_of_its_own(p: Parse, i: int) -> bool:
    """Whether the verb at i stands in a frame few verbs share: two objects ("feeding a goat
    a carrot", "holding a cup and a bag"), a clause ("watching a couple cut a cake"), the
    infinitive of an adjective ("the meal is ready to be eaten"), or a tense its coordinated
    verb does not share ("sheep stand and lay", where "lay" is read as a past)."""
    deps = [p.deps[j] for j in p.children(i)]
    if "dative" in deps or "ccomp" in deps or deps.count("dobj") > 1:
        return True
    nxt = p.lows[i + 1] if i + 1 < len(p) else ""
    if nxt == "like" or (nxt == "as" and p.deps[i + 1] == "prep"):
        return True  # "looks like it may be hiding": a likeness, no action
    # Two things held are one frame: "holding a skateboard and a microphone" ↛ "riding …".
    obj = p.child(i, ("dobj",))
    if obj is not None and p.child(obj, ("conj",)) is not None:
        return True
    # What one watches do is a clause however parsed: "watching a couple cut a cake" ↛
    # "playing a couple cut", "watching a man delivering a lecture" ↛ "holding a man …".
    if obj is not None and (
        any(p.deps[j] in _CLAUSES and p.tags[j] in _ACTIVE for j in p.children(obj))
        or _bare_verb_after(p, obj)
    ):
        return True
    h = p.heads[i]
    if p.tags[h] == "JJ" and any(p.lows[j] == "to" for j in p.children(i)):
        return True
    return (
        p.deps[i] == "conj" and p.tags[h].startswith("VB") and _past(p.tags[h]) != _past(p.tags[i])
    )


def _bare_verb_after(p: Parse, obj: int) -> bool:
    """Whether the first verb after the object at `obj` is a bare infinitive, the object's
    action ("watching another woman walk", "watches a boy on a skateboard go over a ramp")."""
    j = next((j for j in range(obj + 1, len(p)) if p.tags[j].startswith("VB")), None)
    if j is None or p.tags[j] != "VB" or p.deps[j] == "conj":
        return False  # "eat pizzas and drink from pitchers": two actions of the subject
    return p.tags[j - 1] not in ("TO", "MD")


def _stranded(p: Parse, i: int) -> bool:
    """Whether the verb at i governs "on" or "by" with nothing after it: "looking on",
    "walking by" are phrases of their own ("smiling on", "jumping by" are none)."""
    return any(
        p.deps[j] == "prep" and p.lows[j] in ("on", "by") and not p.children(j)
        for j in p.children(i)
    )


def _at_a_speed(p: Parse, i: int) -> bool:
    """Whether an adverb of speed modifies the verb at i ("walks around slowly", "running
    fast"): it was said of that motion, and no other verb keeps it ("stands around slowly",
    "runs around slowly", "parked slowly")."""
    return any(p.deps[j] == "advmod" and p.lows[j] in _SPEEDS for j in p.children(i))


def _said_by_siblings(base: str, ctx: RuleContext) -> bool:
    """Whether a sibling says `base` or a verb that `base` may not replace, a synonym or a
    verb that entails it: "cars parked" ↛ "cars traveling" where a sibling says they drive
    by, ↛ "holding a bat" where one swings it. A sibling's participle that the parser read as
    a noun says that verb ("a zebra grazing on food", "grazing" a noun; "a parking lot" says
    no "sitting", which "parked" would)."""
    nouns = ctx.siblings.nouns
    if any(v.forms[0] == base for n in nouns for v, k in ctx.lex.verbs.get(n, ()) if k == 2):
        return True
    return any(base in v.synonyms for s in ctx.siblings.verbs for v, _ in _spelled(s, ctx.lex))


def _spelled(word: str, lex: Lexicon) -> tuple:
    """The lexicon's verb entries of `word`, or of its American spelling: a sibling's
    "travelling", "cancelled" says "traveling", "canceled" (a bus "traveling" where another
    caption says it is travelling is no negative)."""
    entries = lex.verbs.get(word)
    if entries or not word.endswith(("lling", "lled")):
        return tuple(entries or ())
    return tuple(lex.verbs.get(word.replace("lling", "ling").replace("lled", "led"), ()))


def _busy(p: Parse, i: int, states: frozenset = frozenset(), agent: int | None = None) -> bool:
    """Whether the subject of the verb at i does something else meanwhile (another verb of
    the caption, not a modifier nor one of `states`; when `agent` is given, a verb of that
    agent) or does it with something ("playing with a laptop")."""
    if any(p.lows[j] == "with" and p.deps[j] == "prep" for j in p.children(i)):
        return True
    return any(
        j != i
        and p.tags[j] in _ACTIVE | {"VBD"}
        and p.deps[j] not in _MODIFIERS
        and p.lows[j] not in _BE  # "there are people sitting on the benches"
        and p.lows[j] not in states
        and (agent is None or agent_of(p, j) == agent)
        for j in range(len(p))
    )


def _rider_moves_it(p: Parse, subj: int | None, ctx: RuleContext) -> bool:
    """Whether the vehicle at `subj` moves only with a rider: the corpus rides it more often
    than it drives or travels ("a bicycle moving by itself", "a motorcycle traveling on a
    brick floor"); "being ridden" says its motion."""
    if subj is None:
        return False
    s = _members(p, subj, ctx.lex)
    if supercategory_of(p, s, ctx.lex) != "vehicle":
        return False
    key, stats = noun_key(p, s, ctx.lex), ctx.stats
    own = stats.count("svo|s", (key,), "drive") + stats.count("svo|s", (key,), "travel")
    return stats.count("svo|o", (key,), "ride") > own


def _past(tag: str) -> bool:
    return tag == "VBD"


def _after_be(p: Parse, i: int) -> bool:
    return i > 0 and p.lows[i - 1] in _BE


def _members(p: Parse, i: int, lex: Lexicon) -> int:
    """The noun a collective stands for ("a group of giraffes" → giraffes), else i."""
    if p.lows[i] in lex.collectives:
        of = p.child(i, ("prep",))
        inner = p.child(of, ("pobj",)) if of is not None and p.lows[of] == "of" else None
        if inner is not None:
            return inner
    return i


def _animal(p: Parse, i: int | None, lex: Lexicon) -> bool:
    return i is not None and supercategory_of(p, _members(p, i, lex), lex) == "animal"


def _animate(p: Parse, i: int | None, lex: Lexicon) -> bool:
    if i is None:
        return False
    i = _members(p, i, lex)
    return p.lows[i] in lex.animate_extra or supercategory_of(p, i, lex) in ("person", "animal")
