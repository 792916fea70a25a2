"""Coarse part-of-speech tags (a Universal-Dependencies-like set) for the discourse text features.

Chinese: jieba's ICTCLAS-style tags (already computed by :func:`app.core.voice._text_segment.segment`)
mapped to the coarse set, with modal verbs as AUX, demonstratives as DET and subordinating
conjunctions as SCONJ.

English: a light rule tagger written here, because the maintained taggers are heavy (spaCy models,
~15-50 MB plus a compiled runtime) or need a data download at run time (NLTK's perceptron
pickle), and the features only need coarse class rates, not parses. It tags closed classes from
word lists (pronouns, determiners, prepositions, conjunctions, auxiliaries, particles,
interjections, numbers), open classes from suffixes (-ly adverbs, -ous/-ful/-ive/... adjectives,
-ed/-ing verbs), a list of common irregular verbs and adjectives, and context (after "to" or a
modal: verb; capitalised mid-sentence: proper noun); everything else is a noun. It is a
rough tagger: rates are comparable between answers of one speaker, which is how the scores use
them (against the baseline), not with a treebank.
"""

from __future__ import annotations

from collections.abc import Sequence

TAGS = ("NOUN", "PROPN", "VERB", "AUX", "ADJ", "ADV", "PRON", "DET", "ADP", "CCONJ", "SCONJ", "NUM", "PART",
        "INTJ", "CLF", "X")

_ZH_AUX = frozenset("能 能够 会 可以 可能 要 应该 应当 必须 得 想 愿意 敢 肯 需要".split())
_ZH_DET = frozenset("这 那 这个 那个 这些 那些 这种 那种 每 各 某 该 本".split())
_ZH_SCONJ = frozenset("因为 如果 虽然 即使 只要 除非 尽管 假如 要是 既然 由于 只有 无论 不管 哪怕 就算".split())
_ZH_MAP = {"n": "NOUN", "ng": "NOUN", "vn": "NOUN", "an": "NOUN", "t": "NOUN", "tg": "NOUN", "s": "NOUN",
           "f": "NOUN", "nr": "PROPN", "nrfg": "PROPN", "nrt": "PROPN", "ns": "PROPN", "nt": "PROPN",
           "nz": "PROPN", "v": "VERB", "vd": "VERB", "vg": "VERB", "vi": "VERB", "vq": "VERB", "a": "ADJ",
           "ag": "ADJ", "b": "ADJ", "z": "ADJ", "d": "ADV", "ad": "ADV", "dg": "ADV", "df": "ADV", "r": "PRON",
           "rr": "PRON", "rz": "PRON", "ry": "PRON", "rg": "PRON", "p": "ADP", "c": "CCONJ", "u": "PART",
           "uj": "PART", "ul": "PART", "uz": "PART", "ug": "PART", "uv": "PART", "ud": "PART", "y": "PART",
           "e": "INTJ", "o": "INTJ", "m": "NUM", "mq": "NUM", "q": "CLF"}

_W = str.split
_EN_PRON = frozenset(_W("i me my mine myself you your yours yourself yourselves he him his himself she her hers "
                        "herself it its itself we us our ours ourselves they them their theirs themselves someone "
                        "somebody something anyone anybody anything everyone everybody everything nobody nothing "
                        "one who whom whose what which i'm i've i'll i'd you're you've you'll you'd he's she's it's "
                        "we're we've we'll we'd they're they've they'll they'd that's there's"))
_EN_DET = frozenset(_W("a an the this that these those some any every each no another either neither all both such"))
_EN_ADP = frozenset(_W("in on at by for with about against between into through during before after above below "
                       "from up down of off over under near since until upon within without across behind beyond "
                       "toward towards around among like than per via"))
_EN_CCONJ = frozenset(_W("and but or nor yet plus"))
_EN_SCONJ = frozenset(_W("because although though if unless whereas whether while when once"))
_EN_AUX = frozenset(_W("be am is are was were been being have has had having do does did will would shall should "
                       "can could may might must 'll cannot don't doesn't didn't won't can't couldn't shouldn't "
                       "wouldn't isn't aren't wasn't weren't haven't hasn't hadn't mustn't mightn't shan't"))
_EN_MODAL = frozenset(_W("will would shall should can could may might must cannot won't can't couldn't shouldn't "
                         "wouldn't mustn't"))
_EN_PART = frozenset(_W("not n't to"))
_EN_INTJ = frozenset(_W("um uh er erm oh ah yeah yes okay ok hmm wow hey yep nope mm"))
_EN_NUM = frozenset(_W("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                       "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
                       "ninety hundred thousand million billion half dozen"))
