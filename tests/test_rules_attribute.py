"""attribute_swap's moves (DESIGN §4): where no two modifiers trade, one moves to another noun
("a red train next to a field" → "a train next to a red field", as SugarCrepe's swap_att),
only where another caption of the image says the new noun is otherwise ("a blue field")."""

from __future__ import annotations

import pytest

from ahnpl.pipeline.corpus_stats import compute_stats
from ahnpl.pipeline.negative_checks import broken_invariants
from ahnpl.pipeline.negatives import NegativeGenerator


@pytest.fixture(scope="module")
def gen():
    return NegativeGenerator(types=("attribute_swap",))


def swap(gen, caption, siblings=()):
    return gen.generate_one(caption, list(siblings))[0]


def test_a_modifier_moves_to_a_noun_that_takes_it(gen):
    for caption, sibling, want in (
        # The articles before both edits follow the new first word.
        (
            "A car parked next to an orange building.",
            "A white car.",
            "An orange car parked next to a building.",
        ),
        (
            "A red bus parked next to a building.",
            "A white building.",
            "A bus parked next to a red building.",
        ),
        (
            "A white plate with rice and a fork.",
            "Brown rice.",
            "A plate with white rice and a fork.",
        ),
    ):
        neg = swap(gen, caption, [sibling])
        assert neg is not None and neg.text == want, (caption, neg)
        assert broken_invariants(caption, neg) == []


def test_a_move_needs_evidence_and_is_false_for_the_image():
    caption = "A red vase next to a lamp."
    seen = ["A red lamp.", "A red lamp on a desk.", caption] + ["A tall lamp."] * 8
    stats, _ = compute_stats(seen)
    gen = NegativeGenerator(types=("attribute_swap",), stats=stats)
    neg = gen.generate_one(caption, ["A vase next to a blue lamp."])[0]
    assert neg is not None and neg.text == "A vase next to a red lamp.", neg
    # Another caption of the image says the lamp is red: the move is no negative.
    assert gen.generate_one(caption, ["A red lamp and a red vase."])[0] is None
    # A lamp never said to be red, nor of any colour, takes none.
    stats, _ = compute_stats([caption] + ["A tall lamp."] * 10)
    gen = NegativeGenerator(types=("attribute_swap",), stats=stats)
    assert gen.generate_one(caption, ["A blue lamp."]) == [None]


def test_a_move_no_other_caption_contradicts_is_no_negative(gen):
    # "a small bed", "an old bench", "a white sink": the new pair may well be true.
    for caption, siblings in (
        ("A red bus parked next to a building.", ["A bus next to a building.", "A red bus."]),
        ("Small cat under the blankets on a bed.", ["A cat on a bed.", "A small bed."]),
        # A size says nothing of a colour.
        ("A red bus parked next to a building.", ["A tall building."]),
        # A word of no scale (an age, "fancy") is contradicted by nothing: it never moves.
        ("An old man reading a book on a park bench.", ["A man on a new bench."]),
    ):
        assert swap(gen, caption, siblings) is None, caption
    # Another caption gives the bed another size, the bench another colour: false.
    neg = swap(gen, "Small cat under the blankets on a bed.", ["A cat on a large bed."])
    assert neg is not None and neg.text == "Cat under the blankets on a small bed.", neg
    neg = swap(gen, "A red bus parked next to a building.", ["A bus by a white building."])
    assert neg is not None and neg.text == "A bus parked next to a red building.", neg


def test_joined_and_predicate_colours_of_other_captions_count(gen):
    caption = "A cat looking at a white laptop on a bed."
    for sibling in ("A brown cat.", "The cat is brown."):
        neg = swap(gen, caption, [sibling])
        assert neg is not None and neg.text == "A white cat looking at a laptop on a bed.", neg
    # The cat is white as well as brown: "a white cat" is true.
    for sibling in (
        "A brown and white cat.",
        "A brown, white and black cat.",
        "The cat is brown and white.",
    ):
        assert swap(gen, caption, [sibling]) is None, sibling


