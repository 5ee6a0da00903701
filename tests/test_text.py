"""Normalising names so that sources match."""

from moosic_core.text import normalize_artist, normalize_title, split_artists


def test_artist_variants_match() -> None:
    assert normalize_artist("The Beatles") == normalize_artist("beatles")
    assert normalize_artist("Beyoncé") == normalize_artist("Beyonce")
    assert normalize_artist("Simon & Garfunkel") == normalize_artist("Simon and Garfunkel")
    assert normalize_artist("宇多田ヒカル") != ""


def test_title_versions_match() -> None:
    base = normalize_title("Help!")
    for variant in ("Help! - Remastered 2009", "Help! (Live)", "HELP", "Help! [Mono]",
                    "Help! feat. Somebody"):
        assert normalize_title(variant) == base


def test_title_that_is_only_brackets_keeps_a_key() -> None:
    assert normalize_title("(Untitled)") != ""


def test_split_artists() -> None:
    assert split_artists("A;B ; C") == ["A", "B", "C"]
    assert split_artists("A, B", ",") == ["A", "B"]
