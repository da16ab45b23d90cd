"""The `object` rule's places, athletes and drinks (DESIGN §4, docs/negatives.md round neg6)."""

from __future__ import annotations

import pytest

from ahnpl.pipeline.lexicon import load_lexicon
from ahnpl.pipeline.negatives import NegativeGenerator

SEEDS = range(30)


@pytest.fixture(scope="module")
def draws():
    """caption → the object negatives of seeds 0..29 (None where there is none)."""
    gens = [NegativeGenerator(types=["object"], seed=s) for s in SEEDS]

    def run(caption: str) -> list:
        return [g.generate_one(caption)[0] for g in gens]

    return run


def test_a_skier_becomes_a_snowboarder_not_a_man(draws):
    # Athletes are people of a setting: a skier is only replaced by another athlete of the
    # snow, never by "a man" (who may be the skier).
    negs = [n for n in draws("A skier going down a slope.") if n is not None]
    assert negs and {n.replacement for n in negs} == {"snowboarder"}


def test_a_man_never_becomes_an_athlete(draws):
    for neg in draws("A man walking along the beach."):
        assert neg is None or neg.replacement not in ("skier", "snowboarder"), neg


def test_a_place_becomes_another_place_that_takes_its_preposition(draws):
    places = set(load_lexicon().kind_words["place"])
    negs = [n for n in draws("A bench that has been placed in a field.") if n is not None]
    moved = [n for n in negs if n.original == "field"]
    assert moved and {n.replacement for n in moved} <= places
    # Things stand on a sidewalk, never in one.
    assert all(n.replacement != "sidewalk" for n in moved), moved


def test_a_place_fits_its_adjectives(draws):
    # A lush green field may become a lush green park, not a lush green street.
    negs = [n for n in draws("A horse standing on top of a lush green field.") if n is not None]
    assert negs
    assert all(n.replacement != "street" for n in negs), negs


def test_a_drink_becomes_another_drink_without_an_article(draws):
    negs = [n for n in draws("A glass of wine on a table.") if n is not None]
    drinks = [n for n in negs if n.original == "wine"]
    assert drinks
    assert {n.replacement for n in drinks} <= set(load_lexicon().kind_words["beverage"])
    assert all(n.text.startswith("A glass of ") for n in drinks)


@pytest.mark.parametrize(
    ("caption", "kind"),
    [("A bird perched on a branch.", "duck"), ("A taxi parked on the street.", "car")],
)
def test_a_noun_and_a_kind_of_it_never_replace_each_other(draws, caption, kind):
    # A bird may be a duck, a taxi is a car: neither replacement is false for the image.
    assert all(n is None or n.replacement != kind for n in draws(caption))


def test_an_adjective_the_new_noun_never_takes_vetoes_it(draws):
    # The corpus describes bears and elephants often, never as tall.
    negs = draws("Two tall giraffes are next to bare trees.")
    assert all(n is None or n.original != "giraffes" for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        "There are two yellow flowers inside a vase.",
        "A large building with a clock at the top of it.",
    ],
)
def test_what_holds_or_carries_a_thing_knows_which_things_fit(draws, caption):
    # Flowers are seen in vases and baskets, not in candles or lamps; buildings carry clocks
    # and signs, not lamps.
    negs = [n for n in draws(caption) if n is not None]
    assert all(n.replacement not in ("candle", "lamp", "teddy bear") for n in negs), negs


def test_an_indoor_thing_must_have_been_seen_with_the_rest_of_the_scene(draws):
    # A clock on a building is no lamp, vase, book or teddy bear on it: "indoor" things
    # share a COCO supercategory, not their places, so each other noun of the caption must
    # have been seen with the new one.
    for caption in (
        "An ornate clock on a building with tree branches.",
        "A black clock with the word Kerttui showing 12:44",
    ):
        assert draws(caption) == [None] * len(SEEDS)


# --- round neg7: people as a source ---------------------------------------------------------