def test_moves_keep_people_grounds_and_phrases_whole(gen):
    # Each sibling contradicts the move, so only the rule named can stop it.
    for caption, sibling in (
        # A person's colour is no attribute to move.
        ("A white man wearing a tie and a hat.", "A man in a black tie and a black hat."),
        # Nor is a colour said of a person ("a red man").
        ("A man standing next to a red car.", "A black man next to a car."),
        ("A blue kite is flying in the sky", "A kite in the grey sky."),  # blue anyway
        ("A very small dog next to a chair.", "A dog by a large chair."),  # "a very chair"
        ("Grey and white cat sitting in a small sink.", "A large cat in a black sink."),
        ("A long canoe paddled along by a large group of people.", "A small canoe."),
        ("A plate with a hot dog and baked beans.", "A white plate."),
        # "a man in shirt"
        ("A man in white shirt sitting at a laptop in bedroom.", "A black laptop."),
        ("Tabby cat with green eyes wearing a hat", "A grey cat in a red hat."),  # "eyes"
        ("a small child laying in bed playing nintendo wii", "A child in a large bed."),
    ):
        assert swap(gen, caption, [sibling]) is None, caption


def test_a_swap_is_preferred_to_a_move(gen):
    neg = swap(gen, "a black cat next to an orange dog")
    assert neg.text == "an orange cat next to a black dog"


def test_big_or_small_moves_between_things_not_onto_animals(gen):
    caption = "Man and woman holding a knife up to a small cake."
    neg = swap(gen, caption, ["A large knife."])
    assert neg is not None and neg.text == "Man and woman holding a small knife up to a cake."
    neg = swap(gen, "Large dog lying on couch with blanket in living room.", ["A small couch."])
    assert neg is not None and neg.text == "Dog lying on large couch with blanket in living room."
    for caption, sibling in (
        ("A man standing next to an elephant with a long trunk.", "A short elephant."),
        ("A cow standing in a field with lots of tall grass.", "A short cow."),
        ("A horse pulling a carriage on a narrow path.", "A wide horse."),
    ):
        assert swap(gen, caption, [sibling]) is None, caption


def test_a_moved_word_takes_its_place_in_the_order_of_adjectives(gen):
    # A size goes before a colour, a colour before a material noun, whichever word moves.
    caption = "A large dog sleeping on a white couch."
    gens = [NegativeGenerator(types=("attribute_swap",), seed=s) for s in range(4)]
    texts = {g.generate_one(caption, ["A small brown dog on a black couch."])[0].text for g in gens}
    assert texts and texts <= {
        "A dog sleeping on a large white couch.",
        "A large white dog sleeping on a couch.",
    }, texts
    # After a word of an earlier kind: "a small blue plane".
    neg = swap(gen, "A small plane flying through a blue sky.", ["A white plane."])
    assert neg is not None and neg.text == "A small blue plane flying through a sky."
    caption = "Two people outside of a stone building near a red fire hydrant."
    neg = swap(gen, caption, ["A white building."])
    assert neg is not None and neg.text == (
        "Two people outside of a red stone building near a fire hydrant."
    )
    # Never a second word of one kind: "a wooden glass fruit bowl".
    neg = swap(gen, "Some oranges in a glass fruit bowl on top of a wooden table.")
    assert neg is None or "wooden glass" not in neg.text, neg


def test_two_joined_colours_move_together(gen):
    neg = swap(gen, "A red and white bicycle next to a building and door.", ["A blue building."])
    assert neg is not None and neg.text == "A bicycle next to a red and white building and door."
    assert broken_invariants("A red and white bicycle next to a building and door.", neg) == []


def test_a_degree_moves_with_its_word(gen):
    caption = "The extremely small car is parked behind the bus."
    neg = swap(gen, caption, ["A large bus."])
    assert neg is not None and neg.text == "The car is parked behind the extremely small bus."
    assert broken_invariants(caption, neg) == []


