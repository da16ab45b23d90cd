"""The `verb` rule's round-neg6 sources and checks (DESIGN §4, docs/negatives.md)."""

from __future__ import annotations

import pytest

from ahnpl.pipeline.lexicon import load_lexicon
from ahnpl.pipeline.negatives import NegativeGenerator

SEEDS = range(20)


@pytest.fixture(scope="module")
def draws():
    """caption → the verb negatives of seeds 0..19 (None where there is none)."""
    gens = [NegativeGenerator(types=["verb"], seed=s) for s in SEEDS]

    def run(caption: str) -> list:
        return [g.generate_one(caption)[0] for g in gens]

    return run


def _posture(word: str) -> bool:
    verb = load_lexicon().verbs[word][0][0]
    return "posture" in load_lexicon().verb_membership[verb.forms[0]]


@pytest.mark.parametrize("caption", ["A dog laying down on a couch.", "A cat is sitting down."])
def test_a_posture_with_down_becomes_another_posture_with_down(draws, caption):
    negs = draws(caption)
    assert all(n is not None for n in negs)
    for neg in negs:
        assert _posture(neg.original.lower()) and _posture(neg.replacement), neg
        assert neg.text.endswith(f"{neg.replacement} down" + caption.split(" down", 1)[1])


def test_a_phrasal_verb_with_an_object_stays(draws):
    # "holding up a sign": the particle and the object make another verb.
    assert draws("A man holding up a sign.") == [None] * len(SEEDS)


@pytest.mark.parametrize(
    "caption", ["A bowl holds soup with broccoli.", "A clock that reads 8:29 on a wall."]
)
def test_a_thing_does_nothing(draws, caption):
    # A bowl holds soup, a clock reads a time: states, no action to change ("a bowl serves
    # soup", "a clock checks 8:29").
    assert draws(caption) == [None] * len(SEEDS)


def test_a_vehicle_still_moves(draws):
    negs = [n for n in draws("A bus parked on the street.") if n is not None]
    assert negs and all(n.replacement in ("driving", "traveling", "moving") for n in negs), negs


def test_holding_a_food_becomes_eating_it(draws):
    negs = [n for n in draws("A guy holding an apple.") if n is not None]
    assert {n.replacement for n in negs} >= {"eating"}


def test_skateboarding_becomes_a_motion_on_foot(draws):
    motion = {m.forms[2] for m in load_lexicon().verb_groups["motion"][2]}
    negs = draws("A boy skateboarding down the street.")
    assert all(n is not None and n.replacement in motion for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    ["Four people wait to cross the street at an intersection.", "A bus stops to pick up people."],
)
def test_a_verb_with_a_purpose_keeps_it(draws, caption):
    # "play to cross the street", "a bus drives to pick up people" make no sense.
    assert draws(caption) == [None] * len(SEEDS)


@pytest.mark.parametrize(
    "caption",
    [
        # Round verb5: a motion or a posture taken for a purpose stays ("walking to steal a
        # base", "a dog walks to catch a frisbee", "standing to pet animals": labelled bad),
        # also where the parser reads the purpose as a place ("kneeling to pet animals").
        "A boy baseball player running to steal a base while another boy stops him.",
        "A dog runs to catch a frisbee.",
        "A woman kneeling to pet animals while others wait.",
    ],
)
def test_a_motion_or_posture_with_a_purpose_stays(draws, caption):
    assert draws(caption) == [None] * len(SEEDS)


def test_a_motion_to_a_place_still_trades(draws):
    negs = draws("A man walking to the beach with a surfboard.")
    assert any(n is not None and n.original == "walking" for n in negs), negs


@pytest.mark.parametrize(
    ("caption", "verb"),
    [
        ("Someone feeding a goat a piece of carrot.", "feeding"),  # two objects
        ("The meal on the dish is ready to be eaten.", "eaten"),  # an adjective's infinitive
        ("Sheep stand and lay in hay strewn around a barn.", "lay"),  # a past beside a present
        ("A man holding a skateboard and a microphone.", "holding"),  # two things held
    ],
)
def test_a_verb_in_a_frame_of_its_own_stays(draws, caption, verb):
    assert all(n is None or n.original != verb for n in draws(caption))


def test_a_bird_keeps_its_posture(draws):
    # A bird on a branch sits as it stands: "sitting" → "standing" changes nothing.
    assert all(
        n is None or n.original != "sitting" for n in draws("A blue bird sitting on a branch.")
    )