@pytest.fixture(scope="module")
def sibling_draws():
    """(caption, siblings) → the object negatives of seeds 0..29."""
    gens = [NegativeGenerator(types=["object"], seed=s) for s in SEEDS]
    return lambda caption, siblings: [g.generate_one(caption, siblings)[0] for g in gens]


def _of(negs: list, original: str) -> list:
    return [n for n in negs if n is not None and n.original.lower() == original]


def _of_start(negs: list, original: str) -> list:
    """The negatives that replace `original` (with the pronouns that follow it)."""
    return [n for n in negs if n is not None and n.original.lower().split()[0] == original]


def test_people_become_animals_in_number_never_a_kind_of_person(draws):
    # "people" is the hypernym of the person nouns: "a group of men" may be true, "a group of
    # sheep" is not (SugarCrepe replace_obj: "Several people …" → "Several birds …").
    lex = load_lexicon()
    animals = {pl for _, _, pl, _ in lex.noun_choices["animal"]}
    moved = _of(draws("A group of people standing around each other."), "people")
    assert moved and {n.replacement for n in moved} <= animals, moved
    single = _of(draws("A person is standing in the white snow."), "person")
    singular = {sg for _, sg, _, _ in lex.noun_choices["animal"]}
    assert single and {n.replacement for n in single} <= singular, single


def test_a_person_is_never_a_replacement(draws):
    for neg in draws("A man walking along the beach.") + draws("Two women sitting on a bench."):
        assert neg is None or neg.replacement.lower() not in ("person", "people"), neg


@pytest.mark.parametrize(
    "caption",
    [
        "People are sitting on the ground petting a cat.",  # only people pet
        "two people sitting at a table posing for a photo",  # no animal sits at a table
        "People are riding on elephants in a river.",  # nor rides an elephant
        "A person riding a bike down the street.",  # nor a bike
        "A person walking a dog on a sidewalk.",  # nor walks a dog
    ],
)
def test_people_stay_people_where_only_people_fit(draws, caption):
    negs = draws(caption)
    assert not _of(negs, "people") and not _of(negs, "person"), caption


def test_people_never_become_wild_animals(draws):
    negs = _of(draws("There are two people standing on the side of a street."), "people")
    assert negs
    assert not {n.replacement for n in negs} & {"giraffes", "elephants", "zebras", "bears"}


def test_a_child_becomes_a_grown_up_but_not_where_only_a_child_fits(draws):
    grown = _of(draws("Four children sit eating birthday cake at a picnic table."), "children")
    assert grown and {n.replacement for n in grown} <= {"men", "women"}, grown
    for caption in (
        "Several children are riding on a toy train ride.",
        "A little-league baseball game with a kid up to bat.",
        "Children & one adult flying a kite in an open area",
        "The child is waiting for his parents to come in.",
        "A brown teddy bear sits by a child's toy.",
    ):
        assert not [n for n in draws(caption) if n is not None and "child" in n.original], caption


def test_a_sibling_naming_a_kind_of_the_candidate_makes_it_true(draws, sibling_draws):
    # A sibling's "boy" makes "a child" true; its "child" leaves "a boy" false.
    caption = "A smiling man stands under a pink and red umbrella."
    assert any(n is not None and n.replacement == "child" for n in draws(caption))
    for n in sibling_draws(caption, ["A little boy under an umbrella."]):
        assert n is None or n.replacement != "child", n
    boys = sibling_draws(caption, ["A child under an umbrella."])
    assert any(n is not None and n.replacement == "boy" for n in boys)


def test_a_noun_parsed_as_a_modifier_is_not_replaced(draws):
    # spaCy reads "sink" here as an adjective of "faucet"; a first conjunct parsed so is a
    # noun of its own.
    assert not _of(draws("A cat drinking from a sink faucet that was left running."), "sink")
    assert _of(draws("A kitchen with a stainless steel fridge and granite counters."), "fridge")


@pytest.mark.parametrize(
    ("caption", "forbidden"),
    [
        # The independent reading (seed 41): a tram is a train; one skier's skis are no
        # snowboards (one rides one board).
        ("A red and black train is traveling down the tracks.", {"tram", "trams"}),
        ("A person riding skis on top of a snow covered slope.", {"snowboards"}),
        ("A man on skis with his dog.", {"snowboards"}),
    ],
)
def test_no_near_synonym_or_unpaired_board(draws, caption, forbidden):
    for neg in draws(caption):
        assert neg is None or neg.replacement.lower() not in forbidden, neg