def test_a_noun_the_corpus_hardly_describes_takes_what_its_class_takes(gen):
    # The corpus hardly describes skateboards; sports gear often takes a colour.
    neg = swap(gen, "A boy is jumping his skateboard over an orange cone.", ["A blue skateboard."])
    assert neg is not None and neg.text == "A boy is jumping his orange skateboard over a cone."
    # Not a game one plays, nor a packaged compound with a colour of its own.
    assert (
        swap(gen, "a little boy in a blue shirt is playing baseball", ["White baseball."]) is None
    )
    assert swap(gen, "a blue pickup truck stopped at a stop sign", ["A white stop sign."]) is None


def test_a_user_lexicon_extends_the_nouns_moves_leave_alone(tmp_path):
    caption, siblings = "A red bus parked next to a building.", ["A white building."]
    assert swap(NegativeGenerator(types=("attribute_swap",)), caption, siblings).text == (
        "A bus parked next to a red building."
    )
    user = tmp_path / "city.yaml"
    user.write_text("undescribed: [building]\n")
    gen = NegativeGenerator(types=("attribute_swap",), lexicons=(str(user),))
    neg = swap(gen, caption, siblings)
    assert neg is None or "red building" not in neg.text, neg


@pytest.mark.parametrize("entry", ["grounds: turf", "bare_places: [fire pit]", "grounds: [Turf]"])
def test_a_bad_noun_list_entry_names_the_file_and_the_entry(tmp_path, entry):
    from ahnpl.pipeline.lexicon import LexiconError, load_lexicon

    user = tmp_path / "bad.yaml"
    user.write_text(entry + "\n")
    with pytest.raises(LexiconError, match=r"bad\.yaml.*(grounds|bare_places)"):
        load_lexicon((str(user),))


def test_swaps_keep_to_colours_sizes_and_materials_that_fit(gen):
    neg = swap(gen, "A red couch next to a brown chair in a living room.")
    assert neg is not None and neg.text == "A brown couch next to a red chair in a living room."
    for caption in (
        "Many yellow bananas are arranged on a blue display case.",  # "blue bananas"
        "A brown chicken standing on top of a lush green field.",  # "a green chicken"
        "A blue train traveling past a train station next to a lush green mountain.",
        "A red stop sign in front of a blue truck.",  # a stop sign has its colour
        "A white sink in a small, tiled bathroom.",  # "a white bathroom" may well be true
        "A toilet area features some shelving with silver accents and towels and a white toilet.",
        # A state is no thing's look: "sitting in an empty chair".
        "Woman with blue dress sitting in modern chair next to vase in empty room.",
    ):
        assert swap(gen, caption) is None, caption
    neg = swap(gen, "a white vase with yellow tulips against a grey background")
    assert neg is None or "grey tulips" not in neg.text, neg  # plants have their colours
    # Never next to a word of its kind: "two large small elephants".
    neg = swap(gen, "Two large brown elephants standing over a small elephant.")
    assert neg is None or "large small" not in neg.text, neg
    neg = swap(gen, "Large black motorcycle sitting next to a white building.")
    assert neg is None or "White black" not in neg.text, neg


def test_a_colour_leaves_no_bare_color_word(gen):
    caption = "Grey color cat standing on hood of car in garage"
    assert swap(gen, caption, ["A cat on a black car."]) is None


def test_a_synonym_or_a_listed_colour_of_another_caption_counts(gen):
    caption = "The elephant walks on a big grass field."
    assert (
        swap(gen, caption, ["A small elephant."]).text == "The big elephant walks on a grass field."
    )
    assert swap(gen, caption, ["A small elephant.", "A large elephant."]) is None
    caption = "A airplane is flying through a cloudy blue sky."
    assert swap(gen, caption, ["A white plane."]) is not None
    assert swap(gen, caption, ["A white plane.", "A white, red and blue plane."]) is None


@pytest.mark.parametrize(
    "caption, never",
    [
        (
            "A little boy holding a bat with a hat pulled over his face.",
            ("giant", "huge", "massive"),
        ),
        ("A man standing on top of an orange boat on a river.", ("red",)),
        ("A drooping pink and white flower with green leaves.", ("red", "purple")),
        ("A group of gentleman playing video games in a dimly lit room.", ("dimly dark",)),
        ("Smoke is billowing over the large billboard sign.", ("miniature", "oversized")),
    ],
)
def test_attribute_replacements_are_no_near_colour_nor_odd_size(caption, never):
    texts = set()
    for seed in range(6):
        neg = NegativeGenerator(types=("attribute",), seed=seed).generate_one(caption)[0]
        if neg is not None:
            texts.add(neg.text)
    assert not any(w in t for t in texts for w in never), texts


