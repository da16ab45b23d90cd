"""Replacement vocabularies for text hard negatives (DESIGN §4): packaged, plus user files.

The data lives in `ahnpl/pipeline/lexicons/*.json`; this module turns it into lookup tables
keyed by lowercase surface forms. Every table keeps the synonym structure: a word is never
offered as a replacement of a word of its own group ("man" is never replaced by "guy").

User lexicons (`negatives.lexicons` in a recipe, or `load_lexicon(paths)`) extend the packaged
ones for other domains. A user lexicon is a JSON or YAML mapping with any of these keys; each
list entry is a synonym group (a list of lowercase words or phrases, the first the one used as
a replacement):

    objects:   {SUPERCATEGORY: [[cube, block], [sphere, ball]]}   # new or existing supercategory
    colours:   [[teal], [maroon]]         materials: [[bamboo]]     shapes: [[hexagonal]]
    relations: {GROUP: {phrases: [inside of], say: inside, contrast: [GROUPS], opposite: [GROUPS]}}
    compounds: [fire pit]                 idioms: [on the go]
    undescribed: [frame]   grounds: [turf]    bare_places: [camp]   # attribute_swap's moves

A bad entry raises `LexiconError` naming the file and the entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from ahnpl.pipeline.surface import pluralize

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


class LexiconError(ValueError):
    """A user lexicon file or entry is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Attribute:
    kind: str  # colour | material | shape | size | state | age | sex
    group: int  # synonym group id (unique across kinds)
    replacements: tuple[str, ...]  # words of the same kind, outside the group


@dataclass(frozen=True)
class Noun:
    supercategory: str
    group: int
    plural: bool
    mass: bool


@dataclass(frozen=True)
class Relation:
    group: str
    weak: bool  # "in", "by": used only when no stronger relation is present
    replacements: tuple[str, ...]  # the opposites' phrases (spatial antonyms)
    contrast: tuple[str, ...] = ()  # groups a replacement may come from (a real change)


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
    relation_say: dict[str, str]  # relation group → the phrase used as its replacement
    max_relation_len: int
    relation_starts: frozenset[str]
    sides: dict[str, str]  # a side word → its opposite ("left" → "right")
    side_adverbs: dict[str, str]  # the same for lone adverbs ("outside" → "inside")
    locative: frozenset[str]  # relation groups any action verb takes ("at a table")
    side_before: frozenset[str]
    side_after: frozenset[str]
    relation_object_stoplist: frozenset[str]
    surfaces: frozenset[str]  # objects one is on ("street"): relations to them stay near-ish
    surfaces_keep: frozenset[str]  # the relation groups a surface may take instead
    ridden: frozenset[str]  # base forms of riding verbs ("ride", "surf")
    vehicle_settings: frozenset[str]  # settings of vehicles and boards (not of animals)
    verbs: dict[str, tuple[tuple[Verb, int], ...]]  # form → (verb, form index) pairs
    # name → (transitive, supercategories the object must have (empty: any), verbs)
    # group → (transitive, object supercategories, verbs, subject supercategories); empty = any
    verb_groups: dict[str, tuple[bool, frozenset[str], tuple[Verb, ...], frozenset[str]]]
    animate_only: frozenset[str]  # base forms needing a living subject
    human_only: frozenset[str]  # base forms never given to an animal
    statives: frozenset[str]  # base forms of states ("hold"), never in a to-infinitive
    road_only: frozenset[str]  # base forms only for road vehicles ("drive")
    animate_extra: frozenset[str]  # subject nouns outside the groups that are living
    collectives: frozenset[str]  # "group" in "a group of people"
    verb_membership: dict[str, tuple[str, ...]]  # base → group names
    group_heads: dict[int, str]  # noun group id → its first (replacement) word
    noun_heads: frozenset[str]  # those words: the statistics keys of lexicon nouns
    settings: dict[str, str]  # noun group head → its medium ("boat" → water); see objects.json
    kind_words: dict[str, tuple[str, ...]]  # supercategory → its groups' heads (statistics keys)
    compounds: frozenset[tuple[str, ...]]  # word sequences kept whole ("polar bear")
    idioms: frozenset[tuple[str, ...]]  # fixed phrases no rule edits inside
    max_phrase_len: int
    phrase_starts: frozenset[str]
    male: frozenset[str]  # person nouns and pronouns by grammatical gender
    female: frozenset[str]
    existence_drop: frozenset[str]  # determiners dropped after "without"
    sources: tuple[str, ...] = ()  # user lexicon files merged in
    # (noun, kind of it) pairs of group heads, both ways round: neither replaces the other
    # ("a bird" → "a duck" may be true); objects.json "kinds"
    kinds: frozenset[tuple[str, str]] = frozenset()
    # attribute_swap's moves (attributes.json): nouns no modifier describes ("a large group"),
    # grounds that only a size moves onto ("the blue sky"), nouns of bare phrases ("in bed")
    undescribed: frozenset[str] = frozenset()
    grounds: frozenset[str] = frozenset()
    bare_places: frozenset[str] = frozenset()
    # noun (group head) → the nouns it is a kind of ("boy" → "child"): a sibling caption's
    # "boy" makes "a child" true, its "child" does not make "a boy" true
    kind_of: dict[str, frozenset[str]] = field(default_factory=dict)
    # noun (group head) → its use ("plate" → dishware); objects.json "uses": the object rule
    # replaces a noun of a use only by one of the same use
    uses: dict[str, str] = field(default_factory=dict)


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
    for kind in ("size", "state", "age", "sex"):
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
    heads: dict[int, str] = {}
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
                    nouns.setdefault(key, Noun(supercat, gid, is_plural, mass))
            head = group[0]
            if head not in plural_only:
                pl = head if mass else pluralize(head, irregular)
                choices.setdefault(supercat, []).append((gid, head, pl, mass))
            group_words[gid] = frozenset(forms)
            heads[gid] = head
            gid += 1
    return (
        nouns,
        {k: tuple(v) for k, v in choices.items()},
        group_words,
        max(len(k) for k in nouns),
        frozenset(invariant),
        heads,
    )