@pytest.mark.parametrize(
    "caption",
    [
        "A dog sitting next to another dog on a bed.",
        "A man leaping up to catch a frisbee with another man running behind him.",
    ],
)
def test_another_of_a_kind_keeps_its_kind(draws, caption):
    # "a dog looking at another cat": "another" says the kind was named before.
    negs = draws(caption)
    assert any(n is not None for n in negs), negs
    for neg in negs:
        assert neg is None or not caption[: neg.start].lower().endswith(("another ", "other ")), neg


_PRODUCE = {"banana", "apple", "orange", "carrot", "tomato", "potato", "lemon"}
_DISHES = {"sandwich", "hot dog", "pizza", "donut", "cake", "hamburger", "muffin", "cookie", "pie"}
_DEVICES = {"tv", "laptop", "cell phone", "camera"}
_DISHWARE = {"plate", "pan", "pot"}


def _singular(word: str) -> str:
    low = word.lower()  # "tomatoes", "oranges": the plurals these tests meet
    return low[:-2] if low.endswith("oes") else low.removesuffix("s")


@pytest.mark.parametrize(
    ("caption", "original", "allowed"),
    [
        # The raters' labels (round neg14): fruit and vegetables never become dishes, nor the
        # reverse ("five pizzas and two apples", "a banana with fondant stars").
        ("Five oranges and two apples sitting on a white surface.", "oranges", _PRODUCE),
        ("A cake with fondant stars cut out on white fondant", "cake", _DISHES | {"egg"}),
        # Dishware, utensils and drinkware keep their use ("the batter up to fork").
        ("The man sits at a table with a bowl and three beer bottles.", "bowl", _DISHWARE),
        ("A large dark colored spoon sitting on a rack", "spoon", {"fork", "knife"}),
        # A computer's or a television's accessory is no device of its own.
        ("a man holding his cell phone up in a crowd", "cell phone", _DEVICES),
    ],
)
def test_a_thing_keeps_its_use(draws, caption, original, allowed):
    moved = [n for n in draws(caption) if n is not None and n.original.lower() == original]
    assert moved, caption
    assert {_singular(n.replacement) for n in moved} <= allowed, moved


def test_a_toilet_is_never_replaced_nor_a_replacement(draws):
    # A toilet's parts and uses (its lid, its seat, "taking a piss") fit no other furniture.
    for caption in ("a toilet with writing under the lid", "A man standing near a table."):
        for neg in draws(caption):
            assert neg is None or "toilet" not in (neg.original, neg.replacement), neg


@pytest.mark.parametrize(
    "caption",
    ["A cat looking at another cat on the television.", "A cow stands where other cows lie."],
)
def test_a_kind_named_again_keeps_its_kind_before_too(draws, caption):
    # "a dog looking at another cat": the first of the kind may not change either.
    negs = [n for n in draws(caption) if n is not None]
    assert all(n.original.lower() not in ("cat", "cow") for n in negs), negs


@pytest.mark.parametrize(
    "caption",
    [
        "A zebra facing away from the camera and staring down.",
        "A woman on skis posing for the camera.",
        "A catcher is ready to catch the ball after it crosses the plate.",
    ],
)
def test_the_viewers_camera_and_home_plate_are_not_replaced(draws, caption):
    for neg in draws(caption):
        assert neg is None or neg.original.lower() not in ("camera", "plate"), neg


