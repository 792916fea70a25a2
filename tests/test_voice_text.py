"""Text features of Mandarin and English transcripts, and the lexicons behind them."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import jieba
import pytest

from app.core.voice import _lexicon
from app.core.voice._lexicon import DECEPTION_CATEGORIES, FRAUD_CATEGORIES, LexiconError, read_lexicon
from app.core.voice.scoring import RISK_CUES
from app.core.voice.text import TEXT_NAMES, lexicon_hits, text_features, tokenize, write_feature_table
from app.paths import resources_dir

REPO = Path(__file__).resolve().parents[1]
LEX = resources_dir() / "lexicons"
FEATURE_TABLE = resources_dir() / "voice" / "text_features.tsv"

REQUIRED_ZH_SLANG = (
    "空放", "砍头息", "上岸", "口子", "口子群", "撸口子", "急用", "放水", "不想还钱", "高炮", "以贷养贷", "包装流水",
    "代还", "套现", "黑户", "白户", "征信花了", "大数据花了", "下款", "秒批", "强下", "黑口子", "714高炮", "砍头",
    "反催收", "停息挂账", "债务优化", "养卡", "洗白征信", "征信修复", "内部渠道", "包装资料", "刷流水", "假流水",
    "代办", "中介", "人头贷", "套路贷", "裸贷", "美容贷", "校园贷", "共债", "多头借贷", "逾期", "催收", "爆通讯录",
    "延期费", "展期", "撸贷", "老哥", "口子老哥", "借新还旧", "背债", "资金周转",
)
REQUIRED_EN_SLANG = ("loan stacking", "fake bank statements", "debt relief agency", "buy now pay later", "cash advance",
                     "not planning to pay")
REQUIRED_DECEPTION = {
    "zh": {"hedge": ["可能", "大概", "好像", "也许", "应该", "差不多", "说不定", "我觉得"],
           "certainty": ["绝对", "肯定", "一定", "保证", "百分之百", "说实话", "老实说", "真的"],
           "negation": ["不", "没", "没有", "别", "未", "从来不", "从没"], "first_singular": ["我", "本人"],
           "first_plural": ["我们", "咱们"], "distancing": ["他", "她", "他们", "那个人", "对方", "有人"],
           "temporal": ["昨天", "上周", "那天", "当时", "之后", "然后"],
           "spatial": ["在", "里面", "旁边", "楼下", "公司", "银行"],
           "filler": ["嗯", "啊", "呃", "那个", "就是", "然后然后"],
           "self_correction": ["不是", "我是说", "应该说", "哦不", "更正"],
           "cognitive": ["因为", "所以", "如果", "想", "知道"], "motion": ["去", "来", "走", "跑"],
           "exclusive": ["但是", "除了", "而是"],
           "evasion": ["不记得", "不清楚", "不知道", "忘了", "不方便说", "这个不好说"]},
    "en": {"hedge": ["maybe", "perhaps", "kind of", "i guess", "sort of", "probably", "i think"],
           "certainty": ["absolutely", "definitely", "honestly", "to be honest", "i swear", "trust me", "believe me"],
           "negation": ["no", "not", "never", "none", "nothing"], "first_singular": ["i", "me", "my", "mine", "myself"],
           "first_plural": ["we", "us", "our"], "distancing": ["he", "she", "they", "someone", "that person"],
           "temporal": ["yesterday", "last week", "then", "after", "when"],
           "spatial": ["in", "at", "near", "inside", "office", "bank"],
           "filler": ["um", "uh", "er", "like", "you know", "well"],
           "self_correction": ["i mean", "sorry", "no wait", "let me rephrase"],
           "cognitive": ["because", "since", "think", "know", "realize"], "motion": ["go", "went", "walk", "drive"],
           "exclusive": ["but", "except", "without", "although"],
           "evasion": ["i don't remember", "i don't know", "can't recall", "i'd rather not say"]},
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_feature_names_are_many_unique_and_documented(tmp_path: Path) -> None:
    assert len(TEXT_NAMES) >= 200
    assert len(set(TEXT_NAMES)) == len(TEXT_NAMES)
    shipped = _rows(FEATURE_TABLE)
    assert [r["name"] for r in shipped] == list(TEXT_NAMES)
    assert all(r["category"] and r["kind"] and r["description"] for r in shipped)
    written = write_feature_table(tmp_path / "sub" / "t.tsv")
    assert written.read_text(encoding="utf-8") == FEATURE_TABLE.read_text(encoding="utf-8")


def test_scoring_model_cues_are_text_features() -> None:
    from app.core.voice.scoring import DERIVED

    wanted = [p[3:] for c in RISK_CUES if c.key.startswith("tx_") for p in DERIVED.get(c.key, (c.key,))]
    assert wanted and [k for k in wanted if k not in TEXT_NAMES] == []
    assert all(k[3:] not in TEXT_NAMES for k in DERIVED)  # a sum of exported columns is not exported itself


def test_required_slang_has_meaning_source_and_weight() -> None:
    rows = {r["term"]: r for r in _rows(LEX / "lending_fraud_zh.tsv")}
    assert len(rows) >= 60
    missing = [t for t in REQUIRED_ZH_SLANG if t not in rows]
    assert missing == []
    for t in REQUIRED_ZH_SLANG:
        r = rows[t]
        assert r["lang"] == "zh" and r["category"] in FRAUD_CATEGORIES, t
        assert r["meaning_en"] and r["meaning_zh"] and r["source"], t
        assert 0.0 <= float(r["risk_weight"]) <= 1.0, t
    assert min(float(rows[t]["risk_weight"]) for t in ("撸口子", "不想还钱", "包装流水")) >= 0.8
    assert max(float(rows[t]["risk_weight"]) for t in ("急用", "资金周转")) <= 0.2
    en = {r["term"]: r for r in _rows(LEX / "lending_fraud_en.tsv")}
    assert len(en) >= 20 and [t for t in REQUIRED_EN_SLANG if t not in en] == []
    assert all(r["meaning_en"] and r["source"] and r["risk_weight"] for r in en.values())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_deception_lexicon_covers_every_category_with_sources(lang: str) -> None:
    rows = _rows(LEX / f"deception_{lang}.tsv")
    assert len(rows) >= 100
    assert {r["category"] for r in rows} == set(DECEPTION_CATEGORIES)
    assert all(r["lang"] == lang and r["source"] and (r["meaning_en"] or r["meaning_zh"]) for r in rows)
    have = {(r["term"], r["category"]) for r in rows}
    missing = [(t, c) for c, terms in REQUIRED_DECEPTION[lang].items() for t in terms if (t, c) not in have]
    assert missing == []
    assert all("Huang et al. 2012" in r["source"] for r in rows if lang == "zh" and "LIWC" in r["source"])


def test_jieba_keeps_slang_as_single_tokens(tmp_path: Path) -> None:
    sentence = "他教我怎么撸口子，还帮我包装流水，后来以贷养贷，被收了砍头息"
    slang = {"撸口子", "包装流水", "以贷养贷", "砍头息"}
    plain = jieba.Tokenizer()
    plain.tmp_dir = str(tmp_path)
    plain.load_userdict(str(LEX / "user_dict_zh.txt"))
    assert slang <= set(plain.lcut(sentence))
    ours = tokenize(sentence, "zh")
    assert slang <= {t for t, _, _ in ours}
    assert all(sentence[s:e] == t for t, s, e in ours)
    dict_words = {ln.split()[0] for ln in (LEX / "user_dict_zh.txt").read_text(encoding="utf-8").splitlines()}
    assert [t for t in REQUIRED_ZH_SLANG if len(t) > 1 and t not in dict_words] == []


def _n(f: dict[str, float], cat: str) -> int:
    """The count behind a rate per 100 word tokens."""
    return round(f[f"{cat}_rate"] * f["tokens"] / 100)


def _detail(f: dict[str, float]) -> float:
    return sum(f[f"{c}_rate"] for c in ("temporal", "spatial", "perceptual", "number"))


def test_hedged_answer_versus_factual_answer_zh() -> None:
    hedged = text_features("我觉得可能大概是上个月吧，我也不太记得了", "zh")
    factual = text_features("我在上海的银行工作三年，月薪一万二。", "zh")
    assert _n(hedged, "hedge") >= 3 and _n(hedged, "evasion") >= 1
    assert _n(hedged, "hedge") > _n(factual, "hedge") and _n(hedged, "evasion") > _n(factual, "evasion")
    assert hedged["hedge_rate"] + hedged["evasion_rate"] > factual["hedge_rate"] + factual["evasion_rate"]
    assert _n(factual, "spatial") > _n(hedged, "spatial")
    assert _n(factual, "number") > _n(hedged, "number")
    assert _n(factual, "temporal") >= 1 and _n(factual, "amount") >= 1
    assert _detail(factual) > _detail(hedged)
    assert factual["zh_place_name_rate"] > 0 and hedged["zh_ba_rate"] == pytest.approx(100 / hedged["tokens"])


def test_english_overclaiming_and_negation() -> None:
    f = text_features("Honestly, I swear I never took any other loan", "en")
    assert _n(f, "certainty") >= 2 and _n(f, "negation") >= 1
    assert f["hedge_rate"] == 0.0 and f["certainty_rate"] > 0
    plain = text_features("I took one loan from my bank last year", "en")
    assert _n(plain, "certainty") == 0 and _n(plain, "negation") == 0
    assert f["negation_rate"] > plain["negation_rate"]
    assert _n(text_features("I don't know, I can't remember", "en"), "evasion") == 2


def test_first_person_rates() -> None:
    me = text_features("I told my manager that I would pay.", "en")
    assert me["tokens"] == 8 and _n(me, "first_singular") == 3
    assert me["first_singular_rate"] == pytest.approx(100 * 3 / 8)
    assert me["first_plural_rate"] == 0.0
    us = text_features("We told our manager that we would pay.", "en")
    assert _n(us, "first_singular") == 0 and _n(us, "first_plural") == 3
    zh = text_features("我们去了银行，我签了合同", "zh")
    assert _n(zh, "first_plural") == 1 and _n(zh, "first_singular") == 1
    other = text_features("他说对方有人帮他办的", "zh")
    assert _n(other, "first_singular") == 0 and _n(other, "distancing") >= 3


@pytest.mark.parametrize(("lang", "good", "bad"), [
    ("zh", "我非常开心，工作很顺利，生活很幸福。", "我很难过，生活太糟糕了，压力特别大，非常痛苦。"),
    ("en", "I am so happy, everything went great and I love my job.",
     "This is terrible. I am angry and sad about this awful debt."),
])
def test_sentiment_sign(lang: str, good: str, bad: str) -> None:
    pos, neg = text_features(good, lang), text_features(bad, lang)
    assert pos["sent_sentence_max"] > 0.05 and neg["sent_sentence_min"] < -0.05
    assert pos["sent_sentence_mean"] > 0 > neg["sent_sentence_mean"]
    if lang == "zh":
        assert 0.0 <= pos["snownlp_pos"] <= 1.0 and math.isnan(pos["vader_compound"])
    else:
        assert pos["vader_compound"] > 0 > neg["vader_compound"] and math.isnan(pos["snownlp_pos"])


def test_negation_flips_emotion_words() -> None:
    assert text_features("我不太开心", "zh")["emo_polarity"] == -1.0
    assert text_features("我并不难过", "zh")["emo_polarity"] == 1.0
    f = text_features("我不开心", "zh")
    assert _n(f, "emotion_neg") == 1 and _n(f, "emotion_pos") == 0


def test_lexicon_hits_give_meaning_and_offsets() -> None:
    text = "我之前在口子群里撸口子"
    hits = lexicon_hits(text, "zh")
    lu = [h for h in hits if h["term"] == "撸口子"]
    assert len(lu) == 1
    h = lu[0]
    assert (h["start"], h["end"]) == (8, 11) and text[h["start"]:h["end"]] == "撸口子" == h["text"]
    assert h["group"] == "fraud" and h["category"] == "default_intent"
    assert h["meaning_en"] and h["meaning_zh"] and h["source"] and h["risk_weight"] >= 0.8
    group = [h for h in hits if h["term"] == "口子群"]
    assert [(g["start"], g["end"]) for g in group] == [(4, 7)]
    assert not [h for h in hits if h["term"] == "口子"]  # not inside 口子群 or 撸口子


def test_traditional_chinese_matches_with_original_offsets() -> None:
    text = "我不想還錢，幫我包裝流水"
    fraud = [h for h in lexicon_hits(text, "zh") if h["group"] == "fraud"]
    assert [(h["term"], h["text"]) for h in fraud] == [("不想还钱", "不想還錢"), ("包装流水", "包裝流水")]
    f = text_features(text, "zh")
    assert f["fraud_lexicon_score"] == pytest.approx(0.95 + 0.9) and f["zh_traditional_share"] > 0


def test_fraud_score_is_risk_weighted() -> None:
    f = text_features("我想撸口子，还要包装流水", "zh")
    assert f["fraud_categories_present"] == 2 and f["fraud_lexicon_score"] == pytest.approx(1.8)
    assert f["fraud_default_intent_score"] == pytest.approx(0.9) and f["fraud_falsification_score"] == pytest.approx(0.9)
    weak = text_features("最近资金周转有点紧，急用", "zh")
    assert 0 < weak["fraud_lexicon_score"] < 0.5
    assert text_features("我在银行工作三年", "zh")["fraud_lexicon_score"] == 0.0
    strong = [h for h in lexicon_hits("I'm not planning to pay, I used fake bank statements", "en") if h["group"] == "fraud"]
    assert len([h for h in strong if h["risk_weight"] >= 0.7]) == 2


def test_numbers_amounts_and_percentages() -> None:
    zh = {(h["text"], h["category"]) for h in lexicon_hits("借了五万块，利息百分之二十，还了两次", "zh")
          if h["group"] == "number"}
    assert zh == {("五万块", "amount"), ("百分之二十", "percent"), ("两次", "number")}
    assert not [h for h in lexicon_hits("他说一定要一起去，十分简单，万一呢", "zh") if h["group"] == "number"]
    en = {(h["text"], h["category"]) for h in lexicon_hits("I owed $5,000, about 30 percent, for 2 years", "en")
          if h["group"] == "number"}
    assert en == {("$5,000", "amount"), ("30 percent", "percent"), ("2", "number")}


def test_word_timing_features() -> None:
    words = [("I", 0.0, 0.3), ("went", 0.3, 0.6), ("there", 1.0, 1.2), ("today", 2.5, 2.9)]
    f = text_features("I went there today", "en", words=words)
    assert f["duration_s"] == pytest.approx(2.9) and f["word_dur_mean"] == pytest.approx(1.2 / 4)
    assert f["pause_per_min"] == pytest.approx(60 * 2 / 2.9) and f["long_pause_per_min"] == pytest.approx(60 / 2.9)
    assert f["gap_max"] == pytest.approx(1.3) and f["pause_time_share"] == pytest.approx(1.7 / 2.9)
    g = text_features("I went there today", "en", duration_s=4.0, latency_s=0.8, words=words)
    assert g["duration_s"] == 4.0 and g["latency_s"] == 0.8


@pytest.mark.parametrize("text", ["", "   ", "。，", None])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_empty_text_gives_nans_without_error(text: str | None, lang: str) -> None:
    f = text_features(text, lang, latency_s=None)  # type: ignore[arg-type]
    assert list(f) == list(TEXT_NAMES)
    assert f["tokens"] == 0.0 and f["fraud_lexicon_score"] == 0.0
    for k in ("latency_s", "hedge_rate", "temporal_rate", "sent_sentence_mean", "ttr", "syllables_per_s",
              "word_dur_mean", "mean_word_len", "pos_verb_rate", "mean_clause_len", "finance_rate"):
        assert math.isnan(f[k]), k
    assert lexicon_hits(text, lang) == []  # type: ignore[arg-type]


def test_every_value_is_a_float() -> None:
    cases = [("我觉得可能大概是上个月吧，我也不太记得了", "zh"), ("Honestly, I swear I never took any other loan?", "en"),
             ("", "en"), ("我之前在口子群里撸口子，ok 没问题！", "zh-CN")]
    for text, lang in cases:
        f = text_features(text, lang, duration_s=2.0, latency_s=0.5, words=[("x", 0.1, 0.4), ("y", 0.9, 1.3)])
        assert set(f) == set(TEXT_NAMES)
        assert all(type(v) is float for v in f.values()), text


def test_unsupported_language_is_refused() -> None:
    with pytest.raises(ValueError, match="Mandarin"):
        text_features("bonjour", "fr")


def test_institution_terms_from_user_lexicon_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "lexicons"
    local.mkdir()
    (local / "institution_en.tsv").write_text(
        "term\tlang\tcategory\tmeaning_en\tmeaning_zh\tsource\trisk_weight\n"
        "ghost employer\ten\tfalsification\tshell company issuing fake payslips\t虚假雇主\tbank X casework\t0.8\n"
        "cash advance\ten\tcashout\tre-weighted locally\t预支现金\tbank X policy\t0.05\n", encoding="utf-8")
    text = "He works for a ghost employer and took a cash advance"
    before = text_features(text, "en")["fraud_lexicon_score"]
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    _lexicon.clear_caches()
    try:
        after = text_features(text, "en")
        ghost = [h for h in lexicon_hits(text, "en") if h["term"] == "ghost employer"]
    finally:
        monkeypatch.delenv("VIGIL_DATA_DIR")
        _lexicon.clear_caches()
    assert before == pytest.approx(0.3)
    assert after["fraud_lexicon_score"] == pytest.approx(0.85) and after["fraud_falsification_score"] == pytest.approx(0.8)
    assert ghost and ghost[0]["file"] == "institution_en.tsv" and ghost[0]["source"] == "bank X casework"


def test_bad_lexicon_rows_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("term\tlang\tcategory\tmeaning_en\tmeaning_zh\tsource\trisk_weight\nx\ten\tchannel\tm\tm\ts\t7\n",
                   encoding="utf-8")
    with pytest.raises(LexiconError, match="bad.tsv:2"):
        read_lexicon(bad)
    bad.write_text("term\tlang\tcategory\nx\ten\thedge\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="meaning_en"):
        read_lexicon(bad)


def _fresh_tokenize(data_dir: Path) -> subprocess.CompletedProcess[str]:
    code = "from app.core.voice.text import tokenize; print([t for t, _, _ in tokenize('我在口子群里撸口子', 'zh')])"
    env = {**os.environ, "VIGIL_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def _repo_caches() -> set[Path]:
    return set(REPO.glob("jieba*.cache")) | {p for d in ("app", "resources", "tests") for p in
                                             (REPO / d).rglob("jieba*.cache")}


def test_jieba_cache_goes_to_user_cache_not_repository(tmp_path: Path) -> None:
    before = _repo_caches()
    proc = _fresh_tokenize(tmp_path / "data")
    assert proc.returncode == 0, proc.stderr
    assert "撸口子" in proc.stdout and "Traceback" not in proc.stderr
    assert (tmp_path / "data" / "cache" / "jieba" / "jieba.cache").is_file()
    assert _repo_caches() == before
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x", encoding="utf-8")
    proc = _fresh_tokenize(blocker / "data")  # cache folder cannot be created: falls back, still works
    assert proc.returncode == 0 and "撸口子" in proc.stdout and "Traceback" not in proc.stderr


def test_discourse_features_read_pos_aspect_and_questions() -> None:
    zh = text_features("我们去年买了车，我看过合同。你是不是觉得有问题？他正在办贷款。", "zh")
    assert zh["pos_verb_rate"] > 0 and zh["pos_pron_rate"] > 0 and zh["perfective_rate"] > 0
    assert zh["experiential_rate"] > 0 and zh["progressive_rate"] > 0 and zh["alternative_question_rate"] > 0
    assert zh["self_agent_share"] == 1.0  # 我们 买, 我 看
    en = text_features("I paid the loan at 3:30 on Monday. It was approved by the bank. Did you check it?", "en")
    assert en["exact_time_rate"] == pytest.approx(2 * 100 / en["tokens"])
    assert en["passive_rate"] > 0 and en["perfective_rate"] > 0 and en["finance_rate"] > 0
    assert en["pos_propn_rate"] > 0 and en["pos_det_rate"] > 0 and en["pos_adp_rate"] > 0
    plain = text_features("The bank paid the loan.", "en")
    assert plain["passive_rate"] == 0.0 and math.isnan(plain["self_agent_share"])
    hedged = text_features("Maybe I paid it. I think maybe they sent it later.", "en")
    assert hedged["hedge_verb_share"] > 0 and hedged["hedge_early_share"] > 0


def test_discourse_word_classes_do_not_repeat_the_deception_lexicon() -> None:
    from app.core.voice._text_discourse import word_classes

    lexicon = {lang: {e.term.lower() for e in _lexicon.entries(lang) if e.group == "deception"} for lang in ("zh", "en")}
    for lang, classes in word_classes().items():
        for feat, phrases in classes.items():
            joined = {("" if lang == "zh" else " ").join(p) for p in phrases}
            assert joined and not joined & lexicon[lang], (lang, feat, joined & lexicon[lang])