def test_no_sleeping_while_doing_something_else(draws):
    negs = draws("The man is sitting on the park bench using his laptop.")
    assert all(n is None or n.replacement != "sleeping" for n in negs), negs


def test_a_likeness_is_no_action(draws):
    assert draws("That looks like it may be hiding under something.") == [None] * len(SEEDS)


def test_a_standing_animal_may_walk_and_a_walking_one_stand(draws):
    # SugarCrepe's replace_rel: "standing on a field" → "running"; the corpus walks giraffes
    # in fields, so both directions are there.
    stand = {n.replacement for n in draws("Two giraffes standing in a grassy field.") if n}
    walk = {n.replacement for n in draws("Two giraffes walking in a grassy field.") if n}
    assert stand & {"walking", "running"}, stand
    assert "standing" in walk, walk


@pytest.mark.parametrize(
    ("caption", "forbidden"),
    [
        ("A man standing on one leg.", {"walking", "running"}),  # nobody walks on one leg
        ("A giraffe trying to stand up in the grass.", {"walk", "run"}),  # "stand up": rise
        ("People standing and sitting on a field.", {"walking", "running"}),  # "… and sitting"
        ("A congested road where different vehicles are running.", {"standing"}),  # no gait
    ],
)
def test_a_posture_and_a_gait_trade_only_where_the_corpus_says_both(draws, caption, forbidden):
    for neg in draws(caption):
        assert neg is None or neg.replacement not in forbidden, neg


def test_a_motion_with_a_purpose_does_not_halt(draws):
    # "runs to hit the ball" ↛ "stands to hit the ball".
    for neg in draws("A boy runs to hit the ball."):
        assert neg is None or neg.replacement != "stands", neg


def test_a_vehicle_at_rest_moves_along_its_way(draws):
    # "parked on the side of a road" → "driving down a road": the new verb takes the relation
    # the corpus gives it to the road.
    negs = draws("A city bus parked on the side of a road.")
    assert negs and all(n is not None for n in negs)
    for neg in negs:
        assert neg.original == "parked on the side of", neg
        assert neg.replacement in ("driving down", "traveling down", "moving down"), neg
        assert neg.text == f"A city bus {neg.replacement} a road."


def test_a_moving_vehicle_comes_to_rest_parked(draws):
    # A bus "parking" is barely a scene; a parked one is.
    negs = [n for n in draws("A bus driving down the street.") if n is not None]
    assert negs and {n.replacement for n in negs} <= {"parked on", "stopped on"}, negs


@pytest.mark.parametrize(
    "caption", ["Two horses standing behind a wire fence.", "A woman sitting at a table."]
)
def test_a_posture_keeps_its_relation(draws, caption):
    rel = caption.split()[3] if caption.startswith("Two") else "at"
    for neg in draws(caption):
        assert neg is None or f" {rel} " in neg.text, neg


def test_a_relation_changes_only_right_after_its_verb(draws):
    # "sitting still on the side of the road" ↛ "driving still down the road".
    for neg in draws("A bus sitting still on the side of the road."):
        assert neg is None or "still down" not in neg.text, neg


def test_a_ridden_vehicle_at_rest_is_being_ridden(draws):
    negs = draws("A black Honda motorcycle parked in front of a garage.")
    assert any(n is not None and n.replacement == "being ridden" for n in negs), negs
    assert all(n is None or n.text.endswith("being ridden in front of a garage.") for n in negs)


@pytest.mark.parametrize(
    "caption",
    [
        "A scooter parked on the street.",  # the corpus hardly rides scooters
        "A man sitting on a motorcycle parked on the road.",  # someone is on it already
        "A row of parked motorcycles sitting in front of a restaurant.",  # "parked … ridden"
        "A red motorcycle parked by some doors.",  # "ridden by some doors": who rides it?
    ],
)
def test_being_ridden_only_where_nobody_rides_it_and_the_corpus_does(draws, caption):
    assert all(n is None or n.replacement != "being ridden" for n in draws(caption))


def test_a_participle_keeps_its_relation(draws):
    # "cars sit parked on the side of a street" ↛ "cars sit driven down a street".
    for neg in draws("Many cars sit parked on the side of a street."):
        assert neg is None or "driven" not in neg.text, neg


def test_being_ridden_is_said_of_the_vehicle_that_rests(draws):
    # The people stand, not the motorcycle: "… with people being ridden beside it" is no scene.
    caption = "An old with motorcycle with people standing beside it."
    assert all(n is None or n.replacement != "being ridden" for n in draws(caption))