@pytest.mark.parametrize(
    ("caption", "original", "forbidden"),
    [
        # Pedalled and driven vehicles: "a bus chained to a building", "a train hauling scooters".
        ("A bicycle chained to a pole on the sidewalk.", "bicycle", {"car", "bus", "truck"}),
        ("A red bus is parked outside of a barred window.", "bus", {"bicycle", "scooter"}),
        # What only horses do or wear: "cows with jockeys", "a goat pulling a carriage".
        ("Jockeys on horses race on an ocean beach.", "horses", {"cows", "sheep", "goats"}),
        ("A big brown horse pulling a cart near a tree.", "horse", {"cow", "sheep", "goat"}),
    ],
)
def test_a_vehicle_or_a_horse_keeps_what_the_rest_says(draws, caption, original, forbidden):
    for neg in draws(caption):
        assert (
            neg is None
            or neg.original.lower() != original
            or (neg.replacement.lower() not in forbidden)
        ), neg


def test_a_motorcycle_still_becomes_a_bicycle_or_a_car(draws):
    negs = [n for n in draws("A man riding a motorcycle down a city street.") if n is not None]
    assert {"bicycle", "car"} & {n.replacement.lower() for n in negs}, negs


def test_pronouns_follow_their_sole_referent_across_gender(draws):
    # "A woman holding a hot dog in his hand" was wrong; now the pronoun follows her.
    negs = [n for n in draws("A man holding a hot dog in his right hand.") if n is not None]
    assert "A woman holding a hot dog in her right hand." in {n.text for n in negs}, negs
    negs = [n for n in draws("A girl takes a bite of her pepperoni pizza.") if n is not None]
    assert "A man takes a bite of his pepperoni pizza." in {n.text for n in negs}, negs


@pytest.mark.parametrize(
    ("caption", "disagreeing"),
    [
        # Another referent: a pronoun of the other gender, a child, kin the pronoun may mean.
        ("A woman watches as he feeds her.", {"man", "woman", "boy", "girl"}),
        ("A woman holding a little boy who is brushing his teeth.", {"girl"}),
        # (A girl no longer becomes a woman: the couch gives the caption a negative.)
        ("A baby girl and her mom on a couch looking at a book.", {"man", "boy"}),
        ("A ewe and her kid in a field.", {"man", "boy"}),  # "her" is the ewe's
    ],
)
def test_pronouns_of_another_referent_stay_and_must_agree(draws, caption, disagreeing):
    negs = [n for n in draws(caption) if n is not None]
    assert negs, caption
    for neg in negs:
        assert neg.text.split()[-3:] == caption.split()[-3:], neg
        assert not disagreeing & set(neg.text.lower().split()) - set(caption.lower().split()), neg


@pytest.mark.parametrize(
    ("caption", "gendered"),
    [
        ("A woman in a dress holding her umbrella.", "woman"),
        ("A man with a beard holding his phone.", "man"),
    ],
)
def test_what_one_gender_wears_keeps_it(draws, caption, gendered):
    other = {"woman": ("man", "boy"), "man": ("woman", "girl")}[gendered]
    for neg in draws(caption):
        assert neg is None or neg.text.split()[1].lower() not in other, neg


def test_members_of_a_collective_are_plural(draws):
    # "a very cute flock of goat": sheep is invariant, the collective says several.
    negs = [n for n in draws("A very cute flock of sheep in a grassy field.") if n is not None]
    assert negs and all(n.replacement.endswith("s") for n in negs if n.original == "sheep"), negs


@pytest.mark.parametrize(
    ("caption", "forbidden"),
    [
        ("A man reaching out to catch a frisbee.", {"baby"}),  # what a grown-up does
        ("A baby sitting in a high chair.", {"man", "woman"}),
        ("a cat sitting on top of a blue refrigerator", {"dog"}),  # a cat climbs
    ],
)
def test_no_baby_for_a_grown_up_nor_a_dog_on_top(draws, caption, forbidden):
    for neg in draws(caption):
        assert neg is None or neg.replacement.lower() not in forbidden, neg


def test_a_person_the_others_call_a_woman_becomes_a_man(sibling_draws):
    # Evidence makes it false: the other captions say who the person is, and its counterpart
    # of the other gender is a plausible scene; the pronoun follows.
    caption = "a person on skis makes her way through the snow"
    siblings = ["A woman skiing down a hill.", "A skier in the snow."]
    texts = {n.text for n in sibling_draws(caption, siblings) if n is not None}
    assert "a man on skis makes his way through the snow" in texts, texts