_EN_ADV = frozenset(_W("very really so too quite just also only even still already always never often sometimes "
                       "usually here there now then maybe perhaps probably actually almost again ever soon later "
                       "together twice rather pretty well anyway instead not_ever however therefore"))
_EN_ADJ = frozenset(_W("good bad new old big small high low long short great little own other same different sure "
                       "able happy sad late early last next first second third certain clear whole free full hard "
                       "easy young real right wrong true false fine stable extra few many much more most less "
                       "best better worse worst main nice ill cold strong weak poor rich busy"))
_EN_VERB = frozenset(_W("go goes went gone going get gets got gotten make makes made say says said see sees saw seen "
                        "come comes came know knows knew known take takes took taken think thinks thought give gives "
                        "gave given find finds found tell tells told become became leave left feel felt bring "
                        "brought begin began keep kept hold held write wrote written stand stood hear heard let "
                        "mean means meant meet met run ran pay pays paid sit sat speak spoke lose lost fall fell "
                        "send sent build built understand understood break broke spend spent buy bought sell sold "
                        "owe owes want wants need needs like likes try tries ask asks use uses work works call calls "
                        "live lives move moves happen happens believe remember forget forgot help helps put sign "
                        "borrow lend lent repay check open opens close show shows told talk talks run bring swear "
                        "guess depends depend serve serves recover signed"))
_EN_ADJ_SUFFIX = ("ous", "ful", "ive", "able", "ible", "less", "ish", "ical", "ary", "ent", "ant")
_EN_LY_NOUN = frozenset(_W("family reply supply apply fly july italy rely ally bully belly jelly rally"))
_EN_LY_ADJ = frozenset(_W("daily monthly weekly yearly likely friendly lonely lovely ugly silly holy"))


def zh_tag(word: str, flag: str) -> str:
    """Coarse tag of one jieba token."""
    if word in _ZH_SCONJ:
        return "SCONJ"
    if word in _ZH_DET:
        return "DET"
    if word in _ZH_AUX and flag.startswith("v"):
        return "AUX"
    return _ZH_MAP.get(flag, _ZH_MAP.get(flag[:1], "X"))


def _en_open(w: str) -> str:
    if w in _EN_VERB:
        return "VERB"
    if w in _EN_ADJ or w in _EN_LY_ADJ:
        return "ADJ"
    if len(w) > 4 and w.endswith("ly") and w not in _EN_LY_NOUN:
        return "ADV"
    if len(w) > 5 and w.endswith(_EN_ADJ_SUFFIX):
        return "ADJ"
    if len(w) > 4 and (w.endswith("ed") or w.endswith("ing")):
        return "VERB"
    return "NOUN"


def en_tags(words: Sequence[str], capitalised: Sequence[bool], sentence_start: Sequence[bool]) -> list[str]:
    """Coarse tags of English word tokens (lower-cased ``words``; ``capitalised``: the token starts
    upper-case in the transcript; ``sentence_start``: it opens a sentence)."""
    tags: list[str] = []
    for i, w in enumerate(words):
        prev = tags[-1] if tags else ""
        prev_w = words[i - 1] if i else ""
        if capitalised[i] and not sentence_start[i] and w != "i" and not w.startswith("i'"):
            tag = "PROPN"
        elif w[:1].isdigit() or w in _EN_NUM:
            tag = "NUM"
        elif w in _EN_PRON:
            tag = "PRON"
        elif w in _EN_AUX:
            tag = "AUX"
        elif w == "to":
            nxt = words[i + 1] if i + 1 < len(words) else ""
            tag = "ADP" if nxt in _EN_DET or nxt in _EN_PRON or nxt[:1].isdigit() else "PART"
        elif w in _EN_PART or w.endswith("n't"):
            tag = "PART"
        elif w in _EN_DET:
            tag = "DET"
        elif w in _EN_CCONJ:
            tag = "CCONJ"
        elif w in _EN_SCONJ:
            tag = "SCONJ"
        elif w in _EN_ADP:
            tag = "ADP"
        elif w in _EN_INTJ and (sentence_start[i] or prev in ("INTJ", "")):
            tag = "INTJ"
        elif w in _EN_ADV:
            tag = "ADV"
        elif prev == "PART" and prev_w == "to" or prev_w in _EN_MODAL:
            tag = "VERB" if _en_open(w) in ("NOUN", "VERB") else _en_open(w)
        elif prev == "PRON" and _en_open(w) == "NOUN" and prev_w in ("i", "we", "they", "you", "he", "she"):
            tag = "VERB"
        else:
            tag = _en_open(w)
        tags.append(tag)
    return tags
