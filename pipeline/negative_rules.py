"""Rules that turn one parsed caption into one hard negative per type (DESIGN §4).

Each rule reads a `Parse` (see `ahnpl.pipeline.caption_parse`) and returns a list of token
edits `(first_token, end_token, new_text)`, or None when the caption lacks what the type
needs. Replacements are drawn with the caller's `Choices` (a RNG seeded per caption, type and
seed), so the output depends on those three only.
"""

from __future__ import annotations

from ahnpl.pipeline.caption_parse import Choices, Edit, Parse, match_phrase, moved_word
from ahnpl.pipeline.lexicon import TAG_TO_FORM, Lexicon
from ahnpl.pipeline.surface import match_case

NOUN_TAGS = frozenset({"NN", "NNS"})
_OBJECT_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS", "PRP"})
_COLOUR_DEPS = frozenset({"amod", "compound", "acomp", "attr", "conj", "oprd", "nmod", "pobj"})
_PREDICATE_DEPS = frozenset({"amod", "acomp", "conj", "attr", "oprd"})
_NUMBER_WORDS_BY_VALUE: dict[int, str] = {}
_COUNTS = frozenset(
    "two three four five six seven eight nine ten eleven twelve several many these those".split()
)


def relation(p: Parse, lex: Lexicon, rng: Choices) -> list[Edit] | None:
    strong: list[tuple[int, int, list[str]]] = []
    weak: list[tuple[int, int, list[str]]] = []
    n, i = len(p), 0
    while i < n:
        low = p.lows[i]
        if (
            low in lex.sides
            and not p.tags[i].startswith("VB")
            and (
                (i > 0 and p.lows[i - 1] in lex.side_before)
                or (i + 1 < n and p.lows[i + 1] in lex.side_after)
            )
        ):
            strong.append((i, i + 1, ["right" if low == "left" else "left"]))
            i += 1
            continue
        m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
        if m is None:
            i += 1
            continue
        length, rel = m
        last = i + length - 1
        # A lone preposition must be one ("up" as a particle, "by" as the passive agent are not);
        # after a determiner the words are a noun phrase ("the inside of a toilet").
        ok = length > 1 or (p.tags[i] == "IN" and p.deps[i] == "prep")
        ok = ok and not (i > 0 and p.tags[i - 1] in ("DT", "PRP$"))
        obj = p.child(last, ("pobj",)) if ok else None
        if (
            obj is not None
            and p.tags[obj] in _OBJECT_TAGS
            and p.lows[obj] not in lex.relation_object_stoplist
        ):
            repl = [r for r in rel.replacements if not p.has(r)]
            if repl:
                (weak if rel.weak else strong).append((i, i + length, repl))
        i += length
    pool = strong or weak
    if not pool:
        return None
    s, e, repl = rng.choice(pool)
    return [(s, e, match_case(p.words[s], rng.choice(repl)))]


def _modifiers(p: Parse, lex: Lexicon) -> list[tuple[int, int]]:
    """(adjective, noun) pairs: an attributive adjective before the noun it modifies."""
    out = []
    for i, (low, tag, dep) in enumerate(zip(p.lows, p.tags, p.deps)):
        h = p.heads[i]
        # Only known descriptive adjectives: "remote" in "remote control" is no attribute.
        if h <= i or p.tags[h] not in NOUN_TAGS or low not in lex.swappable:
            continue
        attr = lex.attributes.get(low)
        if (dep == "amod" and tag in ("JJ", "VBN")) or (
            attr is not None and attr.kind == "colour" and dep in ("amod", "compound")
        ):
            out.append((i, h))
    return out