@pytest.mark.parametrize(
    ("caption", "forbidden"),
    [
        # What one holds is no sign of what one swings, hits or throws.
        ("A woman holding a drink in front of the refrigerator.", {"swinging", "hitting"}),
        ("A man wearing a white lab coat holding a bone saw.", {"swinging", "hitting"}),
        # Nobody falls down a sidewalk in a caption; a plane does not race or fall.
        ("A number of people walking on a side walk.", {"falling"}),
        ("A large jet liner flying under the moon.", {"racing", "falling"}),
        # Talking and pointing are barely visible: no replacements ("a sport team is talking").
        ("A sport team is posing in a park.", {"talking", "pointing"}),
        ("A cow is in its pen staring with its mouth open.", {"posing"}),  # animals do not pose
        # One sits on a horse or a motorcycle: "standing on top of a horse" is no scene.
        ("An old man sitting on top of a horse.", {"standing", "lying", "laying"}),
        ("A woman sitting on a red motorcycle.", {"standing", "lying", "laying"}),
        ("A small child playing with some toys in a field.", {"grazing"}),  # only animals graze
        # The independent reading (seed 41): near-synonyms, entailments and vague verbs;
        # broken frames; verbs the rest of the sentence rules out.
        ("A man pouring a glass of wine at a bar.", {"serving", "selling"}),
        ("A young boy who is eating a banana.", {"serving", "selling"}),
        ("A bicycle parked in an empty parking lot.", {"moving"}),
        ("Three zebras eat hay at the edge of a forest.", {"smell"}),
        ("Two zebras graze in a field of short grass.", {"relax"}),
        ("A white and black cat laying on a keyboard.", {"sleeping", "resting"}),
        ("The cat is sleeping on a computer keyboard.", {"lying", "laying", "resting"}),
        ("A man swinging a baseball bat on a field.", {"holding"}),
        ("People fly kites in a large park in the middle of a city.", {"hold"}),
        ("This is a woman pushing some luggage at the airport.", {"holding"}),
        ("A woman is pulling luggage on to a sidewalk near a fire hydrant", {"holding"}),
        ("A bear extends its long tongue while yawning", {"smiling"}),
        ("Three females impatiently waiting.", {"playing", "resting"}),
        ("A girl smiles while holding a baseball glove.", {"laughs"}),
        # One plays a game or a guitar, uses a phone: not a screen, the sky or an event.
        ("A cat is sitting and watching a computer screen.", {"playing", "using"}),
        ("A large crowd of people watching the sky as something flies by", {"playing", "using"}),
        ("A child watching an event and taking a picture with his cell phone.", {"playing"}),
        # A bicycle or a motorcycle moves with a rider only ("being ridden" says so).
        ("A motorcycle that is sitting on a brick floor.", {"traveling", "driving"}),
        # Birds fly overhead: they do not walk or race there.
        ("a number of birds flying over a body of water", {"jumping", "walking", "racing"}),
        ("sea horses with birds flying in the sky", {"jumping", "walking", "racing"}),
        # Asleep or posing, one does nothing else, and sleeps with nobody's laptop.
        ("A man sitting on a bench reading a newspaper.", {"sleeping"}),
        ("Two girls at a desk playing with a laptop.", {"sleeping"}),
        # Round neg15 (the raters' labels): a jump is a moment of a run or a play; a face that
        # looks may smile or pose; anyone may be waiting; preparing is what cutting does; one
        # play's hit, throw and catch are different players'.
        ("a number of people walking on a side walk", {"jumping"}),
        ("The boy is looking back at a wave in the ocean.", {"smiling", "posing", "waving"}),
        ("Two Zebras grazing together in a grassy area.", {"waiting"}),
        ("The meal is being prepared in the big pot.", {"cut", "sliced", "cooked", "baked"}),
        ("A man in the back of a truck cutting fruit.", {"preparing"}),
        ("A tennis player hitting a ball.", {"throwing", "tossing", "catching", "kicking"}),
        ("A batter hitting a ball at a game.", {"throwing", "tossing", "catching", "kicking"}),
    ],
)
def test_replacements_the_readings_found_bad_are_gone(draws, caption, forbidden):
    for neg in draws(caption):
        assert neg is None or neg.replacement not in forbidden, neg


