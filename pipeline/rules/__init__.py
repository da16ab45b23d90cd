"""Rules that turn one parsed caption into one hard negative per type (DESIGN §4).

Each rule reads a `Parse` (see `ahnpl.pipeline.caption_parse`) and a `RuleContext` (the
lexicon, the corpus statistics, what the image's other captions say) and returns
`(edits, score)`: token edits `(first_token, end_token, new_text)` and the plausibility of the
replacement (`CorpusStats.score`, mean log-probability in its context), or None when the
caption lacks what the type needs. Among its candidates a rule keeps those the statistics find
plausible in context and that are false for the image (absent from the same role in every
sibling caption), and draws one with the caller's `Choices` (a RNG seeded per caption, type and
seed), weighted by plausibility, so the output depends on (caption, siblings, seed, statistics).
"""

from ahnpl.pipeline.rules.attribute import attribute, attribute_swap
from ahnpl.pipeline.rules.common import Result, Roles, RuleContext
from ahnpl.pipeline.rules.existence import existence, order_shuffle
from ahnpl.pipeline.rules.objects import object_, object_swap
from ahnpl.pipeline.rules.relation import relation
from ahnpl.pipeline.rules.verb import verb

RULES = {
    "relation": relation,
    "attribute_swap": attribute_swap,
    "attribute": attribute,
    "object": object_,
    "verb": verb,
    "object_swap": object_swap,
    "existence": existence,
    "order_shuffle": order_shuffle,
}

__all__ = ["RULES", "Result", "Roles", "RuleContext"]