def attribute_swap(p: Parse, lex: Lexicon, rng: Choices) -> list[Edit] | None:
    mods = _modifiers(p, lex)
    present = {(p.lows[a], p.lows[h]) for a, h in mods}
    same_kind, other = [], []
    for x, (a, ha) in enumerate(mods):
        for b, hb in mods[x + 1 :]:
            la, lb = p.lows[a], p.lows[b]
            if ha == hb or la == lb or p.lows[ha] == p.lows[hb]:
                continue
            at, bt = lex.attributes.get(la), lex.attributes.get(lb)
            if at is not None and bt is not None and at.group == bt.group:
                continue  # synonyms: swapping "big" and "large" changes nothing
            if {(lb, p.lows[ha]), (la, p.lows[hb])} <= present:
                continue
            kind = at is not None and bt is not None and at.kind == bt.kind
            (same_kind if kind else other).append((a, b))
    pool = same_kind or other
    if not pool:
        return None
    a, b = rng.choice(pool)
    return [(a, a + 1, moved_word(p, b, a)), (b, b + 1, moved_word(p, a, b))]


def _number_word(value: int, template: str, lex: Lexicon) -> str:
    if template.isdigit():
        return str(value)
    if not _NUMBER_WORDS_BY_VALUE:
        _NUMBER_WORDS_BY_VALUE.update({v: w for w, v in lex.numbers.items()})
    return match_case(template, _NUMBER_WORDS_BY_VALUE[value])


def attribute(p: Parse, lex: Lexicon, rng: Choices) -> list[Edit] | None:
    cands: list[tuple[int, list[str]]] = []
    for i, (low, tag, dep) in enumerate(zip(p.lows, p.tags, p.deps)):
        attr = lex.attributes.get(low)
        if attr is not None:
            if attr.kind == "colour":
                # "orange" is also a fruit: as a noun it is an object, not a colour.
                ok = tag == "JJ" or (
                    dep in _COLOUR_DEPS and ((low,) not in lex.nouns or dep in ("amod", "compound"))
                )
            elif attr.kind in ("material", "shape"):
                ok = (tag == "JJ" and dep in _PREDICATE_DEPS) or dep in ("amod", "compound")
            else:
                ok = (tag == "JJ" or (attr.kind == "state" and tag == "VBN")) and (
                    dep in _PREDICATE_DEPS
                )
            repl = [r for r in attr.replacements if not p.has(r)] if ok else []
            if repl:
                cands.append((i, [match_case(p.words[i], r) for r in repl]))
            continue
        value = lex.numbers.get(low) or (int(low) if low.isdigit() and len(low) < 3 else 0)
        h = p.heads[i]
        if value >= 2 and dep == "nummod" and p.tags[h] == "NNS":
            repl = [
                _number_word(v, p.words[i], lex)
                for v in lex.number_choices
                if v != value and not p.has(_number_word(v, "x", lex))
            ]
            if repl:
                cands.append((i, repl))
    if not cands:
        return None
    i, repl = rng.choice(cands)
    return [(i, i + 1, rng.choice(repl))]


def _is_plural(p: Parse, i: int, lex: Lexicon) -> bool:
    """Number of the noun at token i by its form: the lexicon when it knows the word (tags of
    all-caps captions are unreliable), else the tag."""
    low = p.lows[i]
    noun = lex.nouns.get((low,))
    if noun is not None and low not in lex.invariant_nouns:
        return noun.plural
    return p.tags[i] == "NNS"


def _plural(p: Parse, s: int, last: int, default: bool) -> bool:
    """Grammatical number of the noun phrase p[s:last+1] as the rest of the caption reads it.

    The determiner wins over the noun's form when they disagree ("A women is", "Six giraffe
    are"), so the replacement agrees with the untouched words; a possessive keeps its form.
    """
    if last + 1 < len(p) and p.lows[last + 1] in ("'s", "'"):
        return default
    before = p.lows[s - 1] if s > 0 else ""
    if before in ("a", "an", "one", "each", "every", "this", "that"):
        return False
    if before in _COUNTS or (before.isdigit() and int(before) >= 2):
        return True
    return default