@pytest.mark.parametrize(
    ("caption", "siblings"),
    [
        ("A person sitting on a bench.", ["A man and a woman on a bench."]),  # both named
        ("A person sitting on a bench.", ["A woman and her child on a bench."]),  # a child
        ("People walking down the street.", ["A man walks as people pass."]),  # one of several
        ("Two people walking down the street.", ["A man walks as people pass."]),
        ("People walking down the street.", ["Two men walking down a street."]),  # uncounted
        ("A person sitting on a bench.", ["A bench in a park."]),  # nobody named
    ],
)
def test_no_counterpart_without_evidence(sibling_draws, caption, siblings):
    people = {"man", "woman", "boy", "girl", "men", "women", "boys", "girls"}
    for neg in sibling_draws(caption, siblings):
        assert neg is None or neg.replacement.lower() not in people, neg


def test_a_child_the_others_call_a_boy_becomes_a_girl(sibling_draws):
    caption = "A small child stands in front of a television playing a video game."
    siblings = ["A boy stands in front of a TV in a living room."]
    texts = {n.text for n in sibling_draws(caption, siblings) if n is not None}
    assert "A small girl stands in front of a television playing a video game." in texts, texts


def test_counted_people_the_others_call_men_become_women(sibling_draws):
    caption = "two people playing tennis with rackets on a grass court"
    siblings = ["Two men playing a game of tennis on a court.", "Two young men playing tennis."]
    texts = {n.text for n in sibling_draws(caption, siblings) if n is not None}
    assert "two women playing tennis with rackets on a grass court" in texts, texts


@pytest.mark.parametrize(
    ("caption", "siblings"),
    [
        # An age word kept beside the noun: "a young man" may be the young boy.
        ("A young boy sleeping on the side of his bed.", []),
        # The other captions give the person an age: teenage boys may be called men.
        ("Two boys with brown hair play with Wii remotes.", ["Two teenage boys play a game."]),
    ],
)
def test_an_age_the_words_blur_is_no_change(sibling_draws, caption, siblings):
    negs = [n for n in sibling_draws(caption, siblings) if n is not None]
    swaps = {(n.original.lower(), n.replacement.lower()) for n in negs}
    assert negs and not swaps & {("boy", "man"), ("boys", "men")}, swaps
    # Without the age word the same person may grow up: the change is clear.
    plain = sibling_draws(caption.replace("young ", ""), [])
    assert any(n is not None and n.replacement in ("man", "men") for n in plain)


@pytest.mark.parametrize(
    "caption",
    [
        "A train engine hauling freight cars past a level crossing.",
        "A person spraying water into a toilet bowl in a tiled room.",
    ],
)
def test_a_noun_its_modifiers_make_a_kind_stays(draws, caption):
    # "Freight cars" are train cars and "a toilet bowl" is the toilet's: a truck or a plate
    # for either breaks the caption ("an engine hauling scooters", "water into a plate").
    for neg in draws(caption):
        assert neg is None or neg.original.split()[-1] not in ("cars", "bowl"), neg


def test_a_modifier_of_the_same_kind_goes_with_the_noun(draws):
    # "A laptop computer" names the laptop again: the phrase is replaced whole.
    negs = [n for n in draws("A laptop computer sitting on top of a wooden desk.") if n]
    assert any(n.original == "laptop computer" for n in negs), negs


def test_a_thing_among_its_kind_named_together_is_not_clearly_absent(sibling_draws):
    # "Stainless steel appliances" may well hold a refrigerator: neither appliance of the
    # caption becomes another one. Without that caption the change is clear.
    caption = "a kitchen that has a stove and a sink in it"
    siblings = ["A kitchen with stainless steel appliances and wooden cabinets."]
    appliances = ("stove", "sink")
    for neg in sibling_draws(caption, siblings):
        assert neg is None or neg.original not in appliances, neg
    assert any(n and n.original in appliances for n in sibling_draws(caption, []))


# --- round obj5: the seed-91 reading ------------------------------------------------------