def _attribute_texts(caption, siblings=(), seeds=range(6)):
    """The attribute negatives of a caption over a few seeds (the draw is seeded)."""
    texts = set()
    for seed in seeds:
        neg = NegativeGenerator(types=("attribute",), seed=seed).generate_one(
            caption, list(siblings)
        )[0]
        if neg is not None:
            texts.add(neg.text)
    return texts


@pytest.mark.parametrize(
    "caption, want",
    [
        ("A young man walking across a street at a crosswalk.", ("old", "elderly")),
        ("An elderly woman sits on a bench with a crowd behind her.", ("young",)),
        ("A male tennis player reaching up to hit the ball.", ("female",)),
        ("A female tennis player stands on the court.", ("male",)),
    ],
)
def test_the_age_or_sex_of_a_person_changes(caption, want):
    texts = _attribute_texts(caption)
    assert texts and all(any(w in t.lower().split() for w in want) for t in texts), texts


@pytest.mark.parametrize(
    "caption, siblings",
    [
        ("A young boy eating a banana at a table.", ()),  # "an elderly boy"
        ("An old building next to a street.", ()),  # "a young building"
        ("A young man riding a skateboard down a rail.", ()),  # an oddity, not a scene
        ("A young man skateboarding at a public park.", ()),
        ("A male snowboarder sits with his board on a hill.", ()),  # "a female ... his"
        ("A male tennis player hits the ball.", ("A woman swings a racket.",)),  # true
        ("A young woman looking at her phone.", ("An old woman with a phone.",)),
        # "a younger man" leaves a comparative with nothing to compare (an independent reading).
        ("An older woman preparing cookies at a table.", ()),
    ],
)
def test_an_age_or_a_sex_only_where_it_is_plausible_and_false(caption, siblings):
    texts = _attribute_texts(caption, siblings)
    words = {"old", "elderly", "young", "female", "male", "older", "younger"}
    changed = {w for t in texts for w in t.lower().split()} - set(caption.lower().split())
    assert not changed & words, texts


@pytest.mark.parametrize(
    "caption, want",
    [
        ("A black and white cat laying on the hood of a car.", "and white cat"),
        ("A dog looking up with its mouth open.", "mouth closed"),
    ],
)
def test_joined_colours_of_a_thing_and_states_after_their_noun_change(caption, want):
    texts = _attribute_texts(caption)
    assert texts and all(want in t and t != caption for t in texts), texts


def test_black_and_white_stays_whole_for_a_picture():
    # Never inside the idiom ("a brown and white photo"): the whole of it, or nothing.
    for caption in ("A black and white photo of a dog.", "a black and white photo of a train"):
        texts = _attribute_texts(caption)
        assert all("black and white photo" in t or "olor photo" in t for t in texts), texts


def _changed_words(caption, texts):
    """The words the negatives bring in that the caption does not have."""
    return {w for t in texts for w in t.lower().rstrip(".").split()} - set(
        caption.lower().rstrip(".").split()
    )