def _settings(data: dict, heads: frozenset[str], table: str = "settings") -> dict[str, str]:
    out: dict[str, str] = {}
    for setting, words in sorted(data.items()):
        for w in words:
            if w not in heads or w in out:
                raise ValueError(f"{table}.{setting}: {w!r} is no noun group head, or listed twice")
            out[w] = setting
    return out


def _kinds(data: dict, heads: frozenset[str]) -> frozenset[tuple[str, str]]:
    pairs = set()
    for noun, kinds in sorted(data.items()):
        for w in [noun, *kinds]:
            if w not in heads:
                raise ValueError(f"kinds.{noun}: {w!r} is no noun group head")
        pairs.update(p for k in kinds for p in ((noun, k), (k, noun)))
    return frozenset(pairs)


def _kind_of(data: dict) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for noun, kinds in sorted(data.items()):
        for k in kinds:
            out.setdefault(k, set()).add(noun)
    return {k: frozenset(v) for k, v in out.items()}


def _relations(data: dict) -> tuple[dict[tuple[str, ...], Relation], int]:
    groups = data["groups"]
    weak = set(data["weak"])
    table: dict[tuple[str, ...], Relation] = {}
    for name, g in groups.items():
        unknown = [o for o in g["opposite"] if o not in groups]
        if unknown:
            raise RuntimeError(f"lexicon relations.json: group {name!r} names unknown {unknown}")
        unknown = [o for o in g.get("contrast", ()) if o not in groups]
        if unknown:
            raise RuntimeError(f"lexicon relations.json: group {name!r} names unknown {unknown}")
        repl = tuple(groups[o]["say"] for o in g["opposite"])
        contrast = tuple(g.get("contrast", g["opposite"]))
        for phrase in g["phrases"]:
            table[tuple(phrase.split())] = Relation(name, name in weak, repl, contrast)
    return table, max(len(k) for k in table)