def _nouns_in(p: Parse, lex: Lexicon):
    """(start, end, Noun, plural) for each lexicon noun that heads its phrase."""
    i, n = 0, len(p)
    while i < n:
        m = match_phrase(p.lows, i, lex.nouns, lex.max_noun_len, lex.noun_starts)
        if m is None:
            i += 1
            continue
        length, noun = m
        last = i + length - 1
        if p.tags[last] in NOUN_TAGS and p.deps[last] != "compound":
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
            default = form if form is not None else p.tags[last] == "NNS"
            yield s, last + 1, noun, _plural(p, s, last, default)
        i += length


def object_(p: Parse, lex: Lexicon, rng: Choices) -> list[Edit] | None:
    cands = []
    found = list(_nouns_in(p, lex))
    # Groups already in the caption are no replacement: "a dog and a cat" ↛ "a cat and a cat".
    present = {noun.group for _, _, noun, _ in found} | {
        lex.nouns[(w,)].group for w in p.lows if (w,) in lex.nouns
    }
    for s, e, noun, plural in found:
        choices = [
            (pl if plural else sg)
            for gid, sg, pl, _ in lex.noun_choices[noun.supercategory]
            if gid not in present
        ]
        if choices:
            cands.append((s, e, choices))
    if not cands:
        return None
    s, e, choices = rng.choice(cands)
    return [(s, e, match_case(p.words[s], rng.choice(choices)))]


def verb(p: Parse, lex: Lexicon, rng: Choices) -> list[Edit] | None:
    cands = []
    present = set(p.lows)
    for i, (low, tag, dep) in enumerate(zip(p.lows, p.tags, p.deps)):
        entries = lex.verbs.get(low)
        if not entries or tag not in TAG_TO_FORM or dep in ("amod", "aux", "auxpass", "compound"):
            continue
        if _after_be(p, i) and TAG_TO_FORM[tag] == 0:
            continue  # "is hold": the caption's own error; a replacement would keep it
        if p.child(i, ("prt",)) is not None:
            continue  # phrasal verbs change meaning with the verb: "stand out", "lay out"
        k = TAG_TO_FORM[tag]
        match = [v for v, form in entries if form == k]
        if len(match) != 1:
            continue
        v = match[0]
        obj = p.child(i, ("dobj",))
        transitive = obj is not None or p.child(i, ("auxpass", "nsubjpass")) is not None
        obj_kind = _supercategory(p, obj, lex)
        # Only a subject known to be alive sleeps or kneels: not "an oven", not "flowers".
        lifeless = not _animate(p, _subject_of(p, i), lex)
        repl: dict[str, None] = {}
        for g in lex.verb_membership[v.forms[0]]:
            g_transitive, objects, members = lex.verb_groups[g]
            if g_transitive != transitive or (objects and obj_kind not in objects):
                continue
            for other in members:
                base = other.forms[0]
                if (
                    base not in v.synonyms
                    and not present & set(other.forms)
                    and not (lifeless and base in lex.animate_only)
                ):
                    repl[other.forms[k]] = None
        if repl:
            cands.append((i, list(repl)))
    if not cands:
        return None
    i, repl = rng.choice(cands)
    return [(i, i + 1, match_case(p.words[i], rng.choice(repl)))]


_BE = frozenset({"is", "are", "was", "were", "am", "be", "been", "being", "'s", "'re"})


def _after_be(p: Parse, i: int) -> bool:
    return i > 0 and p.lows[i - 1] in _BE


def _supercategory(p: Parse, i: int | None, lex: Lexicon) -> str | None:
    """Supercategory of the lexicon noun ending at token i ("surf board" → sports), if any."""
    if i is None:
        return None
    for n in range(min(lex.max_noun_len, i + 1), 0, -1):
        noun = lex.nouns.get(tuple(p.lows[i - n + 1 : i + 1]))
        if noun is not None:
            return noun.supercategory
    return None