@pytest.mark.parametrize(
    "caption, never",
    [
        # A place is open or empty as a wide space, not as a state that toggles.
        ("A man riding a horse on an open plane.", {"closed"}),
        ("A black bear is walking on a open field next to some trees.", {"closed"}),
        ("A train sitting idle in an empty train station", {"full"}),
        # A seat is empty or taken, never "full"; nor does a state follow a verb of posture.
        ("A number of newspapers lay on an empty bed.", {"full"}),
        ("A beach chair and umbrella sit empty near the water.", {"full"}),
        # "dark" is no clear opposite of "lit" (dark green? unlit?).
        ("A teddy bear hanging on a lit christmas tree.", {"dark"}),
        # A size against another size word, or the size a thing has by its kind.
        ("A large long train on a steel track.", {"small", "little", "tiny"}),
        ("A large and wide street covered in lots of traffic lights.", {"small", "little"}),
        ("A small kitten sitting on a slatted bench.", {"large", "big", "huge", "giant"}),
        ("A very large semi truck without any load is parked.", {"tiny", "small", "little"}),
        # A colour a word of the caption implies, or one graded by "very".
        ("An animal grazing on a lush field of green grass.", {"brown", "yellow", "black"}),
        ("The bathroom has very white appliances in it.", {"silver", "black", "gray"}),
        # The second word of a compound stays.
        ("A kitchen is shown with stainless steel appliances.", {"wooden", "glass", "plastic"}),
    ],
)
def test_an_attribute_keeps_to_opposites_the_noun_and_its_words_allow(caption, never):
    texts = _attribute_texts(caption)
    assert not _changed_words(caption, texts) & never, texts


@pytest.mark.parametrize(
    "caption, want",
    [
        # An empty place becomes a crowded one; a thing that opens or holds keeps its opposite.
        ("A train sitting idle in an empty train station", {"busy", "crowded"}),
        ("A cat resting on an open laptop computer.", {"closed"}),
        ("An empty bowl sitting on a wooden table.", {"full"}),
        ("A person holding up a cell phone by a lit candle.", {"unlit"}),
        ("A small dog sitting on a wooden bench.", {"large", "big", "huge"}),
    ],
)
def test_clear_opposites_of_states_and_sizes_are_still_made(caption, want):
    texts = _attribute_texts(caption)
    assert texts and _changed_words(caption, texts) & want, texts


@pytest.mark.parametrize(
    "caption",
    [
        "Two sloppy joe sandwiches on two separate plates",  # one for each
        "Two people in red robes sitting on two horses.",
        "Two baseball players one catching the ball the other sliding into base",
        "Two giraffes, one grown and one baby, standing next to each other",
        "Two zebras facing opposite directions in a grassy field.",
        "Two cars facing opposite side to side on an overcast day.",
    ],
)
def test_a_count_the_rest_of_the_caption_fixes_stays(caption):
    counts = {"two", "three", "four", "five", "six", "seven", "eight"}
    assert not _changed_words(caption, _attribute_texts(caption)) & counts


def test_a_count_changes_beside_another_or_with_each_other():
    for caption in (
        "two women and two girls in makeup and one is talking on a cellphone",
        "Two elephants touching each other with their trunks and tusks.",
    ):
        texts = _attribute_texts(caption)
        counts = {"three", "four", "five", "six", "seven", "eight"}
        assert _changed_words(caption, texts) & counts, texts


@pytest.mark.parametrize(
    "caption, siblings, want",
    [
        # A picture in black and white becomes a colour one.
        ("A black and white photo of a dog.", (), "A color photo of a dog."),
        ("Black and white picture of a man on a horse.", (), "Color picture of a man on a horse."),
        ("A photo of a street in black and white.", (), "A photo of a street in color."),
        # Clear opposites of a state: made things' age, indoor ↔ outdoor, messy ↔ tidy.
        (
            "An old truck parked on the side of a road.",
            (),
            "A new truck parked on the side of a road.",
        ),
        ("People shopping at an outdoor market.", (), "People shopping at an indoor market."),
        ("A laptop computer sits on a cluttered desk.", (), {"tidy", "neat"}),
        ("An antique clock hanging on a wall.", (), "A modern clock hanging on a wall."),
        ("The baby is asleep in a crib.", (), "The baby is awake in a crib."),
    ],
)
def test_clear_opposites_are_sources(caption, siblings, want):
    texts = _attribute_texts(caption, siblings)
    if isinstance(want, str):
        assert texts == {want}, texts
    else:
        assert texts and _changed_words(caption, texts) <= want, texts


