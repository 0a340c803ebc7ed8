from bot.text import TypoIndex, damerau, fold, stem, words


def test_fold_and_words() -> None:
    assert words("E-mail naar in-mail, don't! XSV-350013") == ["email", "naar", "inmail", "dont", "xsv", "350013"]
    assert fold("geïmporteerd") == "geimporteerd"


def test_stem() -> None:
    assert stem("bounces") == stem("bounced") == stem("bouncing") == stem("bounce")
    assert stem("logging") == "log" and stem("stopped") == "stop" and stem("processes") == "process"
    assert stem("status") == "status" and stem("stats") == "stats"


def test_damerau() -> None:
    assert damerau("mial", "mail") == 1
    assert damerau("sendng", "sending") == 1
    assert damerau("abc", "xyz") == 3


def test_typo_index() -> None:
    idx = TypoIndex(["mail", "sending", "workflow", "helo"], protected=["hello"])
    assert idx.correct("mial") == "mail"
    assert idx.correct("sendng") == "sending"
    assert idx.correct("wokflow") == "workflow"
    assert idx.correct("male") is None  # four letters: only a swap counts
    assert idx.correct("hello") is None
    assert idx.correct("mail") is None