@pytest.mark.parametrize(
    ("caption", "sibling", "forbidden"),
    [
        # A sibling's synonym of the new verb says it is true for the image.
        (
            "Several cars parked on a street near trees.",
            "Cars driving by on a street.",
            {"traveling"},
        ),
        (
            "A yellow cat is sitting on a green blanket.",
            "A cat sleeping on a blanket.",
            {"lying", "laying"},
        ),
        # Round neg15: one resting or relaxing may well be lying down.
        (
            "A yellow cat is sitting on a green blanket.",
            "A cat resting on a blanket.",
            {"lying", "laying", "sleeping"},
        ),
    ],
)
def test_no_verb_a_sibling_says_in_other_words(caption, sibling, forbidden):
    offered = set()
    for seed in SEEDS:
        gen = NegativeGenerator(types=["verb"], seed=seed)
        alone, with_sibling = gen.generate_one(caption)[0], gen.generate_one(caption, [sibling])[0]
        offered.add(alone.replacement if alone else None)
        assert with_sibling is None or with_sibling.replacement not in forbidden, with_sibling
    assert offered & forbidden, offered  # without the sibling the verb is offered


@pytest.mark.parametrize(
    ("caption", "kept"),
    [
        # What one watches do is a clause: "playing a married couple cut" is no sentence.
        ("A smiling group of people watching a married couple cut a wedding cake.", "watching"),
        ("A woman watching another woman walk with a suitcase on wheels.", "watching"),
        ("A boy on a bike watches a boy on a skateboard go over a ramp.", "watches"),
        ("A large crowd of people watching a man delivering a lecture.", "watching"),
        # "looking on" is a phrase of its own: "smiling on" is none.
        ("Young girl on surfboard riding wave with young boys nearby looking on.", "looking"),
        ("A baseball player swings the bat while the catcher and umpire look on", "look"),
    ],
)
def test_a_verb_in_a_fixed_frame_stays(draws, caption, kept):
    for neg in draws(caption):
        assert neg is None or neg.original != kept, neg


def test_people_sitting_may_sleep(draws):
    # "there is": no other action. (Round verb5: one person, since several people asleep on
    # benches read implausible.)
    negs = draws("there is a man that is sitting on the bench")
    assert any(n is not None and n.replacement == "sleeping" for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        # A vehicle at rest at a stop or on the grass: the corpus seldom moves one there.
        "A red bus parked at a bus stop in front of a building.",
        "Large brown truck parked on the grass next to an airplane.",
        "A black and white photo shows a boat sitting on a beach.",
    ],
)
def test_a_vehicle_moves_only_where_the_corpus_moves_one(draws, caption):
    for neg in draws(caption):
        assert neg is None or neg.replacement not in ("driving", "traveling"), neg


def test_holding_may_become_swinging(draws):
    # Swinging a bat entails holding it, not the other way round.
    negs = draws("A man holding a baseball bat on a field.")
    assert any(n is not None and n.replacement == "swinging" for n in negs), negs


_DOWN = {"lying", "laying", "sleeping", "kneeling", "squatting", "crouching"}


@pytest.mark.parametrize(
    "caption",
    [
        "A man sitting at a keyboard near a microphone.",
        "A man sitting in a chair wearing a suit and tie.",
        "Kids are sitting at a table with plates of food.",
        "A woman is standing in front of a refrigerator.",
        "A man sitting at a laptop in a bedroom.",
    ],
)
def test_a_person_lies_or_kneels_only_where_people_do(draws, caption):
    # Round neg15: the corpus must say lying (kneeling) at each place of a person's verb.
    for neg in draws(caption):
        assert neg is None or neg.replacement not in _DOWN, neg


@pytest.mark.parametrize("caption", ["A woman sitting on a bed.", "A cat sitting on a chair."])
def test_people_lie_in_bed_and_animals_anywhere(draws, caption):
    negs = draws(caption)
    assert any(n is not None and n.replacement in _DOWN for n in negs), negs


@pytest.mark.parametrize(
    ("caption", "kept"),
    [
        # Round neg15: a jump has no exclusive contrast ("running for a frisbee" is likely
        # true); a vendor's selling is no food action ("a vendor eating fruit").
        ("A dog jumping in the grass.", "jumping"),
        ("Two men jumping for a frisbee.", "jumping"),
        ("A vendor selling fruit at a market.", "selling"),
        ("A man selling hot dogs on the street.", "selling"),
    ],
)
def test_verbs_that_are_no_source_stay(draws, caption, kept):
    for neg in draws(caption):
        assert neg is None or neg.original != kept, neg


@pytest.mark.parametrize(
    "caption",
    [
        "A man lying on his stomach on the beach.",
        "A woman sitting on her knees in the grass.",
        "A dog standing on its hind legs.",
        # Birds named by a collective: a bird on a perch sits as it stands, and no small
        # bird lies on a table.
        "A couple of small birds standing on top of a table.",
        "A flock of birds sitting on a pole.",
    ],
)
def test_a_posture_on_a_part_of_the_body_or_of_birds_stays(draws, caption):
    # "sitting on his stomach", "lying on her knees": the part names the posture.
    for neg in draws(caption):
        assert neg is None or not _posture(neg.replacement), neg