@pytest.mark.parametrize(
    "caption, siblings, never",
    [
        # Dressed in black and white, or a colour photo by another caption's word.
        ("A woman in black and white standing by a car.", (), {"color"}),
        ("A black and white photo of a dog.", ("A colorful photo of a dog.",), {"color"}),
        # "old" of an animal, a picture, a span or an idiom; "new" against another old word.
        ("An old dog lying on a rug.", (), {"new"}),
        ("An old picture of a train stopped in a city.", (), {"new"}),
        ("A 100 year old building in a city.", (), {"new"}),
        ("An old fashion baseball game.", (), {"new"}),
        ("A very old antique clock on a wall.", (), {"new", "modern"}),
        # A state after a verb that is no copula: "fallen awake".
        ("A man has fallen asleep on a couch.", (), {"awake"}),
        # A colour a word of its own noun implies: "a red grassy area".
        ("A flag is flying in a green grassy area.", (), {"red", "blue", "brown", "yellow"}),
    ],
)
def test_clear_opposites_only_where_they_read_so(caption, siblings, never):
    assert not _changed_words(caption, _attribute_texts(caption, siblings)) & never


def test_a_colour_after_its_noun_on_another_noun_still_changes():
    caption = "A woman in a white jacket snowboarding on a snowy hill."
    changed = _changed_words(caption, _attribute_texts(caption))
    assert changed and "white" not in changed, changed


@pytest.mark.parametrize(
    "caption, siblings, want",
    [
        # A child's age: a teenage one is the clear opposite of a little or young one.
        ("A young boy flying a kite on a beach.", (), "A teenage boy flying a kite on a beach."),
        ("A little girl eating a slice of pizza.", (), "A teenage girl eating a slice of pizza."),
        # An animal's age said as a noun before it.
        ("A baby elephant walking in a field.", (), "An adult elephant walking in a field."),
        ("An adult giraffe standing by a tree.", (), "A baby giraffe standing by a tree."),
        # A day's weather; a count of a noun tagged singular ("two giraffe", "two sheep").
        ("A rainy day in the city.", (), "A sunny day in the city."),
        # "A pair of" people or animals is a count of two.
        ("A pair of zebras stand together.", (), "Three zebras stand together."),
        (
            "Two giraffe walking next to each other in a forest.",
            (),
            {"three", "four", "five", "six", "seven", "eight"},
        ),
    ],
)
def test_ages_of_children_and_animals_weather_and_counts_are_sources(caption, siblings, want):
    test_clear_opposites_are_sources(caption, siblings, want)


@pytest.mark.parametrize(
    "caption, siblings, never",
    [
        # A small child's scene, a held child, a grown person by another caption's word.
        ("A little girl sitting in a high chair.", (), {"teenage"}),
        ("A man holding a little girl.", (), {"teenage"}),
        ("A young boy flying a kite on a beach.", ("A young man flying a kite.",), {"teenage"}),
        ("A very young boy is using a keyboard.", (), {"teenage"}),
        # An animal of the other age in the scene: its mother, the animal in the plural.
        ("A baby elephant standing next to its mother.", (), {"adult"}),
        ("A baby elephant walking in a field.", ("Two elephants in a field.",), {"adult"}),
        ("The old, adult elephant stands near a fence.", (), {"baby"}),
        ("A box of old used books on sale.", (), {"new"}),
        ("A group of old planes on display in a museum.", (), {"new"}),  # kept for their age
        # Weather of a thing, or umbrellas that stand for the rain.
        ("A stormy cloud over some houses.", (), {"sunny"}),
        ("People with umbrellas on a rainy day.", (), {"sunny"}),
        # Things that come in pairs; a verb that agrees with "a pair".
        ("A cat sitting on a pair of shoes.", (), {"three"}),
        ("A pair of zebras is standing in a field.", (), {"three"}),
        # A route number is no count.
        ("The #41 bus parked at the curb.", (), {f"#{v}" for v in range(2, 9)}),
    ],
)
def test_ages_weather_and_counts_only_where_they_read_so(caption, siblings, never):
    test_clear_opposites_only_where_they_read_so(caption, siblings, never)


_COLOURS = {"red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black"}
_COLOURS |= {"white", "gray", "grey", "silver", "gold", "beige", "tan"}
_MATERIALS = {"wooden", "wood", "metal", "glass", "plastic", "stone", "brick", "leather"}
_MATERIALS |= {"ceramic", "paper", "concrete", "cement", "wicker"}