def _animate(p: Parse, i: int | None, lex: Lexicon) -> bool:
    if i is None:
        return False
    if p.lows[i] in lex.collectives:  # "a group of giraffes" → "giraffes"
        of = p.child(i, ("prep",))
        inner = p.child(of, ("pobj",)) if of is not None and p.lows[of] == "of" else None
        if inner is not None:
            i = inner
    return p.lows[i] in lex.animate_extra or _supercategory(p, i, lex) in ("person", "animal")


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


def _subject_of(p: Parse, v: int) -> int | None:
    if p.tags[v] in NOUN_TAGS:
        return v
    if p.tags[v].startswith("VB"):
        subj = p.child(v, ("nsubj", "nsubjpass"))
        if subj is not None:
            return subj
        if p.deps[v] in ("acl", "relcl") and p.tags[p.heads[v]] in NOUN_TAGS:
            return p.heads[v]
    return None


def object_swap(p: Parse, lex: Lexicon, rng: Choices) -> list[Edit] | None:
    pairs = []
    n = len(p)
    for i in range(n):
        anchor, obj = None, None
        if p.tags[i].startswith("VB"):
            obj, anchor = p.child(i, ("dobj",)), i
        else:
            m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
            if m is not None and (m[0] > 1 or p.deps[i] == "prep"):
                obj, anchor = p.child(i + m[0] - 1, ("pobj",)), p.heads[i]
        if obj is None or anchor is None:
            continue
        subj = _subject_of(p, anchor)
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
        number = _is_plural(p, subj, lex)
        if (
            number != _is_plural(p, obj, lex)
            or _plural(p, a[0], subj, number) != number
            or _plural(p, b[0], obj, number) != number
            # Determiners stay in place: "A plate with broccoli" ↛ "A broccoli with plate".
            or _has_det(p, subj) != _has_det(p, obj)
            or _is_mass(p, a, lex)
            or _is_mass(p, b, lex)
        ):
            continue
        pairs.append((a, b))
    if not pairs:
        return None
    a, b = rng.choice(pairs)

    def text(src: tuple[int, int], dst: tuple[int, int]) -> str:
        head = moved_word(p, src[0], dst[0])
        return head + p.text[p.ends[src[0]] : p.ends[src[1] - 1]]

    return [(a[0], a[1], text(b, a)), (b[0], b[1], text(a, b))]


def order_shuffle(p: Parse, lex: Lexicon, rng: Choices) -> list[Edit] | None:
    """ARO-style word-order negative: nouns and adjectives trade places within their class
    (singular nouns, plural nouns, adjectives), so number agreement still holds."""
    edits = []
    classes: dict[str, list[int]] = {"NN": [], "NNS": [], "JJ": []}
    for i, t in enumerate(p.tags):
        # Quantity nouns ("a couple glasses", "a group of") are determiners, not objects.
        low = p.lows[i]
        if not low.isalpha() or t not in ("NN", "NNS", "JJ") or low in lex.collectives:
            continue
        if low == "one" or low in lex.numbers:  # "a baby one": a pronoun, not a noun
            continue
        if t == "JJ":
            classes["JJ"].append(i)
            continue
        plural = _is_plural(p, i, lex)
        # A plural noun modifier reads as a plural head elsewhere ("a clothes washer"); a
        # number its determiner contradicts ("A people", "one points") is not trusted.
        if (plural and p.deps[i] == "compound") or _plural(p, i, i, plural) != plural:
            continue
        classes["NNS" if plural else "NN"].append(i)
    for pos in classes.values():
        if len({p.lows[i] for i in pos}) < 2:
            continue
        k = rng.randrange(1, len(pos))
        for dst, src in zip(pos, pos[k:] + pos[:k]):
            if p.lows[dst] != p.lows[src]:
                edits.append((dst, dst + 1, moved_word(p, src, dst)))
    return edits or None


RULES = {
    "relation": relation,
    "attribute_swap": attribute_swap,
    "attribute": attribute,
    "object": object_,
    "verb": verb,
    "object_swap": object_swap,
    "order_shuffle": order_shuffle,
}