def test_the_side_of_a_street_is_no_part_of_the_body(draws):
    negs = draws("There are two people sitting on the side of a street.")
    assert any(n is not None and _posture(n.replacement) for n in negs), negs


@pytest.mark.parametrize(
    ("caption", "forbidden"),
    [
        ("A batter waits for the ball to be hit.", {"swung"}),
    ],
)
def test_a_passive_subject_is_what_the_verb_handles(draws, caption, forbidden):
    # Round neg15: one swings a bat, not a ball.
    for neg in draws(caption):
        assert neg is None or neg.replacement not in forbidden, neg


def test_an_animal_does_not_squat_or_kneel():
    # Round neg15: kneeling, squatting, crouching are said of people ("a dog squatting on a
    # couch", "sheep kneeling"); with a sibling that sits, nothing else is left for the dog.
    for seed in SEEDS:
        gen = NegativeGenerator(types=["verb"], seed=seed)
        neg = gen.generate_one("A dog laying on a couch.", ["A dog sitting on a couch."])[0]
        assert neg is None or neg.replacement not in ("squatting", "kneeling", "crouching"), neg


@pytest.mark.parametrize(
    "caption",
    [
        # Round neg18: what is worn is not held ("holding red snow gear carving down a
        # mountain", "holding plastic gloves handing out fruit": 4 of 5 labelled bad).
        "A snow boarder wearing red snow gear.",
        "A man wearing a black jacket.",
        "A woman wearing plastic gloves.",
    ],
)
def test_what_is_worn_stays_worn(draws, caption):
    for neg in draws(caption):
        assert neg is None or neg.original != "wearing", neg


@pytest.mark.parametrize(
    ("caption", "forbidden"),
    [
        # Round neg18: one play's phases. What is caught is held, what is thrown or tossed
        # was held ("catching a frisbee" → "holding", "holding frisbees" → "throwing": 0 of
        # 4 labelled good); "holding" → "catching" stays.
        ("A man catching a frisbee on the grass.", {"holding", "grabbing", "carrying"}),
        ("A dog catching a frisbee in a field.", {"holding", "grabbing", "carrying"}),
        ("A young lady holding a blue frisbee on a field.", {"throwing", "tossing"}),
        ("A man holding a frisbee in a park.", {"throwing", "tossing"}),
    ],
)
def test_the_phases_of_one_throw_do_not_trade(draws, caption, forbidden):
    for neg in draws(caption):
        assert neg is None or neg.replacement not in forbidden, neg


def test_holding_may_still_become_catching(draws):
    negs = draws("A man holding a frisbee in a park.")
    assert any(n is not None and n.replacement == "catching" for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        # Round neg18: a dish's passive says what became of it; the rest of the sentence is
        # said of that act ("vegetables being cut" in a skillet, "the pizza is being cut
        # with a cold soda", "a pizza being served in a small stove": 0 of 5 labelled good).
        "A pizza being cooked in an oven.",
        "The cake is being served on a plate.",
        "Vegetables are being cooked in a pan.",
        "A person waiting for her meal to be served.",
    ],
)
def test_what_became_of_a_dish_stays(draws, caption):
    assert draws(caption) == [None] * len(SEEDS)


def test_an_active_food_verb_still_trades(draws):
    negs = draws("A woman cutting a pizza.")
    assert any(n is not None and n.replacement == "eating" for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        # Round neg18: a person's "sitting down", "standing up" is the move into a posture,
        # said with what goes on around it ("sitting up brushing her teeth", "sitting down
        # playing tennis", "lying down in a chair": 1 of 6 labelled good). An animal's
        # "laying down" is a resting posture and still trades.
        "A man is standing up on a surfboard.",
        "A woman sitting down on a couch.",
        "A man kneeling down in the sand.",
        "A woman standing up brushing her teeth.",
    ],
)
def test_a_persons_posture_with_a_particle_stays(draws, caption):
    for neg in draws(caption):
        assert neg is None or not _posture(neg.replacement), neg


_RECLINE = {"lying", "laying", "lie", "lay", "lies", "lays", "sleeping", "sleep", "sleeps"}