def test_a_compound_the_parser_reads_as_a_verb_stays_whole(draws):
    # "bow" is tagged a verb in "a jacket and bow tie": the compound is kept whole anyway.
    negs = draws("A man posing for a selfie in a jacket and bow tie.")
    assert any(n is not None for n in negs)
    assert all(n is None or "bow " not in n.text or "bow tie" in n.text for n in negs), negs


def test_a_part_of_a_thing_of_its_own_kind_is_no_slot(draws):
    # "the cab of the truck" is a part of the truck, not a taxi ("the bus of the truck").
    for neg in draws("The cab of the truck is painted red."):
        assert neg is None or neg.original != "cab", neg


@pytest.mark.parametrize(
    ("caption", "old", "wrong"),
    [
        ("A bunch of bananas in a metal bowl.", "bowl", "plate"),
        ("A bunch of bananas on a plate on a counter.", "plate", "bowl"),
        ("Several orange wedges sit on a white plate.", "plate", "bowl"),
    ],
)
def test_a_container_keeps_the_preposition_it_takes(draws, caption, old, wrong):
    # Things lie on a plate and in a bowl: "in a plate", "on a bowl" are not said.
    for neg in draws(caption):
        assert neg is None or neg.original != old or neg.replacement != wrong, neg


@pytest.mark.parametrize(
    "caption",
    ["Two military personnel cutting and serving cake.", "A picnic table with pizza on two trays"],
)
def test_a_noun_read_as_a_mass_is_replaced_by_one_that_reads_so(draws, caption):
    # "serving cake" ↛ "serving hot dog": a count noun would need an article.
    moved = [n for n in draws(caption) if n is not None and n.original in ("cake", "pizza")]
    assert all(n.replacement in ("pizza", "cake", "pie") for n in moved), moved


def test_a_headline_noun_without_its_article_is_replaced_as_before(draws):
    moved = _of(draws("cake on a plate with a fork"), "cake")
    assert any(n.replacement not in ("pizza", "pie") for n in moved), moved


def test_a_person_the_others_dress_otherwise_is_not_told_apart(sibling_draws):
    # Most say "a man", one says "a person in a striped dress": "a woman" may be true.
    caption = "a person sitting on a surf board on a beach"
    siblings = ["A man sitting on a surfboard on the beach.", "A person in a stripped dress."]
    for neg in sibling_draws(caption, siblings):
        assert neg is None or neg.replacement != "woman", neg


def test_a_sibling_side_walk_is_a_sidewalk(sibling_draws):
    caption = "A group of people walking on the street in a city."
    for neg in sibling_draws(caption, ["People walk down a busy city side walk."]):
        assert neg is None or neg.replacement != "sidewalk", neg


@pytest.mark.parametrize(
    ("caption", "old", "near"),
    [
        ("An old fashioned refrigerator surrounded by modern cabinets", "cabinets", "shelves"),
        ("A group of people on motor bikes on a street.", "motor bikes", "scooters"),
    ],
)
def test_near_relatives_never_replace_each_other(draws, caption, old, near):
    for neg in draws(caption):
        assert neg is None or neg.original != old or neg.replacement != near, neg


@pytest.mark.parametrize(
    "caption",
    [
        "A group of people on motor bikes on a street.",
        "A group of people riding motorcycles and horses on a race track.",
    ],
)
def test_a_ridden_motorcycle_never_becomes_a_driven_vehicle(draws, caption):
    driven = {"car", "cars", "bus", "buses", "truck", "trucks", "van", "vans", "taxi", "taxis"}
    for neg in draws(caption):
        assert neg is None or neg.replacement not in driven, neg


def test_a_parked_motorcycle_may_become_a_car(draws):
    negs = _of(draws("A motorcycle parked next to a building."), "motorcycle")
    assert any(n.replacement in ("car", "truck", "van", "bus", "taxi") for n in negs), negs


