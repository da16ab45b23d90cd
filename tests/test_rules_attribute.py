"""attribute_swap's moves (DESIGN §4): where no two modifiers trade, one moves to another noun
("a red train next to a field" → "a train next to a red field", as SugarCrepe's swap_att)."""

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
    for caption, want in {
        # The articles before both edits follow the new first word.
        "An old car parked next to a building.": "A car parked next to an old building.",
        "A red bus parked next to a building.": "A bus parked next to a red building.",
        "A white plate with rice and a fork.": "A plate with white rice and a fork.",
    }.items():
        neg = swap(gen, caption)
        assert neg is not None and neg.text == want, (caption, neg)
        assert broken_invariants(caption, neg) == []


def test_a_move_needs_evidence_and_is_false_for_the_image():
    caption = "A red vase next to a lamp."
    seen = ["A red lamp.", "A red lamp on a desk.", caption] + ["A tall lamp."] * 8
    stats, _ = compute_stats(seen)
    neg = NegativeGenerator(types=("attribute_swap",), stats=stats).generate_one(caption)[0]
    assert neg is not None and neg.text == "A vase next to a red lamp.", neg
    # Another caption of the image says the lamp is red: the move is no negative.
    gen = NegativeGenerator(types=("attribute_swap",), stats=stats)
    assert gen.generate_one(caption, ["A red lamp and a red vase."])[0] is None
    # A lamp never said to be red, nor of any colour, takes none.
    stats, _ = compute_stats([caption] + ["A tall lamp."] * 10)
    assert NegativeGenerator(types=("attribute_swap",), stats=stats).generate_one(caption) == [None]


def test_moves_keep_people_grounds_and_phrases_whole(gen):
    for caption in (
        "A white man wearing a tie and a hat.",  # a person's colour is no attribute to move
        "A man standing next to a red car.",  # nor is a colour said of a person ("a red man")
        "A blue kite is flying in the sky",  # the sky is blue anyway
        "A very small dog next to a chair.",  # "a very chair"
        "Grey and white cat sitting in a small sink.",
        "A long canoe paddled along by a large group of people.",
        "A plate with a hot dog and baked beans.",
        "A man in white shirt sitting at a laptop in bedroom.",  # "a man in shirt"
        "Two snowboarders riding down a hill in a snowy forest.",  # "a snowy hill": the same snow
        "Tabby cat with green eyes wearing a hat",  # "a cat with eyes"
        "a small child laying in bed playing nintendo wii",  # "in small bed"
    ):
        assert swap(gen, caption) is None, caption


def test_a_swap_is_preferred_to_a_move(gen):
    neg = swap(gen, "a black cat next to an orange dog")
    assert neg.text == "an orange cat next to a black dog"


def test_big_or_small_moves_between_things_not_onto_animals(gen):
    neg = swap(gen, "Man and woman holding a knife up to a small cake.")
    assert neg is not None and neg.text == "Man and woman holding a small knife up to a cake."
    neg = swap(gen, "Large dog lying on couch with blanket in living room.")
    assert neg is not None and neg.text == "Dog lying on large couch with blanket in living room."
    for caption in (
        "A man standing next to an elephant with a long trunk.",  # "a long elephant"
        "A cow standing in a field with lots of tall grass.",  # "a tall cow"
        "A horse pulling a carriage on a narrow path.",  # "a narrow horse"
    ):
        assert swap(gen, caption) is None, caption


def test_a_moved_word_takes_its_place_in_the_order_of_adjectives(gen):
    # A size goes before a colour, a colour before a material noun, whichever word moves.
    caption = "A large dog sleeping on a white couch."
    gens = [NegativeGenerator(types=("attribute_swap",), seed=s) for s in range(4)]
    texts = {g.generate_one(caption)[0].text for g in gens}
    assert texts and texts <= {
        "A dog sleeping on a large white couch.",
        "A large white dog sleeping on a couch.",
    }, texts
    # After a word of an earlier kind: "a small blue plane".
    neg = swap(gen, "A small plane flying through a blue sky.")
    assert neg is not None and neg.text == "A small blue plane flying through a sky."
    neg = swap(gen, "Two people outside of a stone building near a red fire hydrant.")
    assert neg is not None and neg.text == (
        "Two people outside of a red stone building near a fire hydrant."
    )
    # Never a second word of one kind: "a wooden glass fruit bowl".
    neg = swap(gen, "Some oranges in a glass fruit bowl on top of a wooden table.")
    assert neg is None or "wooden glass" not in neg.text, neg


def test_two_joined_colours_move_together(gen):
    neg = swap(gen, "A red and white bicycle next to a building and door.")
    assert neg is not None and neg.text == "A bicycle next to a red and white building and door."
    assert broken_invariants("A red and white bicycle next to a building and door.", neg) == []


def test_a_degree_moves_with_its_word(gen):
    caption = "The extremely small car is parked behind the bus."
    neg = swap(gen, caption)
    assert neg is not None and neg.text == "The car is parked behind the extremely small bus."
    assert broken_invariants(caption, neg) == []


def test_a_noun_the_corpus_hardly_describes_takes_what_its_class_takes(gen):
    # The corpus hardly describes skateboards; sports gear often takes a colour.
    neg = swap(gen, "A boy is jumping his skateboard over an orange cone.")
    assert neg is not None and neg.text == "A boy is jumping his orange skateboard over a cone."
    # Not a game one plays, nor a packaged compound with a colour of its own.
    assert swap(gen, "a little boy in a blue shirt is playing baseball") is None
    assert swap(gen, "a blue pickup truck stopped at a stop sign") is None


def test_a_user_lexicon_extends_the_nouns_moves_leave_alone(tmp_path):
    caption = "An old car parked next to a building."
    assert swap(NegativeGenerator(types=("attribute_swap",)), caption).text == (
        "A car parked next to an old building."
    )
    user = tmp_path / "city.yaml"
    user.write_text("undescribed: [building]\n")
    gen = NegativeGenerator(types=("attribute_swap",), lexicons=(str(user),))
    neg = swap(gen, caption)
    assert neg is None or "old building" not in neg.text, neg


@pytest.mark.parametrize("entry", ["grounds: turf", "bare_places: [fire pit]", "grounds: [Turf]"])
def test_a_bad_noun_list_entry_names_the_file_and_the_entry(tmp_path, entry):
    from ahnpl.pipeline.lexicon import LexiconError, load_lexicon

    user = tmp_path / "bad.yaml"
    user.write_text(entry + "\n")
    with pytest.raises(LexiconError, match=r"bad\.yaml.*(grounds|bare_places)"):
        load_lexicon((str(user),))
