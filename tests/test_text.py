from bot.text import (
    TypoIndex,
    common_words,
    compound_tail,
    damerau,
    fold,
    is_common_word,
    keys,
    split_compound,
    stem_en,
    stem_nl,
    undouble,
    word_groups,
    words,
)


def test_fold_and_words() -> None:
    assert words("E-mail naar in-mail, don't! XSV-350013") == ["email", "naar", "inmail", "dont", "xsv", "350013"]
    assert fold("geïmporteerd") == "geimporteerd"


def test_word_groups_keep_the_pieces_of_joined_words() -> None:
    text = "MX-quota voor e-mails, XSV-350013 don't"
    assert [g[0] for g in word_groups(text)] == words(text)
    assert word_groups(text)[0] == ("mxquota", ("mx", "quota"))
    assert ("xsv", ("xsv",)) in word_groups(text)  # error codes were never joined


def test_english_stems_meet_across_forms() -> None:
    assert stem_en("bounces") == stem_en("bounced") == stem_en("bouncing") == stem_en("bounce")
    assert stem_en("logging") == "log" and stem_en("stopped") == "stop" and stem_en("processes") == "process"


def test_dutch_stems_meet_across_forms_and_participles() -> None:
    assert stem_nl("geklikt") == stem_nl("klikken") == stem_nl("kliks")
    assert stem_nl("verwerkt") == stem_nl("verwerken")
    assert stem_nl("vastgelopen") == stem_nl("vastlopen")
    assert undouble(stem_nl("binnenkomen")) == undouble(stem_nl("binnenkom"))


def test_keys_hold_both_languages_but_keep_niets_apart_from_niet() -> None:
    assert keys("workflows") == {"e:workflow", "n:workflow"} and "e:mail" in keys("mailings")
    assert keys("niets") != keys("niet")
    # an English stem of a Dutch word never meets a Dutch stem: ontvangers (recipients) != ontvangen
    assert not keys("ontvangers") & keys("ontvangen")


def test_damerau_is_optimal_string_alignment() -> None:
    assert damerau("mial", "mail") == 1  # a swap is one edit
    assert damerau("sendng", "sending") == 1
    assert damerau("abc", "xyz") == 3
    assert damerau("abcdef", "uvwxyz", limit=2) == 3  # capped at limit + 1


def test_typo_index() -> None:
    idx = TypoIndex(["mail", "sending", "workflow", "helo"], protected=["hello"])
    assert idx.correct("mial") == "mail"
    assert idx.correct("sendng") == "sending"
    assert idx.correct("wokflow") == "workflow"
    assert idx.correct("male") is None  # four letters: only a swap counts
    assert idx.correct("hello") is None
    assert idx.correct("mail") is None
    assert idx.correct("xyzzy") is None
    assert idx.correct("wokflow") == "workflow"  # cached answers are the same


def test_typo_ties_are_deterministic() -> None:
    a = TypoIndex(["stat", "start", "state", "stats"])
    b = TypoIndex(["stats", "state", "start", "stat"])
    for w in ("stae", "starr", "statt"):
        assert a.correct(w) == b.correct(w)


def test_split_compound() -> None:
    known = {"tracking", "logbestanden", "klik", "gegevens", "mx", "regels", "verbinding", "statistieken"}.__contains__
    assert split_compound("trackinglogbestanden", known) == ("tracking", "logbestanden")
    assert split_compound("klikgegevens", known) == ("klik", "gegevens")
    assert split_compound("verbindingsstatistieken", known) == ("verbinding", "statistieken")  # linking s
    assert split_compound("mxregels", known) == ("mx", "regels")
    assert split_compound("printerproblemen", known) is None
    assert split_compound("mail", known) is None


def test_compound_tail_is_the_kind_of_thing() -> None:
    known = {"mails", "workflow", "logs"}.__contains__
    assert compound_tail("bevestigingsmails", known) == ("bevestigings", "mails")
    assert compound_tail("opschoonworkflow", known) == ("opschoon", "workflow")
    assert compound_tail("mails", known) is None  # nothing before the known part
    assert compound_tail("printerproblemen", known) is None


def test_a_common_real_word_is_never_a_typo_of_a_domain_word() -> None:
    """pyspellchecker's English and Dutch frequency lists say which words are real: those are what they
    say ("black" is not "blank", "iemand" is not "niemand", "place" is not "pace"); misspellings of no
    real word are still corrected."""
    idx = TypoIndex(["blank", "niemand", "pace", "heating", "whole", "delay", "mail", "sending", "workflow"])
    for real in ("black", "iemand", "place", "eating", "while", "relay"):
        assert is_common_word(real) and idx.correct(real) is None, real
    assert idx.correct("mial") == "mail" and idx.correct("sendng") == "sending" and idx.correct("wrkflow") == "workflow"
    assert not is_common_word("sendng") and not is_common_word("wokflow")


def test_a_correction_never_turns_a_word_into_its_opposite() -> None:
    idx = TypoIndex(["unreachable", "processed", "started"])
    assert idx.correct("reachable") is None and idx.correct("unprocessed") is None
    assert idx.correct("unstarted") is None


def test_common_words_cover_both_languages() -> None:
    words_ = common_words()
    assert {"black", "while", "camera", "weer", "blijft", "hangen", "iemand", "sinds"} <= words_
    assert len(words_) > 20000