@pytest.mark.parametrize(
    ("caption", "old"),
    [
        ("A group of horses are crossing a finish line", "horses"),
        ("A herd of elephants being herded into a river while tourists take photos.", "elephants"),
        ("Two people riding an elephant through the jungle.", "elephant"),
    ],
)
def test_an_animal_keeps_what_only_its_kind_undergoes(draws, caption, old):
    # Horses race across a finish line; of the wild animals only elephants are herded or ridden.
    for neg in draws(caption):
        assert neg is None or neg.original != old, neg


def test_a_table_things_are_put_on_never_becomes_a_seat(draws):
    seats = {"chair", "couch", "bed", "stool"}
    for caption in (
        "A large glass jar sitting on a table.",
        "a table that has all kinds of food on it",
    ):
        for neg in draws(caption):
            assert neg is None or neg.replacement not in seats, neg
    # A seat still becomes another seat.
    moved = _of(draws("A man sitting on a chair in a living room."), "chair")
    assert moved and {n.replacement for n in moved} <= seats, moved


def test_a_table_an_animal_sits_on_may_become_a_seat(draws):
    moved = _of(draws("A cat sitting on a table next to a window."), "table")
    assert any(n.replacement in ("chair", "couch", "bed", "stool") for n in moved), moved


def test_a_person_becomes_the_other_gender_where_counts_are_sparse(draws):
    # Captions name boys skiing, rarely girls: the unseen counterpart is no odd scene.
    moved = _of(draws("A small boy skiing down a snowy hill"), "boy")
    assert any(n.replacement == "girl" for n in moved), moved


def test_a_shirtless_man_keeps_his_gender(draws):
    for neg in draws("A shirtless man doing skateboarding tricks near a stream"):
        assert neg is None or neg.replacement not in ("woman", "girl"), neg


def test_people_the_others_call_girls_and_women_become_men(sibling_draws):
    caption = "Two people are playing tennis in an outside court."
    siblings = ["Two girls are playing tennis on a tennis court.", "Two women play singles tennis."]
    texts = {n.text for n in sibling_draws(caption, siblings) if n is not None}
    assert "Two men are playing tennis in an outside court." in texts, texts


@pytest.mark.parametrize(
    "caption",
    [
        "A television with two men and a woman on the screen.",
        "A woman holding a smart phone at a table.",
        "A young girl holding a smart phone at a table.",
    ],
)
def test_a_woman_and_a_girl_never_replace_each_other(draws, caption):
    # Captions call grown women girls: the one for the other changes too little to be false
    # (seed-101 reading). A man and a boy are told apart and still trade.
    for neg in draws(caption):
        assert neg is None or {neg.original.lower(), neg.replacement} != {"woman", "girl"}, neg
    moved = _of(draws("A boy sleeping on the side of his bed."), "boy")
    assert any(n.replacement == "man" for n in moved), moved


@pytest.mark.parametrize(
    ("caption", "old"),
    [
        ("A pretty young dark haired girl brushing her teeth.", "girl"),
        ("A pretty young lady making a pizza next to a man in a kitchen.", "lady"),
        ("A group of pretty young ladies standing on a tennis court.", "ladies"),
        ("A handsome man in a suit standing in a kitchen.", "man"),
    ],
)
def test_words_that_describe_one_gender_keep_it(draws, caption, old):
    # "A pretty young man", "a pretty young boy" (seed-101 reading): the kept description
    # belongs to the old gender.
    lex = load_lexicon()
    other = lex.male if old in lex.female else lex.female

    def crossed(c: str) -> list:
        kept = set(c.lower().split())
        moved = _of_start(draws(c), old)
        return [n for n in moved if other & set(n.text.lower().split()) - kept]

    assert not crossed(caption), crossed(caption)
    assert crossed(caption.replace("pretty ", "").replace("handsome ", ""))


def test_a_person_their_pronoun_refers_to_is_not_told_apart(sibling_draws):
    # "A woman on field with a Frisbee in their hand": "their" was kept from "person".
    siblings = ["A man throwing a frisbee in a field.", "A man on a field with a frisbee."]
    caption = "A person on field with a Frisbee in their hand."
    for neg in _of(sibling_draws(caption, siblings), "person"):
        assert neg.replacement not in ("man", "woman"), neg
    plain = _of(sibling_draws("A person on field with a Frisbee in hand.", siblings), "person")
    assert any(n.replacement == "woman" for n in plain), plain


