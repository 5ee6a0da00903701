"""Group ranking (pure): the fairness floor, the group mood, the taste match, the reasons."""

from __future__ import annotations

import pytest

from moosic_core.recommend.group import (
    GroupMember,
    GroupRanker,
    floor_for,
    group_mood,
    js_similarity,
    taste_match,
)
from moosic_core.recommend.ranking import Ranker
from moosic_core.types import FaceReading, MoodReading

# Two members who love hip-hop and one whose taste is spread over five quiet genres: the mean
# taste is 57% hip-hop, and a plain average gives the third member nothing.
ANA = GroupMember("Ana", {"hip-hop": 0.9, "pop": 0.1})
BEN = GroupMember("Ben", {"hip-hop": 0.8, "rock": 0.2})
CY = GroupMember("Cy", {g: 0.2 for g in ("classical", "opera", "piano", "ambient", "jazz")})


@pytest.fixture(scope="module")
def group_ranker(catalog) -> GroupRanker:
    return GroupRanker(Ranker(catalog))


@pytest.mark.parametrize("mode", ["match", "lift"])
def test_floor_serves_the_member_a_plain_average_leaves_out(group_ranker, mode) -> None:
    mood = MoodReading(0.8, 0.7)
    plain = group_ranker.rank([ANA, BEN, CY], mood, mode, fairness="average")
    fair = group_ranker.rank([ANA, BEN, CY], mood, mode, fairness="floor")
    assert plain.member_fit["Cy"] == 0.0
    assert fair.member_fit["Cy"] >= floor_for(10, 3) / 10
    assert min(fair.member_fit.values()) > min(plain.member_fit.values())
    assert len(fair.items) == 10 and len({r.track.track_id for r in fair.items}) == 10
    cy_songs = [r for r in fair.items if CY.core_genres() & set(r.track.genres)]
    assert all("from Cy's taste" in r.reasons[1].text for r in cy_songs)
    # Genre names only: nobody's share of listening is shown to the others.
    assert not any("%" in x.text for r in fair.items for x in r.reasons)
    if mode == "lift":
        assert fair.items[-1].reasons[-1].text == "step 10 of 10 towards a happier mood"


def test_song_that_brings_you_together_is_in_two_tastes(group_ranker) -> None:
    result = group_ranker.rank([ANA, BEN, CY], MoodReading(0.6))
    assert result.together is not None
    assert "hip-hop" in result.together.track.genres
    assert "from Ana and Ben's taste" in result.together.reasons[1].text


def test_nobody_linked_gets_popular_songs_that_fit_the_mood(group_ranker, catalog) -> None:
    people = [GroupMember("Ana"), GroupMember("Ben")]
    sad = group_ranker.rank(people, MoodReading(0.1))
    happy = group_ranker.rank(people, MoodReading(0.9))
    assert len(sad.items) == 10 and sad.member_fit == {} and sad.together is None
    assert sad.taste_match.overall is None
    assert all(r.reasons[1].name == "popularity" for r in sad.items)
    mean = lambda g: sum(r.track.mood_score for r in g.items) / len(g.items)  # noqa: E731
    assert mean(happy) - mean(sad) > 0.4


def test_group_mood_is_the_mean_of_every_reading() -> None:
    face = FaceReading((0, 0, 10, 10), 0.9, arousal=0.8)
    photo = MoodReading(0.9, 0.8, "face", (face,))
    mood = group_mood([MoodReading(0.2), photo, MoodReading(0.7, 0.4)])
    assert mood.mood_score == pytest.approx(0.6)
    assert mood.energy == pytest.approx(0.6)  # only readings with an energy
    assert mood.faces == (face,)
    assert group_mood([]).mood_score == 0.5 and group_mood([]).source == "default"


def test_taste_match() -> None:
    assert js_similarity(ANA.taste, ANA.taste) == pytest.approx(1.0)
    assert js_similarity(ANA.taste, CY.taste) == pytest.approx(0.0)
    close = js_similarity(ANA.taste, BEN.taste)
    assert 0.5 < close < 1.0
    match = taste_match([ANA, BEN, CY, GroupMember("Dee")])  # Dee has no taste: not counted
    assert set(match.pairs) == {("Ana", "Ben"), ("Ana", "Cy"), ("Ben", "Cy")}
    assert match.overall == pytest.approx(close / 3, abs=1e-3)


def test_cli_group_json(moosic, config) -> None:
    a, c = (str(config.data.playlists_dir / f"liked_songs_{x}.csv") for x in "ac")
    code, data, err = moosic("group", "--member", a, "--member", c, "--mood", "0.3",
                             "-n", "6", "--json")
    assert code == 0, err
    assert data["mood"]["mood_score"] == 0.3 and data["mode"] == "match"
    assert len(data["tracks"]) == 6
    assert {"track_id", "name", "artists", "genres", "url", "score", "reasons"} <= \
        set(data["tracks"][0])
    # The floor: each of two members gets at least ceil(6 / 4) = 2 songs from their genres.
    assert set(data["member_fit"]) == {"liked_songs_a", "liked_songs_c"}
    assert min(data["member_fit"].values()) >= round(2 / 6, 3)
    assert 0 < data["taste_match"]["overall"] < 1
    assert list(data["taste_match"]["pairs"]) == ["liked_songs_a + liked_songs_c"]