@pytest.mark.parametrize(
    "caption",
    [
        # Round verb5: the seed-91 raters read lying as implausible for what rests standing
        # ("a herd of elephants lying on a road", "a horse lying between parked cars": 4 of
        # 5 labelled bad), for several people on one seat ("many people sleeping on two
        # benches") and on a thing that is no place to lie ("a woman laying on a laptop").
        "A herd of elephants standing on top of a dirt road.",
        "A horse is standing between two parked cars.",
        "Many people are sitting on two benches next to a light pole.",
        "A woman sitting on a laptop computer next to a cat.",
        # Hoofed animals do not sit ("a field full of horses sitting on top of grass").
        "A field full of horses standing on top of grass.",
    ],
)
def test_a_posture_the_subject_rules_out_is_not_made(draws, caption):
    for neg in draws(caption):
        assert neg is None or neg.replacement not in _RECLINE | {"sitting"}, neg


def test_hoofed_sitting_is_lying():
    # "A herd of cattle sitting in front of a church" says they lie: "four cows lay" is not
    # false (seed 91).
    others = ["A herd of cattle sitting in front of a church."]
    for s in SEEDS:
        neg = NegativeGenerator(types=["verb"], seed=s).generate_one(
            "Four cows stand in the parking lot of a church.", others
        )[0]
        assert neg is None or neg.replacement not in _RECLINE, neg


@pytest.mark.parametrize(
    "caption", ["Two zebras standing together on a dirt area.", "A man sitting on a bench."]
)
def test_lying_stays_where_the_subject_lies(draws, caption):
    negs = draws(caption)
    assert any(n is not None and n.replacement in _RECLINE for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        # Round verb5: a phrase of path fits a motion or a length, not a posture ("standing
        # down a hill", "sits across a bed": seed 91 and earlier, labelled bad).
        "A black bear walking down a hill.",
        "A man has cuts in head as he lays across a bed.",
        "A dog running through a field.",
    ],
)
def test_a_path_takes_no_posture(draws, caption):
    for neg in draws(caption):
        assert neg is None or not _posture(neg.replacement), neg


def test_a_gait_still_trades_off_a_path(draws):
    negs = draws("A man walking on a beach.")
    assert any(n is not None and n.replacement == "standing" for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        # Round verb5: a thing handled beside another action is held, and the rest was
        # written for that ("making duck lips while eating an orange", "walking out of the
        # water riding a surf board", "a woman riding a horse with a rope": 8 labelled bad
        # and 3 good no longer made).
        "An old man making duck lips while holding an orange.",
        "A male walking out of the water holding a surf board.",
        "A woman in high heels is leading a white horse with a rope.",
    ],
)
def test_a_handling_verb_beside_another_action_stays(draws, caption):
    for neg in draws(caption):
        assert neg is None or neg.original.lower() not in ("holding", "leading"), neg


def test_a_handling_verb_beside_a_state_trades(draws):
    negs = draws("A little boy wearing a helmet and fixing a bike.")
    assert any(n is not None and n.original == "fixing" for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        # Round verb5: a vehicle's carrying and pulling are one act ("semi pulling cars" for
        # a car carrier, "a tow truck carries a crate": 2 labelled bad, none good).
        "A tow truck pulls a large crate down a mountain pass.",
        "A truck pulling a trailer down the road.",
    ],
)
def test_a_vehicles_load_is_carried_and_pulled(draws, caption):
    for neg in draws(caption):
        assert neg is None or neg.original.lower() not in ("carrying", "pulls", "pulling"), neg


@pytest.mark.parametrize(
    ("caption", "others", "implied"),
    [
        # Round verb5: verbs the other captions imply (seed 91: "swinging a racquet" where
        # the others say "playing tennis", "chasing a frisbee" where they say the dog jumps
        # to grab it: 4 labelled bad, 1 good).
        (
            "A young boy holding a tennis racquet on a court.",
            ["Two young boys are playing tennis indoors together."],
            "swinging",
        ),
        (
            "A man standing on a tennis court holding a tennis racquet.",
            ["A man running with a racket trying to hit a tennis ball"],
            "swinging",
        ),
        (
            "A small white dog catching a green frisbee on a lush green field.",
            ["A small dog trying to grab a frisbee from someone"],
            "chasing",
        ),
        ("A small white dog catching a green frisbee on a lush green field.", [], "chasing"),
    ],
)
def test_a_verb_the_others_imply_is_not_made(caption, others, implied):
    for s in SEEDS:
        neg = NegativeGenerator(types=["verb"], seed=s).generate_one(caption, others)[0]
        assert neg is None or neg.replacement != implied, neg


