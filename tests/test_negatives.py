"""Text hard negatives (DESIGN §4): the invariants on real COCO captions and on edge cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from ahnpl.pipeline.corpus_stats import compute_stats
from ahnpl.pipeline.lexicon import TAG_TO_FORM, load_lexicon
from ahnpl.pipeline.negative_checks import broken_invariants
from ahnpl.pipeline.negatives import Negative, NegativeGenerator, load_spacy
from ahnpl.pipeline.surface import article_for, match_case, pluralize
from ahnpl.seeding import derive_seed
from ahnpl.shards.schema import ALL_NEGATIVE_TYPES, CORE_NEGATIVE_TYPES

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "negative_cases.jsonl").read_text().splitlines()
]
EDGE_CAPTIONS = [
    "",
    "   ",
    "Dog",
    "Very nice.",
    "A man riding a horse",
    "A red car, parked next to a white dog!",
    "A café with a red awning next to a naïve dog.",
    "Two dogs playing in a park",
    "A cat to the left of a dog",
    "A dog in front of a car",
    "On the table sits a red apple.",
    "An elephant standing next to a dog.",
    "THERE IS A BATHROOM WITH A SINK AND A MIRROR",
    " ".join(["A man riding a horse next to a red car on a wooden bridge, and"] * 12) + " a dog.",
]


@pytest.fixture(scope="module")
def gen() -> NegativeGenerator:
    return NegativeGenerator(types=ALL_NEGATIVE_TYPES, seed=0)


def by_type(gen: NegativeGenerator, caption: str) -> dict[str, Negative | None]:
    return dict(zip(gen.types, gen.generate_one(caption)))


def _strip_article(s: str) -> str:
    low = s.lower()
    for art in ("a ", "an "):
        if low.startswith(art):
            return low[len(art) :]
    return low


# The attribute rule's opposites outside the lexicon's scales (DESIGN §4, round att5): a
# picture's colour, a made thing's age, a child's, an animal's.
_CLEAR_OPPOSITES = frozenset(
    {("black and white", "color"), ("old", "new"), ("baby", "adult"), ("adult", "baby")}
    | {(w, "teenage") for w in ("young", "little", "small")}
)


def assert_same_kind(neg: Negative) -> None:
    """The replacement is of the kind of what it replaced, and no synonym of it."""
    lex = load_lexicon()
    a, b = _strip_article(neg.original), _strip_article(neg.replacement)
    if neg.type == "attribute":
        if (a, b) in _CLEAR_OPPOSITES:
            return
        if a in lex.attributes:
            x, y = lex.attributes[a], lex.attributes[b]
            assert x.kind == y.kind and x.group != y.group, neg
        else:
            value = 2 if a == "pair of" else lex.numbers.get(a) or int(a)
            assert (lex.numbers.get(b) or int(b)) not in (value, 0, 1), neg
    elif neg.type == "object":
        # The original may carry noun modifiers ("calico cat"): its lexicon noun ends it.
        words = a.split()
        src = next(
            lex.nouns[tuple(words[k:])] for k in range(len(words)) if tuple(words[k:]) in lex.nouns
        )
        dst = lex.nouns[tuple(b.split())]
        assert src.supercategory == dst.supercategory and src.group != dst.group, neg
    elif neg.type == "verb" and (" " in a or " " in b):
        _assert_verb_with_its_relation(a, b, neg)
    elif neg.type == "verb":
        v, w = lex.verbs[a][0][0], lex.verbs[b][0][0]
        # A participle of an intransitive verb becomes its -ing form ("a bus parked" → "driving").
        forms = {(k, m) for _, k in lex.verbs[a] for _, m in lex.verbs[b]}
        assert any(k == m or (k, m) == (4, 2) for k, m in forms) or b in v.forms, neg
        assert w.forms[0] not in v.synonyms, neg
        shared = set(lex.verb_membership[v.forms[0]]) & set(lex.verb_membership[w.forms[0]])
        assert shared, f"{neg}: {a!r} and {b!r} share no verb group"
    elif neg.type == "relation":
        if a in lex.sides:
            assert lex.sides[a] == b, neg
        else:
            x, y = lex.relations[tuple(a.split())], lex.relations[tuple(b.split())]
            assert x.group != y.group, neg


def _assert_verb_with_its_relation(a: str, b: str, neg: Negative) -> None:
    """A vehicle's verb with the relation the corpus gives it ("parked on the side of" →
    "driving down"), or a ridden vehicle at rest "being ridden" (the verb rule, round neg8)."""
    lex = load_lexicon()
    if b == "being ridden":
        assert lex.verbs[a][0][0].forms[0] in ("park", "sit", "stand", "stop", "rest"), neg
        return
    (va, ra), (vb, rb) = a.split(" ", 1), b.split(" ", 1)
    v, w = lex.verbs[va][0][0], lex.verbs[vb][0][0]
    assert w.forms[0] not in v.synonyms, neg
    assert "vehicle_motion" in lex.verb_membership[w.forms[0]], neg
    new = lex.relations[tuple(rb.split())]
    old = lex.relations.get(tuple(ra.split()))
    assert old is None or old.group != new.group, neg


# --- the table of real COCO captions -------------------------------------------------------


def test_table_has_enough_real_captions():
    assert len(CASES) >= 60
    assert all(set(c["expect"]) <= set(ALL_NEGATIVE_TYPES) for c in CASES)


def test_table_expected_negatives(gen):
    results = list(gen.generate([c["caption"] for c in CASES]))
    for case, negs in zip(CASES, results):
        got = dict(zip(gen.types, negs))
        for type_, want in case["expect"].items():
            neg = got[type_]
            where = f"{case['caption']!r} [{type_}]"
            if want is None:
                assert neg is None, f"{where}: expected no negative, got {neg}"
                continue
            assert neg is not None, f"{where}: expected a negative"
            if "span" in want:
                assert neg.original == want["span"], where
            if "text" in want:
                assert neg.text == want["text"], where


def test_table_invariants_hold_for_every_type(gen):
    counts = dict.fromkeys(gen.types, 0)
    for case, negs in zip(CASES, gen.generate([c["caption"] for c in CASES])):
        caption = case["caption"]
        for neg in negs:
            if neg is None:
                continue
            counts[neg.type] += 1
            assert neg.text != caption
            assert broken_invariants(caption, neg) == [], (caption, neg)
            assert caption[neg.start : neg.end] == neg.original
            assert neg.text == caption[: neg.start] + neg.replacement + caption[neg.end :]
            if neg.type in ("attribute", "object", "verb", "relation"):
                assert_same_kind(neg)
    # Real captions exercise every type; object_swap needs the swapped statement in the corpus
    # (test_object_swap_only_when_the_corpus_shows_the_swapped_roles), so it is rare.
    assert all(counts[t] >= 3 for t in gen.types if t != "object_swap"), counts


# --- edge cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("caption", EDGE_CAPTIONS)
def test_edge_cases_keep_invariants(gen, caption):
    negs = gen.generate_one(caption)
    assert len(negs) == len(gen.types)
    for neg in negs:
        if neg is not None:
            assert broken_invariants(caption, neg) == [], neg
            assert neg.text.strip() and neg.text != caption


def test_empty_and_nounless_captions_have_no_invented_negatives(gen):
    assert gen.generate_one("") == [None] * len(gen.types)
    assert gen.generate_one("   ") == [None] * len(gen.types)
    got = by_type(gen, "Very nice.")
    for t in ("relation", "attribute_swap", "object", "verb", "object_swap", "order_shuffle"):
        assert got[t] is None, t
    got = by_type(gen, "Dog")
    assert got["relation"] is None and got["attribute_swap"] is None and got["verb"] is None
    assert got["object_swap"] is None and got["order_shuffle"] is None


def test_no_adjective_no_attribute(gen):
    got = by_type(gen, "A man riding a horse")
    assert got["attribute"] is None and got["attribute_swap"] is None
    assert got["verb"] is not None and got["object"] is not None


def test_relations_change_position_within_contrast_groups(gen):
    lex = load_lexicon()
    assert by_type(gen, "A cat to the left of a dog")["relation"].text == (
        "A cat to the right of a dog"
    )
    for caption, original in [
        ("a cat on a table", "on"),
        ("A dog in front of a car", "in front of"),
        ("A dog next to a bench", "next to"),
        ("A cat standing on a table", "on"),
    ]:
        for seed in range(6):
            neg = NegativeGenerator(types=("relation",), seed=seed).generate_one(caption)[0]
            assert neg is not None and neg.original == original, (caption, seed)
            src = lex.relations[tuple(original.split())]
            dst = lex.relations[tuple(neg.replacement.lower().split())]
            # A real change of position: "in a chair" never becomes "on/at a chair".
            assert dst.group in src.contrast, (caption, neg)
    # "left" as a verb is no relation.
    assert by_type(gen, "The umbrella is left open.")["relation"] is None
    # After a determiner the words name a thing, not a relation.
    assert by_type(gen, "A person sprays the inside of a toilet.")["relation"] is None


def test_relation_keeps_sentence_initial_case(gen):
    # (An apple on a table is not put beside it: a dog lying on a sofa may be.)
    neg = by_type(gen, "On the sofa lies a small dog.")["relation"]
    assert neg.text[0].isupper() and neg.text.endswith(" the sofa lies a small dog.")
    assert neg.original == "On" and neg.replacement[0].isupper()


def test_verb_form_is_kept(gen):
    lex = load_lexicon()
    for caption, tag in [
        ("A man riding a horse", "VBG"),
        ("A man rides a horse.", "VBZ"),
        ("The dog sits on the sofa.", "VBZ"),
        ("A woman is eating a pizza.", "VBG"),
        ("Two people ride horses.", "VBP"),
    ]:
        neg = by_type(gen, caption)["verb"]
        assert neg is not None, caption
        forms = [k for v, k in lex.verbs[neg.replacement.lower()]]
        assert TAG_TO_FORM[tag] in forms, (caption, neg)
        assert_same_kind(neg)


def test_articles_follow_the_new_word():
    # Over many seeds, "An elephant" gets replaced by a consonant-initial animal at least once.
    caption = "An elephant standing in the grass."
    changed = 0
    for seed in range(12):
        g = NegativeGenerator(types=("object",), seed=seed)
        neg = g.generate_one(caption)[0]
        assert broken_invariants(caption, neg) == []
        if neg.original == "An elephant":
            art, word = neg.replacement.split(" ", 1)
            assert art == match_case("An", article_for(word))
            changed += art == "A"
    assert changed


def test_plural_nouns_and_numbers_agree(gen):
    lex = load_lexicon()
    got = by_type(gen, "Two dogs playing in the grass")
    assert lex.nouns[tuple(got["object"].replacement.lower().split())].plural
    number = got["attribute"].replacement
    assert number[0].isupper() and lex.numbers[number.lower()] >= 2 and number != "Two"
    # "A few dogs are": the article goes with "few", the noun stays plural.
    neg = by_type(gen, "A few dogs are on the roof of a house.")["object"]
    assert neg is not None and lex.nouns[tuple(neg.replacement.lower().split())].plural, neg


def test_attribute_swap_trades_words_of_one_kind(gen):
    assert by_type(gen, "a man in a blue shirt and red tie")["attribute_swap"].text == (
        "a man in a red shirt and blue tie"
    )
    neg = by_type(gen, "a black cat next to an orange dog")["attribute_swap"]
    assert neg.text == "an orange cat next to a black dog"
    # Across kinds the result reads oddly ("an empty bus on a yellow road"): no swap.
    assert by_type(gen, "a yellow bus on an empty road")["attribute_swap"] is None


def test_object_swap_only_when_the_corpus_shows_the_swapped_roles():
    caption = "A dog chasing a cat."
    # The bundled COCO statistics never say a cat chases a dog: no swap.
    assert NegativeGenerator(types=("object_swap",)).generate_one(caption)[0] is None
    both_ways = ["A dog chasing a cat.", "A cat chasing a dog."] * 2
    stats, _ = compute_stats(both_ways)
    neg = NegativeGenerator(types=("object_swap",), stats=stats).generate_one(caption)[0]
    assert neg.text == "A cat chasing a dog."
    one_way, _ = compute_stats(["A dog chasing a cat.", "A man chasing a dog."] * 2)
    assert NegativeGenerator(types=("object_swap",), stats=one_way).generate_one(caption)[0] is None


def test_order_shuffle_permutes_words(gen):
    caption = "A large dog sleeps on a small red sofa near the window."
    neg = by_type(gen, caption)["order_shuffle"]
    assert neg.text != caption
    strip = lambda s: sorted(w for w in s.lower().strip(".").split() if w not in ("a", "an"))  # noqa: E731
    assert strip(neg.text) == strip(caption)


def test_synonyms_are_never_replacements():
    banned = {"man": {"guy", "gentleman", "male"}, "bike": {"bicycle"}, "couch": {"sofa"}}
    for seed in range(15):
        g = NegativeGenerator(types=("object",), seed=seed)
        for caption in ("A man sitting on a couch with a bike.", "A man riding a bike"):
            neg = g.generate_one(caption)[0]
            src = _strip_article(neg.original)
            assert _strip_article(neg.replacement) not in banned.get(src, set()), neg


def test_punctuation_casing_and_non_ascii_survive(gen):
    caption = "A café with a red awning next to a naïve dog."
    for neg in gen.generate_one(caption):
        if neg is not None:
            assert neg.text.endswith(".") and neg.text.count(",") == caption.count(",")
            if neg.start > caption.index("café") + 4:
                assert neg.text.startswith("A café with")
    caption = "A red dog, standing on a white bench!"
    neg = by_type(gen, caption)["relation"]
    assert neg.text.startswith("A red dog, standing ") and neg.text.endswith(" a white bench!")
    assert neg.original == "on" and neg.replacement != "on"


# --- determinism and parallelism -------------------------------------------------------------


def test_output_independent_of_batching_and_order(gen):
    captions = [c["caption"] for c in CASES[:20]]
    small = NegativeGenerator(types=ALL_NEGATIVE_TYPES, seed=0, batch_size=1)
    a = list(gen.generate(captions))
    assert list(small.generate(captions)) == a
    assert list(gen.generate(captions[::-1]))[::-1] == a
    assert gen.generate_one(captions[3]) == a[3]


def test_seed_changes_choices_and_types_only_select_slots(gen):
    captions = [c["caption"] for c in CASES]
    other = NegativeGenerator(types=ALL_NEGATIVE_TYPES, seed=1)
    assert list(other.generate(captions)) != list(gen.generate(captions))
    core = NegativeGenerator(types=("verb", "relation"), seed=0)
    assert core.types == ("relation", "verb")
    full = list(gen.generate(captions[:10]))
    picked = [[n[0], n[4]] for n in full]
    assert list(core.generate(captions[:10])) == picked


def test_choices_are_seeded_by_the_shared_derive_seed(monkeypatch):
    from ahnpl.pipeline import caption_parse

    seen = []

    def recording(*parts):
        seen.append(parts)
        return derive_seed(*parts)

    monkeypatch.setattr(caption_parse, "derive_seed", recording)
    gen = NegativeGenerator(types=("relation",), seed=5)
    caption = "A cat sitting on a bench next to a table."
    assert gen.generate_one(caption)[0] is not None
    assert (5, "relation", caption) in seen
    # A caption may hold derive_seed's separator: it still gets a negative, deterministically.
    odd = "A cat sitting on a bench\x1f next to a table."
    assert gen.generate_one(odd) == gen.generate_one(odd)


@pytest.mark.slow
def test_independent_of_python_hash_seed(gen):
    captions = [c["caption"] for c in CASES[:8]]
    code = (
        "import json,sys\n"
        "from dataclasses import asdict\n"
        "from ahnpl.pipeline.negatives import NegativeGenerator\n"
        "g = NegativeGenerator(types=('relation','attribute','object','verb'))\n"
        "out = [[n and asdict(n) for n in negs] for negs in g.generate(json.loads(sys.argv[1]))]\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    res = subprocess.run(
        [sys.executable, "-c", code, json.dumps(captions)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    here = NegativeGenerator(types=("relation", "attribute", "object", "verb"))
    want = [[n and n.__dict__ for n in negs] for negs in here.generate(captions)]
    assert json.loads(res.stdout) == want


@pytest.mark.slow
def test_worker_processes_match_and_errors_reach_caller(gen):
    captions = [c["caption"] for c in CASES]
    par = NegativeGenerator(types=ALL_NEGATIVE_TYPES, seed=0, n_process=2, batch_size=4)
    assert list(par.generate(captions)) == list(gen.generate(captions))
    par.spacy_model = "no_such_spacy_model"  # the workers cannot load it
    with pytest.raises(BrokenProcessPool):
        list(par.generate(captions))


# --- API and errors --------------------------------------------------------------------------


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown negative type"):
        NegativeGenerator(types=("relation", "colour"))
    with pytest.raises(ValueError, match="n_process"):
        NegativeGenerator(n_process=0)
    with pytest.raises(RuntimeError, match="no_such_model"):
        load_spacy("no_such_model")


def test_non_string_caption_names_its_position(gen):
    with pytest.raises(TypeError, match="caption 2"):
        list(gen.generate(["a dog", "a cat", None]))


def test_defaults_and_model_info():
    g = NegativeGenerator()
    assert g.types == CORE_NEGATIVE_TYPES
    info = g.model_info()
    assert info["name"].startswith("en_core_web_sm") and info["version"]
    assert "ner" not in g.nlp.pipe_names and "parser" in g.nlp.pipe_names


# --- surface rules, lexicons, checks ---------------------------------------------------------


@pytest.mark.parametrize(
    "word,art",
    [
        ("apple", "an"),
        ("hour", "an"),
        ("honest", "an"),
        ("unicorn", "a"),
        ("umbrella", "an"),
        ("one", "a"),
        ("European", "a"),
        ("user", "a"),
        ("MRI", "an"),
        ("TV", "a"),
        ("8", "an"),
        ("11", "an"),
        ("2", "a"),
        ("HAIR", "a"),
        ("HAT", "a"),
        ("SUV", "an"),
        ("elephant", "an"),
    ],
)
def test_article_for(word, art):
    assert article_for(word) == art


def test_pluralize_and_match_case():
    irr = load_lexicon()  # irregulars come from objects.json
    assert irr.nouns[("men",)].plural and not irr.nouns[("man",)].plural
    table = {"man": "men", "knife": "knives"}
    assert pluralize("man", table) == "men"
    for sg, pl in [
        ("bus", "buses"),
        ("box", "boxes"),
        ("cherry", "cherries"),
        ("toy", "toys"),
        ("hot dog", "hot dogs"),
        ("giraffe", "giraffes"),
        ("knife", "knives"),
        ("bench", "benches"),
    ]:
        assert pluralize(sg, {}) == pl
    assert match_case("Dog", "cat") == "Cat"
    assert match_case("DOG", "cat") == "CAT"
    assert match_case("dog", "in front of") == "in front of"
    assert match_case("On", "in front of") == "In front of"


def test_lexicon_groups_are_disjoint():
    lex = load_lexicon()
    for word, attr in lex.attributes.items():
        assert word not in attr.replacements
        for r in attr.replacements:
            assert lex.attributes[r].kind == attr.kind
    for words in lex.noun_group_words.values():
        for w in words:
            assert lex.nouns[tuple(w.split())].group in {
                lex.nouns[tuple(x.split())].group for x in words
            }
    for rel in lex.relations.values():
        for r in rel.replacements:
            assert lex.relations[tuple(r.split())].group != rel.group


def test_checks_catch_broken_negatives():
    def neg(caption, start, end, repl, type_="object"):
        return caption, Negative(
            type_, caption[:start] + repl + caption[end:], caption[start:end], repl, start, end
        )

    cases = {
        "a_an": neg("a dog on a table", 2, 5, "apple"),
        "number_agreement": neg("two dogs on a table", 4, 8, "dog"),
        "verb_form": neg("a dog is sitting", 9, 16, "sit", "verb"),
        "synonym": neg("a man on a horse", 2, 5, "guy"),
        "identical": neg("a dog", 2, 5, "dog"),
        "punctuation": neg("a dog, a cat", 2, 6, "cat"),
    }
    for reason, (caption, bad) in cases.items():
        assert reason in broken_invariants(caption, bad), reason
    caption, good = neg("a dog on a table", 2, 5, "cat")
    assert broken_invariants(caption, good) == []


# --- context: idioms, particles, compounds, pronouns, existence, siblings --------------------


def _all_seeds(caption: str, types, seeds=range(8), siblings=()):
    for seed in seeds:
        g = NegativeGenerator(types=types, seed=seed)
        yield from (n for n in g.generate_one(caption, list(siblings)) if n is not None)


def test_idioms_stay_whole():
    caption = "A black and white photo of a man sitting on a bench."
    for neg in _all_seeds(caption, ("attribute", "attribute_swap", "object", "relation")):
        # Whole or all of it: a black and white photo may become a colour one (round att5).
        assert neg.text.startswith(("A black and white photo of ", "A color photo of ")), neg


def test_particles_of_phrasal_verbs_are_no_relations():
    for caption in ("A man picking up a frisbee from the grass.", "A chef shows off his cake."):
        for neg in _all_seeds(caption, ("relation",)):
            assert neg.original.lower() not in ("up", "off"), neg
    assert (
        by_type(NegativeGenerator(types=("relation",)), "A man shows off his cake.")["relation"]
        is None
    )


def test_compounds_stay_whole():
    cases = {
        "A white polar bear swimming in the water.": "polar bear",
        "A red double decker bus driving down a street.": "double decker",
        "A man eating a hot dog at a table.": "hot dog",
        "A small teddy bear sitting on a bed.": "teddy bear",
    }
    types = ("attribute", "attribute_swap", "object", "verb", "relation")
    for caption, compound in cases.items():
        i = caption.index(compound)
        for neg in _all_seeds(caption, types):
            inside = neg.start < i + len(compound) and neg.end > i
            # Either the edit leaves the compound alone or it replaces it whole.
            assert not inside or (neg.start <= i and neg.end >= i + len(compound)), neg
    # attribute_swap never moves the first word of a compound.
    caption = "A plate with a hot dog and baked beans."
    assert NegativeGenerator(types=("attribute_swap",)).generate_one(caption)[0] is None


def test_pronouns_keep_agreeing():
    lex = load_lexicon()
    for caption in ("A man holding a hot dog in his right hand.", "A girl brushing her hair."):
        male = " his " in caption
        for neg in _all_seeds(caption, ("object",), range(12)):
            word = _strip_article(neg.replacement)
            assert word not in (lex.female if male else lex.male), neg


def test_with_is_existence_never_a_relation():
    caption = "A parking meter with some graffiti on it."
    for neg in _all_seeds(caption, ("relation",)):
        assert neg.original.lower() != "with", neg
    g = NegativeGenerator(types=("existence",))
    assert g.generate_one(caption)[0].text == "A parking meter without graffiti on it."
    assert g.generate_one("A man with a hat.")[0].text == "A man without a hat."
    # A counted object, or "with" naming an instrument, is left alone.
    assert g.generate_one("A cake with two candles.")[0] is None
    assert g.generate_one("A bowl filled with oranges.")[0] is None


def test_sibling_captions_exclude_their_words():
    """A replacement another caption of the same image states is true of the image: never
    used. Adding each chosen replacement as a sibling forces a new one each time."""
    caption = "A dog lying on a couch."
    siblings: list[str] = []
    seen = set()
    g = NegativeGenerator(types=("object",))
    for _ in range(4):
        neg = g.generate_one(caption, siblings)[0]
        if neg is None:
            break
        word = _strip_article(neg.replacement)
        assert word not in seen, (word, siblings)
        seen.add(word)
        siblings.append(caption.replace(neg.original, neg.replacement))
    assert len(seen) >= 2
    # The siblings change only what they rule out: without them the first choice comes back.
    assert g.generate_one(caption)[0].replacement == g.generate_one(caption, [])[0].replacement


def test_groups_are_deterministic_and_batch_independent():
    groups = [[c["caption"] for c in CASES[k : k + 5]] for k in range(0, 30, 5)]
    a = list(NegativeGenerator(types=ALL_NEGATIVE_TYPES).generate_groups(groups))
    b = list(NegativeGenerator(types=ALL_NEGATIVE_TYPES, batch_size=2).generate_groups(groups))
    assert a == b
    assert (
        list(NegativeGenerator(types=ALL_NEGATIVE_TYPES).generate_groups(groups[::-1])) == (a[::-1])
    )
    for rows in a:
        for row in rows:
            for neg in row:
                if neg is not None:
                    assert isinstance(neg.score, float) and neg.score <= 0.0


def test_statistics_decide_the_choice():
    """Statistics that only ever saw cats on couches make the object rule pick a cat."""
    caption = "A dog lying on a couch."
    stats, _ = compute_stats(["A cat lying on a couch."] * 5 + ["A dog in a park."])
    g = NegativeGenerator(types=("object",), stats=stats)
    assert g.generate_one(caption)[0].text == "A cat lying on a couch."


# --- user lexicons ---------------------------------------------------------------------------


def test_user_lexicon_adds_object_classes_and_colours(tmp_path):
    path = tmp_path / "shapes.yaml"
    path.write_text(
        "objects:\n  shape: [[cube, block], [sphere, ball], [cylinder]]\ncolours: [[teal]]\n"
    )
    lex = load_lexicon([path])
    assert lex.nouns[("cube",)].supercategory == "shape" and "teal" in lex.attributes
    g = NegativeGenerator(types=("object", "attribute"), lexicons=(str(path),))
    attr, obj = g.generate_one("a red cube next to a green cylinder")
    assert _strip_article(obj.replacement) in {"cube", "sphere", "cylinder", "cubes", "spheres"}
    assert _strip_article(obj.replacement) != _strip_article(obj.original)
    assert attr.replacement in lex.attributes


@pytest.mark.parametrize(
    "text,where",
    [
        ("colours: [teal]\n", "colours[0]"),
        ("objects:\n  shape: [[Cube]]\n", "objects.shape[0]"),
        ("objects:\n  shape: [[]]\n", "objects.shape[0]"),
        ("colors: [[teal], 3]\n", "colors[1]"),
        (
            "relations:\n  inside: {phrases: [within], say: within, contrast: [nowhere]}\n",
            "relations.inside",
        ),
        ("nouns: [[cube]]\n", "unknown key"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_bad_user_lexicon_names_file_and_entry(tmp_path, text, where):
    from ahnpl.pipeline.lexicon import LexiconError

    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(LexiconError) as err:
        load_lexicon([path])
    assert str(path) in str(err.value) and where in str(err.value)
    with pytest.raises(LexiconError, match="no such file"):
        load_lexicon([tmp_path / "missing.yaml"])


def test_verb_of_a_vehicle_at_rest_is_a_vehicle_motion():
    gen = NegativeGenerator(types=("verb",))
    neg = gen.generate_one("A bus sits on the street.")[0]
    # Not "stands" or "parks": those say what "sits" says of a vehicle (a motorcycle moves
    # only with a rider: tests/test_rules_verb.py).
    assert neg is not None and neg.replacement in ("drives", "moves", "travels"), neg


def test_verb_is_never_lean_or_seat_and_never_replaced_with_a_pronoun_object():
    gen = NegativeGenerator(types=("verb",))
    captions = [c["caption"] for c in CASES] + ["A woman is about to serve it."]
    negs = [n[0] for n in gen.generate(captions)]
    assert negs[-1] is None
    assert not {n.replacement.lower() for n in negs if n} & {"leaning", "seating", "leans"}


def test_attribute_swap_across_kinds_only_where_the_corpus_states_both_pairs():
    gen = NegativeGenerator(types=("attribute_swap",))
    neg = gen.generate_one("A brown desk with a wooden chair in a classroom.")[0]
    assert neg is not None and neg.text == "A wooden desk with a brown chair in a classroom."
    # A colour joined to another ("grey and white") does not trade with a size.
    assert gen.generate_one("Grey and white cat sitting in a small sink.")[0] is None
    # A size says nothing of a group: "a long group of people" is no negative.
    assert gen.generate_one("A long canoe paddled along by a large group of people.")[0] is None


def test_verb_keeps_the_preposition_frame_grammatical():
    gen = NegativeGenerator(types=("verb",))
    # "at a station" only places the scene: any posture verb takes it.
    neg = gen.generate_one("Two women in winter clothes sitting at a train station")[0]
    assert neg is not None and neg.replacement == "standing"
    # "through" is governed by the verb: "stopping through", "parking through" are not said.
    assert gen.generate_one("A long train traveling through a train yard.")[0] is None
    # An object the corpus knows well takes only verbs seen with it: no "drinking a ball".
    assert gen.generate_one("A woman tennis player serving a tennis ball.")[0] is None


def test_relation_refuses_what_the_corpus_does_not_support():
    gen = NegativeGenerator(types=("relation",))
    # A verb the corpus never saw with relations governs its preposition ("chewing on").
    neg = gen.generate_one("Puppy chewing on toilet paper in the bathroom.")[0]
    assert neg is None or neg.original != "on", neg
    # Up and down must fit the class of the thing: people do not lie under a bed they lie on.
    neg = gen.generate_one("A man lays on a bed wearing a suit.")[0]
    assert neg is None or neg.replacement != "under", neg
    # A modifier of the phrase would be left dangling ("very in a window").
    assert gen.generate_one("A bed is very close to a window with dark curtains.")[0] is None


def test_object_must_fit_the_contexts_the_corpus_knows():
    gen = NegativeGenerator(types=("object",))
    for seed in range(6):
        gen.seed = seed
        neg = gen.generate_one("a person getting ready to fly a kite on the beach")[0]
        # People fly kites; nothing else of the kind "sports" is flown in the corpus.
        assert neg is None or neg.original != "kite", neg
        neg = gen.generate_one("A large white sheep next to a small black one")[0]
        # The determiner before the adjectives decides the number: "A large white horse".
        assert neg is not None and neg.text.split()[3] in (
            "horse",
            "bird",
            "bear",
            "dog",
            "cow",
            "cat",
            "elephant",
            "zebra",
            "giraffe",
        ), neg


def over_seeds(type_: str, caption: str, seeds: int = 4, siblings=()) -> list:
    """The `type_` negative of `caption` (or None) under seeds 0 … seeds-1."""
    gen = NegativeGenerator(types=(type_,))
    out = []
    for seed in range(seeds):
        gen.seed = seed
        out.append(gen.generate_one(caption, list(siblings))[0])
    return out


def test_object_must_fit_the_rest_of_the_scene():
    # A baseball player swings a bat: the rest of the caption rules out a tennis racket.
    for caption in (
        "A baseball player swings a bat at the ball.",
        "A hitter that just swung his bat in a baseball game.",
    ):
        for neg in over_seeds("object", caption):
            assert neg is None or "tennis" not in neg.replacement, neg


def test_object_keeps_the_medium_of_vehicles_and_boards():
    """A boat stays on the water, a train on its rails, a skateboard on the street, a cat
    among pets: a noun of a setting is only replaced by one of the same setting
    (objects.json `settings`)."""
    lex = load_lexicon()

    def setting(phrase: str) -> str | None:
        words = _strip_article(phrase).split()
        noun = next(
            lex.nouns[tuple(words[k:])] for k in range(len(words)) if tuple(words[k:]) in lex.nouns
        )
        return lex.settings.get(lex.group_heads[noun.group])

    # Animals by where they live: a cat never becomes a bear, a bird never a cat.
    for bird in over_seeds("object", "A small bird is perched on a twig in the trees."):
        assert bird is None or bird.replacement in ("duck", "ducks"), bird
    for cat in over_seeds("object", "A cat crouched over sitting by a brick wall."):
        assert cat is None or cat.replacement.lower() in ("dog", "a dog"), cat
    captions = [
        "A small boat floating on a lake.",
        "A train at a rest in a small train station",
        "A man riding a skateboard down the street.",
        "A commercial plane on the strip to take off.",
    ]
    negs = [n for c in captions for n in over_seeds("object", c)]
    moved = [n for n in negs if n is not None and setting(n.original) is not None]
    assert moved and all(setting(n.replacement) == setting(n.original) for n in moved), moved


@pytest.mark.parametrize(
    "caption,never",
    [
        # An animal does not toss, point or cut; the subject of "to catch" is the dog.
        ("A dog jumps in the air to catch a frisbee.", {"toss", "throw", "grab", "hold"}),
        ("Dog looking in a window at a cat next to plants.", {"pointing", "waving"}),
        ("Three zebras eat hay in a field.", {"cut", "cook", "prepare", "slice", "drink"}),
        # A state is no purpose: "getting ready to hold a racket" says nothing.
        ("A tennis player getting ready to swing a racket.", {"hold", "carry"}),
        # Swimming and flying need their medium; driving needs a road.
        ("People walking on the sidewalk.", {"swimming", "flying", "crossing"}),
        ("An airplane parked on the tarmac.", {"driving"}),
        # Other board sports need another surface: no skiing on a wave.
        ("A man surfing on a wave.", {"skiing", "skateboarding", "snowboarding", "skating"}),
        # "looks clean" is a copula: "points clean" is no sentence.
        ("A kitchen looks very clean.", {"points", "smiles", "talks"}),
        # "remove" says little, and nobody wears fruit.
        ("A man is wearing a costume and speaking to children.", {"removing"}),
        ("A man is holding fruit between his fingers.", {"wearing"}),
    ],
)
def test_verb_fits_its_subject_object_and_scene(caption, never):
    for neg in over_seeds("verb", caption):
        assert neg is None or neg.replacement.lower() not in never, neg


def test_passive_of_a_verb_of_rest_becomes_an_activity():
    gen = NegativeGenerator(types=("verb",))
    neg = gen.generate_one("A car is parked on the street.")[0]
    assert neg is not None and neg.replacement in ("driving", "traveling", "moving"), neg
    # With an agent it is an action done to the subject: left alone.
    assert gen.generate_one("A dog is walked by a man on a leash.")[0] is None


def test_relation_places_only_what_can_be_there():
    # "in" says a thing is contained: never a replacement ("a fire hydrant in a car").
    for caption in (
        "A white fire hydrant on the sidewalk by a car.",
        "Several white birds standing near a puddle in a parking lot.",
        "A baby is standing next to several boxes of apples.",
    ):
        for neg in over_seeds("relation", caption):
            assert neg is None or neg.replacement.lower() != "in", neg
    # What is in a room is not in front of it.
    for neg in over_seeds("relation", "A young boy sitting on a bed in a bedroom."):
        assert neg is None or not neg.text.endswith(" a bedroom.") or " in a bedroom" in neg.text
    # Cats sit under benches, people do not: the class of what is located decides, also
    # through a relative pronoun ("a woman that is sitting").
    for caption in (
        "Two people sitting on a bench looking out over the ocean",
        "A woman that is sitting outside on a bench in the snow.",
    ):
        for neg in over_seeds("relation", caption):
            assert neg is None or neg.replacement != "under", neg
    # "outside in the grass": the place that follows says which side it is.
    assert over_seeds("relation", "A pack of dogs are playing outside in the grass.") == [None] * 4


def test_attribute_swap_backs_off_to_what_a_noun_takes():
    """Across kinds a swap needs the corpus to state both new pairs, or each noun to take
    words of the other's kind (a vase takes materials, a table colours)."""
    caption = "A white vase on a wooden table."
    base = ["A red table.", "A blue table.", "A black table.", caption]
    stats, _ = compute_stats(base + ["A glass vase.", "A ceramic vase.", "A metal vase."])
    neg = NegativeGenerator(types=("attribute_swap",), stats=stats).generate_one(caption)[0]
    assert neg is not None and neg.text == "A wooden vase on a white table.", neg
    # A vase never said to be of any material takes none: no swap; the white moves to the
    # table instead, which takes colours, where another caption gives it another colour
    # (tests/test_rules_attribute.py).
    stats, _ = compute_stats(base + ["A tall vase.", "A small vase.", "A big vase."])
    gen = NegativeGenerator(types=("attribute_swap",), stats=stats)
    neg = gen.generate_one(caption, ["A vase on a black table."])[0]
    assert neg is not None and neg.text == "A vase on a white wooden table.", neg
    # A size of a noun outside the object lexicon, where the corpus says it of both.
    caption = "A tall building next to a short tree."
    seen = ["A short building."] * 2 + ["A tall tree."] * 2 + [caption]
    stats, _ = compute_stats(seen)
    neg = NegativeGenerator(types=("attribute_swap",), stats=stats).generate_one(caption)[0]
    assert neg is not None and neg.text == "A short building next to a tall tree.", neg
    stats, _ = compute_stats([caption])
    assert NegativeGenerator(types=("attribute_swap",), stats=stats).generate_one(caption) == [None]


