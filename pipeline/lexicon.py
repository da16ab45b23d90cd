"""Packaged replacement vocabularies for text hard negatives (DESIGN §4).

The data lives in `ahnpl/pipeline/lexicons/*.json`; this module turns it into lookup tables
keyed by lowercase surface forms. Every table keeps the synonym structure: a word is never
offered as a replacement of a word of its own group ("man" is never replaced by "guy").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ahnpl.pipeline.surface import pluralize

VERB_FORMS = ("base", "3sg", "ing", "past", "pp")
# Penn tag → index into a verb's forms.
TAG_TO_FORM = {"VB": 0, "VBP": 0, "VBZ": 1, "VBG": 2, "VBD": 3, "VBN": 4}


def _load(name: str) -> dict:
    path = resources.files("ahnpl.pipeline.lexicons") / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RuntimeError(
            f"lexicon {path}: cannot be read ({e}); reinstall ahnpl (`pip install -e .`)"
        ) from e


@dataclass(frozen=True)
class Attribute:
    kind: str  # colour | material | shape | size | state
    group: int  # synonym group id (unique across kinds)
    replacements: tuple[str, ...]  # words of the same kind, outside the group


@dataclass(frozen=True)
class Noun:
    supercategory: str
    group: int
    plural: bool
    mass: bool
    length: int  # tokens in the phrase ("hot dog" → 2)


@dataclass(frozen=True)
class Relation:
    group: str
    weak: bool  # "with", "in", "by": used only when no stronger relation is present
    replacements: tuple[str, ...]


@dataclass(frozen=True)
class Verb:
    forms: tuple[str, ...]  # base, 3sg, ing, past, pp
    synonyms: frozenset[str]  # base forms that must not replace it (itself included)


@dataclass(frozen=True)
class Lexicon:
    attributes: dict[str, Attribute]
    swappable: frozenset[str]  # adjectives attribute_swap may exchange (all kinds + swap_only)
    numbers: dict[str, int]
    number_choices: tuple[int, ...]
    nouns: dict[tuple[str, ...], Noun]
    noun_choices: dict[
        str, tuple[tuple[int, str, str, bool], ...]
    ]  # supercat → (group, sg, pl, mass)
    noun_group_words: dict[int, frozenset[str]]  # all forms of a group, for "already present"
    max_noun_len: int
    noun_starts: frozenset[str]  # first words of the noun phrases, for a fast pre-check
    invariant_nouns: frozenset[str]  # same form in singular and plural ("sheep")
    relations: dict[tuple[str, ...], Relation]
    max_relation_len: int
    relation_starts: frozenset[str]
    sides: frozenset[str]
    side_before: frozenset[str]
    side_after: frozenset[str]
    relation_object_stoplist: frozenset[str]
    verbs: dict[str, tuple[tuple[Verb, int], ...]]  # form → (verb, form index) pairs
    # name → (transitive, supercategories the object must have (empty: any), verbs)
    verb_groups: dict[str, tuple[bool, frozenset[str], tuple[Verb, ...]]]
    animate_only: frozenset[str]  # base forms needing a living subject
    animate_extra: frozenset[str]  # subject nouns outside the groups that are living
    collectives: frozenset[str]  # "group" in "a group of people"
    verb_membership: dict[str, tuple[str, ...]]  # base → group names


def _attributes(data: dict) -> tuple[dict[str, Attribute], frozenset[str]]:
    table: dict[str, Attribute] = {}
    gid = 0
    for kind in ("colour", "material", "shape"):
        groups = data[kind]
        for i, group in enumerate(groups):
            others = tuple(g[0] for j, g in enumerate(groups) if j != i)
            for w in group:
                table.setdefault(w, Attribute(kind, gid, others))
            gid += 1
    for kind in ("size", "state"):
        for low, high in data[kind]:
            for pole, opposite in ((low, high), (high, low)):
                for w in pole:
                    table.setdefault(w, Attribute(kind, gid, tuple(opposite)))
                gid += 1
    return table, frozenset(data["swap_only"]) | frozenset(table)


def _nouns(data: dict):
    irregular = data["irregular_plurals"]
    mass_cats = set(data["mass"])
    plural_only = set(data["plural_only"])
    nouns: dict[tuple[str, ...], Noun] = {}
    choices: dict[str, list] = {}
    group_words: dict[int, frozenset[str]] = {}
    invariant = {w for w, pl in irregular.items() if w == pl}
    gid = 0
    for supercat, groups in data["groups"].items():
        mass = supercat in mass_cats
        for group in groups:
            forms = set()
            for w in group:
                pl = w if mass or w in plural_only else pluralize(w, irregular)
                for form, is_plural in ((w, w in plural_only), (pl, True)):
                    key = tuple(form.split())
                    forms.add(form)
                    # The singular reading wins for invariant nouns ("sheep"); the tag decides.
                    nouns.setdefault(key, Noun(supercat, gid, is_plural, mass, len(key)))
            head = group[0]
            if head not in plural_only:
                pl = head if mass else pluralize(head, irregular)
                choices.setdefault(supercat, []).append((gid, head, pl, mass))
            group_words[gid] = frozenset(forms)
            gid += 1
    return (
        nouns,
        {k: tuple(v) for k, v in choices.items()},
        group_words,
        max(len(k) for k in nouns),
        frozenset(invariant),
    )


def _relations(data: dict) -> tuple[dict[tuple[str, ...], Relation], int]:
    groups = data["groups"]
    weak = set(data["weak"])
    table: dict[tuple[str, ...], Relation] = {}
    for name, g in groups.items():
        unknown = [o for o in g["opposite"] if o not in groups]
        if unknown:
            raise RuntimeError(f"lexicon relations.json: group {name!r} names unknown {unknown}")
        repl = tuple(groups[o]["say"] for o in g["opposite"])
        for phrase in g["phrases"]:
            table[tuple(phrase.split())] = Relation(name, name in weak, repl)
    return table, max(len(k) for k in table)


def _verbs(data: dict):
    syn_sets: dict[str, set[str]] = {}
    for group in data["synonyms"]:
        for w in group:
            syn_sets.setdefault(w, set()).update(group)
    verbs: dict[str, Verb] = {}
    groups: dict[str, tuple[bool, tuple[Verb, ...]]] = {}
    membership: dict[str, list[str]] = {}
    for name, g in data["groups"].items():
        members = []
        for spec in g["verbs"]:
            forms = tuple(spec.split("|"))
            if len(forms) != 5:
                raise RuntimeError(f"lexicon verbs.json: {spec!r} needs 5 forms separated by '|'")
            base = forms[0]
            if base not in verbs:
                verbs[base] = Verb(forms, frozenset(syn_sets.get(base, set()) | {base}))
            members.append(verbs[base])
            membership.setdefault(base, []).append(name)
        groups[name] = (bool(g["transitive"]), frozenset(g.get("objects", ())), tuple(members))
    by_form: dict[str, list[tuple[Verb, int]]] = {}
    for v in verbs.values():
        for k, form in enumerate(v.forms):
            if (v, k) not in by_form.setdefault(form, []):
                by_form[form].append((v, k))
    return (
        {k: tuple(v) for k, v in by_form.items()},
        groups,
        {k: tuple(v) for k, v in membership.items()},
        frozenset(data.get("animate_only", ())),
    )


def _extra_objects(objects: dict, files: tuple[str, ...]) -> dict:
    """`objects.json` with the object groups of user lexicon files added.

    A user lexicon file is JSON `{"objects": {"groups": {SUPERCATEGORY: [[word, synonym...],
    ...]}}}`; its groups join the packaged ones (a new supercategory, or more groups in one).
    """
    groups = {k: list(v) for k, v in objects["groups"].items()}
    for name in files:
        try:
            data = json.loads(Path(name).read_text(encoding="utf-8"))
            extra = data["objects"]["groups"]
            if not all(
                isinstance(g, list) and g and all(isinstance(w, str) and w for w in g)
                for gs in extra.values()
                for g in gs
            ):
                raise ValueError("every group must be a non-empty list of words")
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise RuntimeError(
                f"lexicon {name}: cannot be used ({e!s}); expected "
                '{"objects": {"groups": {"SUPERCATEGORY": [["word", "synonym"], ...]}}}'
            ) from None
        for supercat, gs in extra.items():
            groups.setdefault(supercat, []).extend(gs)
    return {**objects, "groups": groups}


@lru_cache(maxsize=4)
def load_lexicon(extra: tuple[str, ...] = ()) -> Lexicon:
    """Load and index the packaged lexicons plus user lexicon files `extra` (cached).

    Raises:
        RuntimeError: a lexicon file is missing or malformed (names the file).
    """
    attrs, stop = _attributes(_load("attributes.json"))
    nums = _load("numbers.json")
    lo, hi = nums["replacement_range"]
    objects = _extra_objects(_load("objects.json"), tuple(extra))
    nouns, noun_choices, group_words, max_noun, invariant = _nouns(objects)
    rel = _load("relations.json")
    relations, max_rel = _relations(rel)
    verbs, verb_groups, membership, animate_only = _verbs(_load("verbs.json"))
    return Lexicon(
        attributes=attrs,
        swappable=stop,
        numbers=dict(nums["words"]),
        number_choices=tuple(range(lo, hi + 1)),
        nouns=nouns,
        noun_choices=noun_choices,
        noun_group_words=group_words,
        max_noun_len=max_noun,
        noun_starts=frozenset(k[0] for k in nouns),
        invariant_nouns=invariant,
        relations=relations,
        max_relation_len=max_rel,
        relation_starts=frozenset(k[0] for k in relations),
        sides=frozenset(rel["sides"]),
        side_before=frozenset(rel["side_context_before"]),
        side_after=frozenset(rel["side_context_after"]),
        relation_object_stoplist=frozenset(rel["object_stoplist"]),
        verbs=verbs,
        verb_groups=verb_groups,
        verb_membership=membership,
        animate_only=animate_only,
        animate_extra=frozenset(objects["animate_extra"]),
        collectives=frozenset(objects["collectives"]),
    )