def _verbs(data: dict):
    syn_sets: dict[str, set[str]] = {}
    for group in data["synonyms"]:
        for w in group:
            syn_sets.setdefault(w, set()).update(group)
    # One way only: swinging a bat is holding it, so "swinging" ↛ "holding"; "holding" →
    # "swinging" stays.
    for first, *entailed in data.get("entails", ()):
        syn_sets.setdefault(first, set()).update(entailed)
    verbs: dict[str, Verb] = {}
    groups: dict[str, tuple] = {}
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
        for spec in g.get("sources", ()):
            forms = tuple(spec.split("|"))
            base = forms[0]
            if len(forms) == 5 and base not in verbs:
                verbs[base] = Verb(forms, frozenset(syn_sets.get(base, set()) | {base}))
            if base not in verbs:
                raise RuntimeError(f"lexicon verbs.json: source {spec!r} of {name} is no verb")
            membership.setdefault(base, []).append(name)
        groups[name] = (
            bool(g["transitive"]),
            frozenset(g.get("objects", ())),
            tuple(members),
            frozenset(g.get("subjects", ())),
        )
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
        frozenset(data.get("human_only", ())),
        frozenset(data.get("statives", ())),
        frozenset(data.get("road_only", ())),
    )


_USER_KEYS = {
    "objects": "objects",
    "colours": "colour",
    "colors": "colour",
    "materials": "material",
    "shapes": "shape",
    "relations": "relations",
    "compounds": "compounds",
    "idioms": "idioms",
    "undescribed": "undescribed",
    "grounds": "grounds",
    "bare_places": "bare_places",
}
_NOUN_LISTS = ("undescribed", "grounds", "bare_places")  # attributes.json lists of single nouns


def _words(path: str, where: str, value) -> list[str]:
    """A synonym group: a non-empty list of non-empty lowercase strings."""
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise LexiconError(
            f"lexicon {path}: entry {where} = {value!r}: expected a non-empty list of words"
        )
    for w in value:
        if not isinstance(w, str) or not w.strip() or w != w.strip().lower() or "  " in w:
            raise LexiconError(
                f"lexicon {path}: entry {where} has {w!r}: words are non-empty lowercase "
                "strings with single spaces"
            )
    return list(value)


