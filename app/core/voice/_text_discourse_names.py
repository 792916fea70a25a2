"""Names and documentation of the discourse text features (:mod:`app.core.voice._text_discourse`)."""

from __future__ import annotations

from app.core.voice._text_discourse import POS_EXPORTED, WORDS_FILE

Spec = tuple[str, str, str, str]
R100 = "rate_per_100_tokens"

_POS_DESC = {
    "NOUN": "common nouns (zh n, vn, t, s, f, an; en: the residual open class)",
    "PROPN": "proper nouns (zh nr, ns, nt, nz; en: capitalised mid-sentence)",
    "VERB": "main verbs", "AUX": "auxiliaries and modal verbs (zh 能 会 可以 要 应该 ...; en be, have, do, modals)",
    "ADJ": "adjectives", "ADV": "adverbs", "PRON": "pronouns", "DET": "determiners and demonstratives",
    "ADP": "prepositions (zh 介词 p)", "CCONJ": "coordinating conjunctions",
    "SCONJ": "subordinating conjunctions (because, if, although; 因为 如果 虽然)",
    "NUM": "numerals", "PART": "particles (zh 的 了 着 过 吧 ...; en not, to)",
}

_SYNTAX: list[Spec] = [
    ("pos_bigram_diversity", "syntax", "share", "distinct coarse-tag bigrams / tag bigrams (NaN under 4)"),
    ("adj_noun_rate", "specificity", R100, "adjective directly before a noun, per 100 word tokens (descriptive detail)"),
    ("numeral_classifier_rate", "specificity", R100,
     "quantified nouns: numeral + classifier (zh) or numeral + noun/adjective (en), per 100 word tokens"),
    ("exact_time_rate", "specificity", R100,
     "exact times and dates (3:30, 三点, 2023年, 5月3日, 星期一, March 5, Monday), per 100 word tokens"),
    ("mean_clause_len", "syntax", "length",
     "mean word tokens per clause (sentences cut at , ; : and before conjunctions; no dependency parse)"),
    ("max_clause_len", "syntax", "length", "word tokens in the longest clause"),
    ("clause_len_sd", "syntax", "length", "standard deviation of clause length (NaN under 2 clauses)"),
    ("self_agent_share", "agency", "share",
     "share of first-person pronouns followed within 3 words by a main verb (the speaker as the actor)"),
    ("sentence_initial_pronoun_share", "agency", "share", "share of sentences whose first word is a pronoun"),
    ("verb_onset_mean", "syntax", "length", "mean position (words) of a sentence's first main verb"),
    ("hedge_verb_share", "hedging", "share",
     "share of hedges followed within 3 words by a verb (hedged actions rather than hedged facts)"),
    ("negated_verb_share", "negation", "share", "share of negations followed within 2 words by a verb"),
    ("negation_scope_mean", "negation", "length", "mean words from a negation to the end of its clause"),
    ("detail_late_share", "placement", "share",
     "share of time, place and perception details in the second half of the answer (NaN without one)"),
    ("hedge_early_share", "placement", "share", "share of hedges in the first third of the answer (NaN without one)"),
    ("filler_initial_share", "fluency", "share", "share of fillers that open a clause"),
    ("perfective_rate", "tense_aspect", R100, "perfective aspect: verb + 了 (zh); past-tense verbs (en)"),
    ("experiential_rate", "tense_aspect", R100, "experiential aspect: verb + 过 (zh); perfect have + participle (en)"),
    ("progressive_rate", "tense_aspect", R100, "progressive: verb + 着, 正在/在 + verb (zh); be + -ing (en)"),
    ("passive_rate", "tense_aspect", R100, "passives: 被 (zh); be/get + participle (en)"),
    ("wh_question_share", "questions", "share", "share of sentences that are wh-questions (什么 怎么 谁; what why how)"),
    ("tag_question_share", "questions", "share", "share of sentences ending in a tag question (对吧, 是吧; , right? isn't it?)"),
    ("alternative_question_rate", "questions", R100, "A-not-A forms (是不是, 有没有) (zh); 'or not' (en), per 100 word tokens"),
    ("word_len_sd", "lexical", "length", "standard deviation of word length (characters)"),
    ("mattr10", "lexical", "share", "moving-average type-token ratio over 10-token windows (NaN under 10)"),
    ("mtld", "lexical", "length", "MTLD lexical diversity (McCarthy & Jarvis 2010, TTR threshold 0.72; NaN under 10)"),
    ("yule_k", "lexical", "index", "Yule's K, 10^4 (sum m^2 V_m - N) / N^2: vocabulary concentration"),
    ("sentence_overlap", "cohesion", "share",
     "mean Jaccard overlap of content words between adjacent sentences (referential cohesion)"),
    ("content_repeat_share", "cohesion", "share", "share of content-word tokens whose word occurs again"),
    ("first_sentence_share", "cohesion", "share", "first sentence's share of the words (NaN for one sentence)"),
]