def test_swinging_stays_where_no_caption_implies_it(draws):
    negs = draws("A young boy holding a tennis racquet on a court.")
    assert any(n is not None and n.replacement == "swinging" for n in negs), negs


def test_a_siblings_participle_read_as_a_noun_is_said():
    # Round verb5 (seed 91): "A zebra grazing on food behind a metal fence" is parsed with
    # "grazing" as a noun; "two zebras grazing" is not false.
    others = ["A zebra grazing on food behind a metal fence."]
    for s in SEEDS:
        neg = NegativeGenerator(types=["verb"], seed=s).generate_one(
            "Two zebras relaxing in the fenced area of a zoo", others
        )[0]
        assert neg is None or neg.replacement != "grazing", neg


def test_one_who_leans_stands(draws):
    # Round verb5 (seed 91): "a cow that is leaning under a metal wall" ↛ "standing": it
    # stands anyway.
    for neg in draws("A cow that is leaning under a metal wall."):
        assert neg is None or neg.replacement != "standing", neg


def test_an_animals_mouth_verb_fits_its_object(draws):
    # Round verb5 (seed 91): "a white horse is catching ferns" makes no sense; the corpus
    # never says an animal catches ferns.
    for neg in draws("A white horse is chewing ferns in a wooded valley"):
        assert neg is None or neg.replacement != "catching", neg


def test_a_dog_still_catches_a_frisbee(draws):
    negs = draws("A dog chewing on a frisbee in the grass.") + draws("A dog holding a frisbee.")
    assert any(n is not None and n.replacement == "catching" for n in negs), negs


@pytest.mark.parametrize(
    ("caption", "new"),
    [
        # Round verb5: a portion is of its food, which is what is eaten or cut ("eating a
        # slice of cake" → "cutting"): the few counts of "slice" as an object vetoed it.
        ("A bald headed man eating a slice of cake.", "cutting"),
        ("A woman is holding a slice of red and white cake", "eating"),
    ],
)
def test_a_portion_is_eaten_or_cut_as_its_food(draws, caption, new):
    negs = draws(caption)
    assert any(n is not None and n.replacement == new for n in negs), negs


def test_a_portion_is_not_cooked(draws):
    # "preparing a piece of a sandwich", "baking a slice of pizza": a portion is of a dish
    # already made.
    for neg in draws("A man eating a piece of a sandwich."):
        assert neg is None or neg.replacement not in ("preparing", "cooking", "baking"), neg


@pytest.mark.parametrize(
    "caption",
    [
        # Round verb5 (held dump): a direction of the body says how one leans ("sitting over
        # holding a tennis racket", "sitting back with a racquet").
        "A man leaning over swinging a tennis racket.",
        "A man standing back with a tennis racquet in his hand.",
    ],
)
def test_a_leaning_direction_takes_no_other_posture(draws, caption):
    for neg in draws(caption):
        assert neg is None or not _posture(neg.replacement), neg


@pytest.mark.parametrize(
    ("caption", "sibling"),
    [
        ("A man that is sitting on a moped.", "a person riding a scooter with folded cardboard"),
        ("A man is sitting on the back of an elephant.", "Man riding an elephant up a hill."),
    ],
)
def test_no_stunt_on_what_a_sibling_says_is_ridden(caption, sibling):
    # Round verb6 (seed 111): "standing on a moped", "standing on the back of an elephant" are
    # stunts; the corpus rides neither often, but the other captions say they are ridden.
    gens = [NegativeGenerator(types=["verb"], seed=s) for s in SEEDS]
    negs = [g.generate_one(caption, [sibling])[0] for g in gens]
    assert not any(n is not None and n.replacement.startswith("stand") for n in negs), negs


def test_a_place_beside_a_ride_on_skis_still_changes():
    # "riding skis" rides no animal or vehicle: the unknown "terrain" is a place, no mount.
    gens = [NegativeGenerator(types=["verb"], seed=s) for s in SEEDS]
    caption, sibling = "a man on skis standing on a snowy terrain", "a man riding skis down a hill"
    assert any(g.generate_one(caption, [sibling])[0] is not None for g in gens)


def test_a_seat_beside_a_ride_still_changes():
    gens = [NegativeGenerator(types=["verb"], seed=s) for s in SEEDS]
    negs = [g.generate_one("A man sitting on a bench.", ["a man riding a bike"])[0] for g in gens]
    assert any(n is not None for n in negs)