def test_an_acronym_gives_the_new_noun_no_capitals(draws):
    # "A TV with a picture …" ↛ "A LAPTOP with …": "TV" is written in capitals as an
    # acronym, not as shouting (seed-101 reading).
    moved = _of(draws("A TV with a picture of two men wearing black hats."), "tv")
    assert moved and all(n.replacement.islower() for n in moved), moved
    # A caption written in capitals keeps them.
    moved = _of(draws("A TV WITH A PICTURE OF TWO MEN WEARING BLACK HATS."), "tv")
    assert moved and all(n.replacement.isupper() for n in moved), moved


@pytest.mark.parametrize(
    "caption",
    [
        "A lap top computer is open and on and is sitting on a desk next to a lamp.",
        "A woman sitting at a lap top computer.",
    ],
)
def test_a_noun_after_a_compound_written_as_two_words_is_no_slot(draws, caption):
    # "lap top" is a laptop: "a lap top camera" replaces half a compound (seed-101 reading).
    assert not _of(draws(caption), "computer")
    assert _of(draws(caption.replace("lap top ", "")), "computer")


@pytest.mark.parametrize(
    ("caption", "part", "other", "old"),
    [
        (
            "Three elephants reaching over a metal fence with their trunks.",
            "their trunks",
            "their heads",
            "elephants",
        ),
        (
            "A zebra with black and white stripes standing in the grass.",
            "black and white stripes",
            "a short mane",
            "zebra",
        ),
    ],
)
def test_an_animal_keeps_the_parts_only_its_kind_has(draws, caption, part, other, old):
    # "Three giraffes reaching over a metal fence with their trunks" (seed-101 reading); a
    # part other kinds have too (a mane) leaves the animal free to change.
    assert not _of(draws(caption), old)
    assert _of(draws(caption.replace(part, other)), old)


def test_a_thing_the_tagger_calls_a_proper_noun_is_still_in_the_scene(draws):
    # "a sink and oven": "oven" is tagged NNP, so the scene lost it and the kitchen became
    # "a bathroom with … a sink and oven" (seed-101 reading).
    caption = "A kitchen with hardwood floors and a sink and oven."
    for neg in _of(draws(caption), "kitchen"):
        assert neg.replacement != "bathroom", neg
    moved = _of(draws("A kitchen with hardwood floors and a sink."), "kitchen")
    assert any(n.replacement == "bathroom" for n in moved), moved


def test_a_sibling_s_woman_leaves_a_girl_true_and_the_reverse(draws, sibling_draws):
    # Captions call one grown woman a girl too: where another caption says "a woman", "a
    # girl" may be the truth (seed-111 reading), and the reverse; unless the caption names
    # its own woman, whom the sibling may mean.
    caption = "A man standing in front of a TV holding a Wii game controller."
    assert any(n is not None and n.replacement == "girl" for n in draws(caption))
    for siblings in (["A woman is playing video games."], ["A girl is playing video games."]):
        for n in sibling_draws(caption, siblings):
            assert n is None or n.replacement not in ("woman", "girl"), (siblings, n)
    both = "A man, woman, and boy are sitting at a table."
    negs = sibling_draws(both, ["A family of three sits at a table with a woman."])
    assert any(n is not None and n.replacement == "girl" for n in negs), negs


@pytest.mark.parametrize(
    "caption, original",
    [
        ("a woman laying in bed reading a book with a cat sitting on top", "book"),
        ("A soccer player prepares to kick a soccer ball.", "soccer ball"),
    ],
)
def test_a_verb_that_selects_its_object_keeps_it(draws, caption, original):
    # The corpus reads books and kicks soccer balls far more than anything else: a noun the
    # verb never governed is an odd scene ("reading a teddy bear"; seed-111 reading), however
    # few things it saw read.
    for neg in _of(draws(caption), original):
        assert neg.replacement in ("newspaper", "paper", "menu", "ball"), neg