_ZH: list[Spec] = [
    ("zh_classifier_rate", "zh_specific", R100, "classifiers / measure words (jieba q)"),
    ("zh_idiom_rate", "zh_specific", R100, "idioms, 成语 (jieba i)"),
    ("zh_fixed_expr_rate", "zh_specific", R100, "fixed expressions, 习用语 (jieba l)"),
    ("zh_verbal_noun_rate", "zh_specific", R100, "verbal nouns, 名动词 (jieba vn)"),
    ("zh_org_name_rate", "zh_specific", R100, "organisation names (jieba nt)"),
    ("zh_locative_rate", "zh_specific", R100, "locative words, 方位词 上 下 里 前 (jieba f)"),
    ("zh_structural_de_rate", "zh_specific", R100, "attributive 的"),
    ("zh_adverbial_de_rate", "zh_specific", R100, "adverbial 地"),
    ("zh_complement_de_rate", "zh_specific", R100, "complement 得 (jieba ud)"),
    ("zh_disposal_ba_rate", "zh_specific", R100, "disposal construction 把 (preposition)"),
    ("zh_shi_de_rate", "zh_specific", R100, "是…的 focus construction (circumstances of a past event)"),
    ("zh_reduplication_rate", "zh_specific", R100, "reduplicated words (看看, 试一试, 清清楚楚): softening, tentative"),
    ("zh_single_char_share", "zh_specific", "share", "share of one-character words"),
    ("zh_four_char_share", "zh_specific", "share", "share of four-character words (idiom-like, formal register)"),
    ("zh_logfreq_mean", "zh_specific", "log10", "mean log10(1 + frequency) of Han words in jieba's dictionary"),
    ("zh_rare_word_share", "zh_specific", "share", "share of Han words with jieba frequency under 100"),
]

_EN: list[Spec] = [
    ("en_nominalisation_rate", "en_specific", R100, "nominalisations (-tion, -ment, -ness, -ity, -ance, -ence)"),
    ("en_ly_adverb_rate", "en_specific", R100, "-ly adverbs (manner)"),
    ("en_do_support_rate", "en_specific", R100, "do/does/did before a verb (do-support, emphatic 'I did pay')"),
    ("en_existential_there_rate", "en_specific", R100, "existential 'there is / there are'"),
    ("en_informal_rate", "en_specific", R100, "informal forms (gonna, wanna, kinda, yeah, nope, ain't)"),
]


def _word_class_specs() -> list[Spec]:
    words: dict[str, dict[str, str]] = {}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            feat, lang, ws = line.split("\t")
            words.setdefault(feat, {})[lang] = ", ".join(ws.split("|")[:5])
    return [(f"{k}_rate", "word_class", R100, f"{k.replace('_', ' ')} words per 100 word tokens "
             f"({v.get('en', '')}; {v.get('zh', '')} ...)") for k, v in words.items()]


def discourse_specs() -> list[Spec]:
    """Specs of every discourse feature, in output order."""
    pos = [(f"pos_{t.lower()}_rate", "pos", R100, f"{_POS_DESC[t]} per 100 word tokens") for t in POS_EXPORTED]
    return pos + _SYNTAX + _word_class_specs() + _ZH + _EN