@pytest.mark.parametrize(
    ("caption", "follows"),
    [
        ("A group of children feeding two giraffes at a zoo.", "watching"),
        ("A young child smiles on a scooter in an historic photo.", "waves"),
        ("Seven people seated at table talking and working on computers.", "smiling"),
    ],
)
def test_no_verb_that_follows_from_the_old_one(draws, caption, follows):
    # Round verb6 (seed 111): one who feeds an animal watches it, one who talks smiles, a
    # smile goes with a wave: the raters read such negatives not false.
    assert all(n is None or n.replacement != follows for n in draws(caption))


def test_what_a_passive_participle_describes_is_what_is_handled(draws):
    # Round verb6 (seed 111): "a bowl of stew … being held" ↛ "being swung": the corpus never
    # swings a bowl; the noun the participle describes is its object, as a passive's subject is.
    negs = draws("A bowl of stew in a white bowl, being held by a person.")
    assert all(n is None or n.replacement != "swung" for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    ["A bicycle that is resting upon the wall of a building.", "A bicycle parked against a fence."],
)
def test_a_propped_vehicle_is_not_being_ridden(draws, caption):
    # Round verb6 (seed 111): "a bicycle being ridden upon the wall": what rests against or
    # upon a wall is propped up there, where nobody rides.
    assert all(n is None or "ridden" not in n.text for n in draws(caption))


def test_a_parked_motorcycle_is_still_ridden(draws):
    assert any(
        n is not None and "being ridden" in n.text
        for n in draws("A motorcycle parked on the street.")
    )


@pytest.mark.parametrize(
    ("caption", "unfit"),
    [
        ("A man and woman standing over a dinner table with a cake.", "over"),
        ("A black and white cat sitting at a desk.", "laying at"),
        ("A tennis player crouched in a ready position.", "position"),
        ("a cat sitting in a pouncing position next to a brick wall", "position"),
    ],
)
def test_a_posture_keeps_the_phrase_only_it_takes(draws, caption, unfit):
    # Round verb7 (seed 121): one stands over a table, sits at a desk, and "in a ready
    # position" names the posture: "sitting over a dinner table", "laying at a desk", "sat in
    # a ready position" are no scenes.
    assert all(n is None or unfit not in n.text for n in draws(caption)), draws(caption)


@pytest.mark.parametrize(
    ("caption", "kept"),
    [
        ("A cat sitting at a desk.", "standing at"),
        ("A dog is sitting in a chair at a table.", "laying in"),
    ],
)
def test_a_posture_at_a_desk_still_changes(draws, caption, kept):
    # One who sits at a desk may stand there; one with a seat at a table may lie in it.
    assert any(n is not None and kept in n.text for n in draws(caption)), draws(caption)


def test_a_siblings_british_spelling_says_the_verb():
    # Round verb7 (seed 121): "parked" ↛ "traveling" where another caption says the bus and
    # the car are "travelling": the lexicon spells the verb the American way.
    gens = [NegativeGenerator(types=["verb"], seed=s) for s in SEEDS]
    caption = "a bus and some cars parked outside a station"
    other = ["A bus and a car travelling in the same direction on a sunny day."]
    negs = [g.generate_one(caption, other)[0] for g in gens]
    assert all(n is None or n.replacement not in ("traveling", "travelling") for n in negs), negs
    alone = [g.generate_one(caption, ["a bus and a car on a city street"])[0] for g in gens]
    assert any(n is not None and n.replacement == "traveling" for n in alone), alone


@pytest.mark.parametrize(
    "caption", ["an elephant in a zoo walks around slowly", "A horse running fast in a field."]
)
def test_an_adverb_of_speed_keeps_its_motion(draws, caption):
    # Round verb7 (seed 121): "runs around slowly", "stands around slowly", "standing fast":
    # the adverb was said of the old motion, and no other verb keeps it.
    assert draws(caption) == [None] * len(SEEDS)


def test_a_motion_without_a_speed_still_changes(draws):
    assert any(n is not None for n in draws("an elephant in a zoo walks around"))


@pytest.mark.parametrize(
    "caption",
    [
        "a person leaning on a bunch of oranges and apples",
        "a man leaning on a surfboard in the water riding a wave",
    ],
)
def test_a_lean_on_a_thing_is_no_posture_on_it(draws, caption):
    # Round verb7 (seed 121): "sitting on a bunch of oranges and apples", "sitting on a
    # surfboard … riding a wave": what one leans on props one up; sitting on it is atop it.
    assert all(n is None or "sitting on" not in n.text for n in draws(caption)), draws(caption)


def test_a_lean_against_a_wall_still_changes(draws):
    assert any(n is not None for n in draws("A man leaning against a wall."))