def _read_user(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise LexiconError(f"lexicon {path}: no such file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))  # JSON is YAML too
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise LexiconError(f"lexicon {path}: cannot be read ({e})") from e
    if not isinstance(data, dict):
        raise LexiconError(f"lexicon {path}: expected a mapping with keys {sorted(_USER_KEYS)}")
    unknown = sorted(set(data) - set(_USER_KEYS))
    if unknown:
        raise LexiconError(f"lexicon {path}: unknown key(s) {unknown}; use {sorted(_USER_KEYS)}")
    return data


def _merge_user(path: str, data: dict, tables: dict) -> None:
    """Add one user lexicon's entries to the packaged JSON tables (in place), validated."""
    for key, value in data.items():
        target = _USER_KEYS[key]
        if target in _NOUN_LISTS:
            words = _words(path, key, value)
            if any(" " in w for w in words):
                raise LexiconError(f"lexicon {path}: entry {key} = {words!r}: single nouns only")
            tables["attributes"][target] += words
        elif target in ("colour", "material", "shape", "compounds", "idioms"):
            if not isinstance(value, list):
                raise LexiconError(f"lexicon {path}: entry {key} must be a list")
            for k, group in enumerate(value):
                if target in ("compounds", "idioms"):
                    tables["phrases"][target] += _words(path, f"{key}[{k}]", [group])
                else:
                    tables["attributes"][target].append(_words(path, f"{key}[{k}]", group))
        elif target == "objects":
            if not isinstance(value, dict):
                raise LexiconError(f"lexicon {path}: entry objects must map supercategories")
            for cat, groups in value.items():
                if not isinstance(groups, list):
                    raise LexiconError(f"lexicon {path}: entry objects.{cat} must be a list")
                dest = tables["objects"]["groups"].setdefault(str(cat), [])
                dest += [_words(path, f"objects.{cat}[{k}]", g) for k, g in enumerate(groups)]
        else:
            if not isinstance(value, dict):
                raise LexiconError(f"lexicon {path}: entry relations must map group names")
            groups = tables["relations"]["groups"]
            for name, g in value.items():
                where = f"relations.{name}"
                if not isinstance(g, dict) or not {"phrases", "say"} <= set(g):
                    raise LexiconError(f"lexicon {path}: entry {where} needs phrases and say")
                phrases = _words(path, f"{where}.phrases", g["phrases"])
                opposite = list(g.get("opposite", []))
                contrast = list(g.get("contrast", opposite))
                bad = [o for o in opposite + contrast if o not in groups and o not in value]
                if bad:
                    raise LexiconError(f"lexicon {path}: entry {where} names unknown {bad}")
                groups[name] = {
                    "phrases": phrases,
                    "say": g["say"],
                    "opposite": opposite,
                    "contrast": contrast,
                }


def _pairs(pairs: list) -> dict[str, str]:
    """[[a, b], …] → {a: b, b: a, …}: each word and its opposite."""
    return {a: b for x, y in pairs for a, b in ((x, y), (y, x))}


def _phrases(data: dict):
    def seqs(key):
        return frozenset(tuple(p.split()) for p in data[key])

    compounds, idioms = seqs("compounds"), seqs("idioms")
    every = compounds | idioms
    return compounds, idioms, max(len(k) for k in every), frozenset(k[0] for k in every)


def load_lexicon(paths: tuple[str, ...] | list[str] = ()) -> Lexicon:
    """Load and index the packaged lexicons, extended by user lexicon files (cached).

    Raises:
        LexiconError: a user file is missing, unreadable or has a bad entry (names both).
        RuntimeError: a packaged lexicon file is missing or malformed (names the file).
    """
    return _load_lexicon(tuple(str(p) for p in paths))


@lru_cache(maxsize=8)
def _load_lexicon(paths: tuple[str, ...]) -> Lexicon:
    names = ("attributes", "numbers", "objects", "relations", "verbs", "phrases")
    tables = {n: _load(f"{n}.json") for n in names}
    for path in paths:
        _merge_user(path, _read_user(path), tables)
    try:
        return _index(tables, paths)
    except (KeyError, TypeError, ValueError) as e:
        where = f"lexicons {list(paths)}" if paths else "packaged lexicons"
        raise LexiconError(f"{where}: {e!r}") from e


def _index(tables: dict, paths: tuple[str, ...]) -> Lexicon:
    attrs, stop = _attributes(tables["attributes"])
    nums = tables["numbers"]
    lo, hi = nums["replacement_range"]
    objects = tables["objects"]
    nouns, noun_choices, group_words, max_noun, invariant, heads = _nouns(objects)
    rel = tables["relations"]
    relations, max_rel = _relations(rel)
    verbs, verb_groups, membership, animate_only, *only = _verbs(tables["verbs"])
    phrases = tables["phrases"]
    compounds, idioms, max_phrase, phrase_starts = _phrases(phrases)
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
        relation_say={name: g["say"] for name, g in sorted(rel["groups"].items())},
        max_relation_len=max_rel,
        relation_starts=frozenset(k[0] for k in relations),
        sides=_pairs(rel["sides"]),
        side_adverbs=_pairs(rel.get("side_adverbs", [])),
        side_before=frozenset(rel["side_context_before"]),
        side_after=frozenset(rel["side_context_after"]),
        relation_object_stoplist=frozenset(rel["object_stoplist"]),
        surfaces=frozenset(rel.get("surfaces", ())),
        surfaces_keep=frozenset(rel.get("surfaces_keep", ())),
        ridden=frozenset(rel.get("ridden", ())),
        vehicle_settings=frozenset(rel.get("vehicle_settings", ())),
        locative=frozenset(rel.get("locative", ())),
        verbs=verbs,
        verb_groups=verb_groups,
        verb_membership=membership,
        animate_only=animate_only,
        human_only=only[0],
        statives=only[1],
        road_only=only[2],
        animate_extra=frozenset(objects["animate_extra"]),
        collectives=frozenset(objects["collectives"]),
        group_heads=heads,
        noun_heads=frozenset(heads.values()),
        settings=_settings(objects.get("settings", {}), frozenset(heads.values())),
        uses=_settings(objects.get("uses", {}), frozenset(heads.values()), "uses"),
        kinds=_kinds(objects.get("kinds", {}), frozenset(heads.values())),
        kind_of=_kind_of(objects.get("kinds", {})),
        kind_words={k: tuple(sg for _, sg, _, _ in v) for k, v in noun_choices.items()},
        compounds=compounds,
        idioms=idioms,
        max_phrase_len=max_phrase,
        phrase_starts=phrase_starts,
        male=frozenset(phrases["male"]),
        female=frozenset(phrases["female"]),
        existence_drop=frozenset(phrases["existence"]["drop_determiners"]),
        sources=paths,
        **{k: frozenset(tables["attributes"][k]) for k in _NOUN_LISTS},
    )