@pytest.mark.parametrize(
    "caption, never",
    [
        # A material the corpus never says of the thing (the seed-101 reading).
        ("A large long train on a steel track.", _MATERIALS),
        # A thing the corpus gives no material at all, outside the lexicon: "a metal alcove".
        ("A woman sitting on a bench in a stone alcove.", _MATERIALS),
        # "clear" fixes the material and the colour of what it describes.
        ("A clear, glass vase full of fresh cut tulips", _MATERIALS),
        ("A woman lying on a beach towel with clear blue sky above.", _COLOURS),
        # A shade grades its colour: "dark green" ↛ "dark yellow".
        (
            "A group of people look at the dark green motorcycle parked on the grass.",
            _COLOURS - {"blue", "brown", "gray", "grey", "red", "purple"},
        ),
        # A colour the corpus hardly ever gives a noun it often colours: "blue bananas".
        ("A batch of green bananas next to a large set of red bananas.", {"blue", "black"}),
    ],
)
def test_a_colour_or_material_only_where_it_suits_the_thing(caption, never):
    assert not _changed_words(caption, _attribute_texts(caption)) & never


@pytest.mark.parametrize(
    "caption, siblings, never",
    [
        # The count another caption gives the thing, or people any people (seed 101).
        (
            "FedEx truck hauling two extra trailers driving through the desert.",
            ("A semi truck pulling a chain of three trailers.",),
            {"three"},
        ),
        (
            "Three people with cups on the couch and one with remote standing",
            ("A man playing a video game while two men sit on a couch.",),
            {"two"},
        ),
    ],
)
def test_no_count_another_caption_gives(caption, siblings, never):
    texts = _attribute_texts(caption, siblings, seeds=range(12))
    assert texts and not _changed_words(caption, texts) & never, texts


@pytest.mark.parametrize(
    "caption, never",
    [
        # A state the rest of the caption contradicts (seed 101): traffic on a deserted
        # street, a laptop "closed and on".
        ("a busy street witha a van and a car driving", {"deserted"}),
        ("A busy city street with cars a bus and a couple riding on a motorcycle.", {"deserted"}),
        ("A crowded sidewalk with people walking past a shop.", {"deserted"}),
        ("A lap top computer is open and on and is sitting on a desk.", {"closed"}),
    ],
)
def test_no_state_the_rest_of_the_caption_contradicts(caption, never):
    assert not _changed_words(caption, _attribute_texts(caption)) & never


def test_a_lone_rider_may_ride_a_deserted_street():
    caption = "The officer is riding his motorcycle in a busy street."
    assert "deserted" in _changed_words(caption, _attribute_texts(caption))


def test_a_shade_keeps_to_colours_it_goes_with():
    caption = "A laptop screen displays an image of bright pink leaves."
    changed = _changed_words(caption, _attribute_texts(caption, seeds=range(12)))
    assert changed and changed <= {"red", "yellow", "orange", "green", "blue", "white", "purple"}


@pytest.mark.parametrize(
    "caption, never",
    [
        # One stands between two things; a teddy bear is a small child's toy (seed 101).
        ("A horse is standing between two parked cars.", {"three", "four", "five", "six"}),
        ("A young girl plays with a teddy bear on the floor.", {"teenage"}),
    ],
)
def test_no_count_between_nor_teenager_with_a_teddy_bear(caption, never):
    assert not _changed_words(caption, _attribute_texts(caption)) & never


def test_a_choice_between_two_may_be_between_more():
    caption = "A man and a young girl choosing between two cakes."
    assert {"three", "four", "five"} & _changed_words(
        caption, _attribute_texts(caption, seeds=range(12))
    )


def test_a_thing_made_of_one_material_may_be_made_of_another():
    # The corpus says one material of a platter and of a door: another is a clear opposite.
    for caption in (
        "A pizza that is sitting on a wooden platter.",
        "A dog by a sliding glass door.",
    ):
        changed = _changed_words(caption, _attribute_texts(caption, seeds=range(12)))
        assert changed & _MATERIALS, (caption, changed)