def test_scene_check_leaves_people_alone():
    """The scene vetoes things, not who does what: captions show more men than women on
    skateboards, and a woman on one is no implausible scene. (A girl no longer becomes a
    woman: round obj6.)"""
    caption = "A man riding a skateboard up the side of a ramp."
    siblings = ["A man riding a skateboard on a ramp.", "A guy skateboarding at a park."]
    negs = over_seeds("object", caption, 3, siblings)
    assert all(neg is not None and neg.original == "man" for neg in negs), negs
    assert any(neg.replacement == "woman" for neg in negs), negs


def test_relation_to_a_surface_or_a_ridden_thing_stays_sensible():
    # One is on a street or a wave, not in front of or under it.
    for caption in (
        "A large red and white bus on a city street.",
        "A man riding a surfboard on a wave.",
        "A train that is on a train track",
    ):
        for neg in over_seeds("relation", caption):
            assert neg is None or neg.replacement not in ("in front of", "under", "behind"), neg
    # A train on its tracks, a boat on the water: "next to" them is no scene; nor is "next
    # to a motorbike" where the rest of the caption says he rides it.
    for caption in (
        "A red and black train is traveling on the tracks.",
        "A boat that is sitting on the water.",
        "A man on a motorbike rides down the street.",
    ):
        for neg in over_seeds("relation", caption):
            assert neg is None or neg.original != "on", neg
    # Cows on a field may stand next to it: only vehicles and boards keep to their surface.
    assert over_seeds("relation", "Two cows standing on a field.", 1)[0].text == (
        "Two cows standing next to a field."
    )


def test_what_is_on_a_screen_or_in_the_wild_is_not_placed():
    for caption in (
        "Two giraffes eat from a tree in the wild.",
        "Two men and a woman on the television screen.",
    ):
        assert over_seeds("relation", caption) == [None] * 4


def test_a_rare_vehicle_backs_off_to_the_vehicles_of_its_setting():
    """ "Helicopter" is too rare in the statistics for its absence from "fly in the sky" to
    tell: it takes its setting's counts (a plane flies there), but not under a name that fits
    the old noun only. (A tram is a kind of train since round neg12: no negative of it.)"""
    for caption, new in (("The plane is flying high in the sky.", "helicopter"),):
        negs = over_seeds("object", caption)
        assert all(n is not None and n.replacement == new for n in negs), negs
    for neg in over_seeds("object", "An American Airlines plane is in the sky"):
        assert neg is None or neg.replacement != "helicopter", neg
    # Animals do not share their uses: riding a horse never becomes riding a goat.
    for neg in over_seeds("object", "Two equestrians riding their horses on the beach."):
        assert neg is None or neg.replacement not in ("goats", "cows", "sheep"), neg


def test_a_room_changes_only_where_the_new_room_holds_what_the_caption_names():
    """Rooms are objects ("in a kitchen" → "in a bathroom"), and a room is what it holds:
    every thing of the caption must have been seen in the new room."""
    negs = over_seeds("object", "A very large and very posh living room.")
    rooms = {"kitchen", "bathroom", "bedroom", "office", "living room"}
    assert all(n is not None and n.replacement in rooms for n in negs), negs
    for caption in (
        "A grand piano in a formal residential living room",
        "A bathroom with a tub, a toilet and a shower.",
    ):
        for neg in over_seeds("object", caption):
            # A piano is seen in no bathroom or kitchen, a toilet and a tub in no other room.
            assert neg is None or neg.replacement not in rooms, neg


def test_making_a_food_becomes_another_thing_done_to_it():
    """ "Make" is a source of the 'cooking' group: making a food becomes eating, cutting,
    serving or slicing it (never preparing it, which says the same); making anything else
    ("a phone call", "a catch") has no replacement."""
    for caption in ("A man is in a kitchen making pizzas.", "A man making a sandwich."):
        negs = over_seeds("verb", caption)
        assert all(n is not None for n in negs), negs
        assert {n.replacement for n in negs} <= {"eating", "cutting", "serving", "slicing"}, negs
    assert over_seeds("verb", "A woman making a phone call on the street.") == [None] * 4


def test_digits_int_cannot_read_are_no_count(gen):
    """A superscript or other digit character that `int()` cannot read ("² apples", "in ²
    rows") is no count: every type runs, rather than raising ValueError on the caption."""
    groups = [["A man holding ² apples on a table.", "Two men holding apples.", "A man in ² rows"]]
    rows = [row for rows in gen.generate_groups(groups) for row in rows]
    assert len(rows) == 3
