"""Artist-level taste on the real catalog: scenes, copies, reasons, discovery, groups."""

from __future__ import annotations

import re

import numpy as np
import pytest

from moosic_core.catalog.artists import song_key
from moosic_core.catalog.store import Catalog
from moosic_core.recommend.group import GroupMember, GroupRanker
from moosic_core.recommend.ranking import (
    DISCOVERY_SHARES,
    Ranker,
    RankRequest,
    personal_request,
)
from moosic_core.taste.artist_taste import artist_weights
from moosic_core.taste.csv_import import read_playlist_csv
from moosic_core.taste.profile import ProfileBuilder, profile_from_json, profile_to_json
from moosic_core.text import normalize_artist
from moosic_core.types import LibraryTrack, MoodReading, TasteProfile, UserRef

#: US rappers the catalog lists under its one "hip-hop" genre (among others).
US_RAP = ("Drake", "Future", "21 Savage", "Lil Baby", "Travis Scott", "Kendrick Lamar",
          "J. Cole", "Gunna", "Young Thug", "Kodak Black", "Eminem", "Nas")
#: Indian (film, Punjabi, desi) hip-hop artists the catalog lists under the same "hip-hop".
INDIAN_HIP_HOP = ("Anirudh Ravichander", "Sidhu Moose Wala", "AP Dhillon", "Badshah",
                  "Yo Yo Honey Singh", "Karan Aujla", "Guru Randhawa", "DIVINE", "MC STAN",
                  "KR$NA", "Emiway Bantai", "Hiphop Tamizha", "Jordan Sandhu", "Tegi Pannu",
                  "Wazir Patar", "Naezy", "Ikka", "Raftaar", "Shubh", "Jass Manak")
JPOP = ("YOASOBI", "LiSA", "Fujii Kaze", "Aimer", "Official HIGE DANdism", "Kenshi Yonezu")
MOODS = (0.2, 0.5, 0.8)


@pytest.fixture(scope="module")
def ranker(catalog: Catalog) -> Ranker:
    return Ranker(catalog)


def _library(catalog: Catalog, artists: tuple[str, ...], per_artist: int = 4,
             genre: str | None = None) -> list[LibraryTrack]:
    """Real catalog rows: the first few tracks of each artist (in ``genre``), as a library."""
    tracks = []
    for artist in artists:
        rows = [r for r in catalog.rows_by_artist(artist)
                if genre is None or genre in catalog.genres[int(r)]]
        for row in rows[:per_artist]:
            t = catalog.track(int(row))
            tracks.append(LibraryTrack(name=t.name, artists=t.artists, track_id=t.track_id))
    return tracks


def _request(profile: TasteProfile, mood: float,
             familiar_share: float = DISCOVERY_SHARES["default"]) -> RankRequest:
    return personal_request(profile, mood, familiar_share=familiar_share)


def _indian_scene(catalog: Catalog) -> set[str]:
    """The named artists, and every artist with most tracks under the catalog's Indian genres."""
    keys = {normalize_artist(a) for a in INDIAN_HIP_HOP}
    index = catalog.artists
    for position, key in enumerate(index.keys):
        rows = index.rows(position)
        indian = sum(bool({"indian", "pop-film"} & set(catalog.genres[r])) for r in rows)
        if indian * 2 > len(rows):
            keys.add(key)
    return keys


@pytest.fixture(scope="module")
def us_rap(catalog: Catalog) -> TasteProfile:
    """US rap as the catalog files it: every song under its one "hip-hop" genre."""
    return ProfileBuilder(catalog).build(_library(catalog, US_RAP, genre="hip-hop"))


def test_us_rap_does_not_drift_into_indian_hip_hop(catalog, ranker, us_rap) -> None:
    indian = _indian_scene(catalog)

    def by_indian_artists(recs) -> int:
        return sum(bool({normalize_artist(a) for a in r.track.artists} & indian) for r in recs)

    assert us_rap.genres["hip-hop"] > 0.9
    # The genre histogram alone (the ranker before artists) drifts: the scene is real.
    genre_only = [ranker.rank(RankRequest(mood=m, taste=us_rap.genres, n=10,
                                          exclude_ids=us_rap.known_track_ids)) for m in MOODS]
    assert sum(by_indian_artists(recs) for recs in genre_only) >= 8
    lists = [ranker.rank(_request(us_rap, m)) for m in MOODS]
    assert all(len(recs) == 10 for recs in lists)
    assert sum(by_indian_artists(recs) for recs in lists) <= 1
    similar = list(us_rap.similar_artists)[:50]
    assert len(set(similar) & indian) <= 2


def test_mood_is_a_band_and_taste_decides_inside_it(catalog, ranker, us_rap) -> None:
    mine = {normalize_artist(a) for a in US_RAP}
    familiar = 0
    for mood in (0.1, 0.5, 0.9):
        recs = ranker.rank(_request(us_rap, mood))
        errors = [abs(r.track.mood_score - mood) for r in recs]
        assert len(recs) == 10 and np.mean(errors) <= 0.10 and max(errors) <= 0.2
        familiar += sum(bool({normalize_artist(a) for a in r.track.artists} & mine)
                        for r in recs)
    assert familiar >= 15  # of 30: the default share (60%) where the band holds enough


def test_a_list_never_holds_two_copies_of_a_song(catalog, ranker) -> None:
    index = catalog.artists
    ids, counts = np.unique(index.song_ids, return_counts=True)
    copied = set(ids[counts > 1].tolist())
    # Artists with many copied songs (compilations): the lists could easily repeat them.
    artists = sorted(range(len(index)), key=lambda a: -sum(
        int(index.song_ids[r]) in copied for r in index.rows(a)))[:8]
    weights = {index.names[a]: 1.0 / len(artists) for a in artists}
    for mood in MOODS:
        recs = ranker.rank(RankRequest(mood=mood, n=20, artists=weights, familiar_share=1.0))
        keys = [song_key(r.track.artists[0], r.track.name) for r in recs]
        assert len(keys) == len(set(keys)) and len(keys) >= 10
        genre_only = ranker.rank(RankRequest(mood=mood, n=20, taste={"hip-hop": 1.0}))
        keys = [song_key(r.track.artists[0], r.track.name) for r in genre_only]
        assert len(keys) == len(set(keys))


def test_excluding_one_copy_excludes_every_copy(catalog, ranker) -> None:
    rows = [int(r) for r in catalog.rows_by_artist("Jack Harlow")]
    copies = [r for r in rows if catalog.track(r).name == "Way Out"]
    assert len(copies) == 2  # on the "New Rap Icons" and "New Pop Icons" compilations
    mood = catalog.track(copies[0]).mood_score
    others = frozenset(catalog.track(r).track_id for r in rows if r not in copies)
    # Jack Harlow's only songs left are the two copies: a list holds one of them.
    request = RankRequest(mood=mood, n=5, artists={"Jack Harlow": 1.0}, familiar_share=1.0,
                          exclude_ids=others)
    first = [r.track.name for r in ranker.rank(request)]
    assert first.count("Way Out") == 1
    # /more and the history exclude the shown ID: its copy never comes back.
    shown = frozenset({next(r.track.track_id for r in ranker.rank(request)
                            if r.track.name == "Way Out")})
    again = ranker.rank(RankRequest(mood=mood, n=5, artists={"Jack Harlow": 1.0},
                                    familiar_share=1.0, exclude_ids=others | shown))
    assert "Way Out" not in [r.track.name for r in again]
    # The library's own songs count by artist and title too (another ID, another spelling).
    owned = frozenset({song_key("Jack Harlow", "Way Out (feat. Big Sean)")})
    mine = ranker.rank(RankRequest(mood=mood, n=5, artists={"Jack Harlow": 1.0},
                                   familiar_share=1.0, exclude_ids=others, exclude_songs=owned))
    assert "Way Out" not in [r.track.name for r in mine]


def test_reasons_name_the_artist_or_genre_not_a_number(catalog, ranker, us_rap) -> None:
    library = {normalize_artist(a) for a in us_rap.artist_weights}
    for mood in MOODS:
        for rec in ranker.rank(_request(us_rap, mood)):
            first = rec.reasons[0]
            assert not re.search(r"\d\.\d", " ".join(r.text for r in rec.reasons))
            if first.name == "artist":
                named = first.text.removeprefix("because you listen to ")
                assert normalize_artist(named) in library
                assert normalize_artist(named) in {normalize_artist(a) for a in rec.track.artists}
            else:
                assert first.name in {"similar", "taste"}
                if first.name == "similar":
                    named = first.text.removeprefix("new to you, like ")
                    assert normalize_artist(named) in library
                    assert not {normalize_artist(a) for a in rec.track.artists} & library


def test_discovery_share_changes_the_mix(catalog, ranker, us_rap) -> None:
    mine = {normalize_artist(a) for a in us_rap.artist_weights}

    def familiar(level: str) -> int:
        return sum(sum(bool({normalize_artist(a) for a in r.track.artists} & mine)
                       for r in ranker.rank(_request(us_rap, m,
                                                     familiar_share=DISCOVERY_SHARES[level])))
                   for m in MOODS)

    more, default, less = familiar("more"), familiar("default"), familiar("less")
    assert more < default < less
    assert more <= 12 and less >= 24  # of 30 songs


def test_lift_mode_keeps_each_step_in_its_band(ranker, us_rap) -> None:
    recs = ranker.rank(personal_request(us_rap, 0.1, mode="lift"))
    targets = np.linspace(0.1, 0.85, len(recs))
    moods = np.array([r.track.mood_score for r in recs])
    assert len(recs) == 10 and np.abs(moods - targets).mean() <= 0.10
    assert recs[-1].reasons[-1].text == "step 10 of 10 towards a happier mood"


def test_artist_weights_are_shares_of_listening() -> None:
    tracks = [LibraryTrack("a", ("The Beatles",)), LibraryTrack("b", ("Beatles",)),
              LibraryTrack("c", ("Nas", "Lauryn Hill")), LibraryTrack("d", ())]
    weights = artist_weights(tracks)
    assert weights == {"The Beatles": 2 / 3, "Nas": 1 / 6, "Lauryn Hill": 1 / 6}


def test_profile_keeps_artist_taste_through_json(catalog, us_rap) -> None:
    assert abs(sum(us_rap.artist_weights.values()) - 1.0) < 1e-9
    assert us_rap.similar_artists and us_rap.known_songs
    assert profile_from_json(profile_to_json(us_rap)) == us_rap
    # A profile saved before artist taste existed still reads (empty artist fields).
    old = profile_from_json('{"genres": {"rock": 1.0}, "artists": [], "known_track_ids": [],'
                            ' "tracks_total": 1, "tracks_understood": 1, "sources": {}}')
    assert old.artist_weights == {} and old.similar_artists == {}


def test_artists_the_catalog_lacks_still_lead_somewhere(catalog) -> None:
    """A library of artists absent from the catalog, with genres in the export: the similar
    artists come from what the export says (genres mapped onto the catalog's)."""
    tracks = [LibraryTrack(f"song {i}", ("Nobody Catalogued",), genres=("j-pop", "anime"))
              for i in range(5)]
    profile = ProfileBuilder(catalog).build(tracks)
    assert profile.artist_weights == {"Nobody Catalogued": 1.0}
    top = list(profile.similar_artists)[:20]
    assert top and all(v.because == "Nobody Catalogued"
                       for v in profile.similar_artists.values())
    genres = {g for key in top for r in catalog.artists.rows(catalog.artists.position[key])
              for g in catalog.genres[r]}
    assert {"j-pop", "anime"} & genres


def test_group_lists_use_every_members_artists(catalog, ranker) -> None:
    builder = ProfileBuilder(catalog)
    rap = builder.build(_library(catalog, US_RAP))
    jpop = builder.build(_library(catalog, JPOP))
    members = [GroupMember.from_profile("Ana", rap), GroupMember.from_profile("Ben", jpop)]
    result = GroupRanker(ranker).rank(members, MoodReading(0.6), n=10,
                                      exclude_ids=rap.known_track_ids | jpop.known_track_ids)
    texts = [r.reasons[0].text for r in result.items]
    assert any(t.startswith("Ana listens to ") for t in texts)
    assert any(t.startswith("Ben listens to ") for t in texts)
    assert min(result.member_fit.values()) >= 0.3


async def test_service_discover_setting_and_more_skip_copies(service, config) -> None:
    user = UserRef("test", "dana")
    path = config.data.playlists_dir / "liked_songs_b.csv"
    profile = await service.import_playlist(user, path.read_bytes(), path.name)
    assert await service.discovery(user) == "default"
    mood = service.stated_mood("0.5")
    seen: set[str] = set()
    for _ in range(3):  # the first list and two /more
        result = await service.recommend(user, mood)
        keys = [song_key(r.track.artists[0], r.track.name) for r in result.items]
        assert len(keys) == len(set(keys)) and not set(keys) & seen
        assert not set(keys) & profile.known_songs
        seen |= set(keys)
    mine = {normalize_artist(a) for a in profile.artist_weights}

    async def familiar_share(level: str) -> float:
        await service.set_discovery(user, level)
        items = (await service.recommend(user, service.stated_mood("0.7"))).items
        return float(np.mean([bool({normalize_artist(a) for a in r.track.artists} & mine)
                              for r in items]))

    assert await familiar_share("more") < await familiar_share("less")
    assert await service.discovery(user) == "less"
    await service.set_discovery(user, "default")
    assert await service.discovery(user) == "default"
    with pytest.raises(ValueError):
        await service.set_discovery(user, "lots")


async def test_discover_in_the_chat_changes_what_more_gives(service, config) -> None:
    from bot.console import ConsoleChat
    from bot.conversation import Conversation

    chat = ConsoleChat(Conversation(service))
    path = config.data.playlists_dir / "liked_songs_b.csv"
    linked = await chat.send(str(path))
    assert "Got your playlist" in linked and "You play most: Kendrick Lamar" in linked
    shown = await chat.send("/discover")
    assert "6 in 10" in shown and "(/press discover:more)" in shown
    assert "artists new to you" in await chat.send("/press discover:more")
    assert "/discover more" in await chat.send("/discover lots")  # usage, nothing changed
    first = await chat.send("/mood 0.6")
    assert "new to you, like " in first and "because you listen to " in first
    user = chat.user
    assert await service.discovery(user) == "more"
    assert "almost every song" in await chat.send("/discover less")
    more = await chat.send("/more")
    assert more.count("because you listen to ") >= 7


def _versions_in_other_slots(catalog: Catalog) -> list[list[int]]:
    """Rows of one song by the key of an artist credited first on one track and later on
    another: remixes, features and versions credited "Remixer;Original artist" (real rows)."""
    first: dict[tuple[str, str], list[int]] = {}
    later: dict[tuple[str, str], list[int]] = {}
    for row, keys in enumerate(catalog.artist_keys):
        names = str(keys).split(";")
        title = str(catalog.title_keys[row])
        first.setdefault((names[0], title), []).append(row)
        for name in names[1:]:
            later.setdefault((name, title), []).append(row)
    return [first[key] + rows for key, rows in later.items() if key in first]


def test_a_version_of_a_library_song_is_never_offered(catalog, ranker) -> None:
    """The library holds the original; its remix credited to the remixer first never comes."""
    remix = next(int(r) for r in catalog.rows_by_artist("Skrillex")
                 if catalog.track(int(r)).name == "HUMBLE. - SKRILLEX REMIX")
    mood = catalog.track(remix).mood_score
    request = RankRequest(mood=mood, n=20, artists={"Skrillex": 1.0}, familiar_share=1.0)
    assert remix in {catalog.row_of(r.track.track_id) for r in ranker.rank(request)}
    owned = frozenset({song_key("Kendrick Lamar", "HUMBLE.")})
    request = RankRequest(mood=mood, n=20, artists={"Skrillex": 1.0}, familiar_share=1.0,
                          exclude_songs=owned)
    assert remix not in {catalog.row_of(r.track.track_id) for r in ranker.rank(request)}
    # The kind, not the example: every such version is left out by its original's key.
    index = catalog.artists
    versions = _versions_in_other_slots(catalog)
    assert len(versions) >= 100
    for rows in versions:
        key = song_key(catalog.track(rows[0]).artists[0], catalog.track(rows[0]).name)
        assert set(index.song_ids[rows].tolist()) <= set(index.song_ids_of((), [key]).tolist())


def test_a_list_never_holds_two_versions_of_a_song(catalog, ranker) -> None:
    """"One song once" counts versions by any credited artist, not only the first."""
    versions = _versions_in_other_slots(catalog)
    index = catalog.artists
    counts: dict[int, int] = {}
    for rows in versions:
        for row in rows:
            for a in index.track_artists.row(row).tolist():
                counts[a] = counts.get(a, 0) + 1
    artists = sorted(counts, key=lambda a: -counts[a])[:8]
    weights = {index.names[a]: 1.0 / len(artists) for a in artists}
    for mood in MOODS:
        for share in (0.3, 1.0):
            recs = ranker.rank(RankRequest(mood=mood, n=20, artists=weights,
                                           familiar_share=share))
            keys = [song_key(a, r.track.name) for r in recs for a in r.track.artists]
            assert len(keys) == len(set(keys)) and len(recs) >= 10


def test_an_artist_spelled_otherwise_is_not_new_to_you(catalog, config, ranker) -> None:
    """A real export credits "Fryderyk Chopin", the catalog "Frédéric Chopin": the same
    composer is familiar, named as the library spells it, never "new to you"."""
    path = config.data.playlists_dir / "liked_songs_a.csv"
    tracks = [t for t in read_playlist_csv(path.read_bytes(), path.name)
              if "Fryderyk Chopin" in t.artists]
    assert len(tracks) >= 20
    profile = ProfileBuilder(catalog).build(tracks)
    assert normalize_artist("Frédéric Chopin") not in profile.similar_artists
    chopin = normalize_artist("Frédéric Chopin")
    seen = 0
    for mood in (0.1, 0.2, 0.3):
        for share in DISCOVERY_SHARES.values():
            for rec in ranker.rank(_request(profile, mood, share)):
                if chopin in {normalize_artist(a) for a in rec.track.artists}:
                    seen += 1
                    assert rec.reasons[0].text == "because you listen to Fryderyk Chopin"
                    assert not any(r.text.startswith("new to you") for r in rec.reasons)
    assert seen


def test_same_artists_merge_spellings_not_collaborators(catalog) -> None:
    """Each catalog artist's own tracks as a library: the rule joins only spellings of one
    name (13 of 29,728 artists, e.g. DJ Mustard / Mustard, Jhay Cortez / Jhayco), never a
    remixer with the artist he stands in for (Tiësto / R3HAB share remix credits)."""
    index = catalog.artists
    joined = {}
    for a in range(len(index)):
        rows = index.rows(a).tolist()
        songs = {f"{index.keys[b]}\x1f{catalog.title_keys[r]}" for r in rows
                 for b in index.track_artists.row(r).tolist()}
        for position in index.same_artists(songs):
            joined[index.keys[a]] = index.keys[position]
    assert joined.get("djmustard") == "mustard" and joined.get("jhaycortez") == "jhayco"
    assert "tiesto" not in joined and "r3hab" not in joined
    assert len(joined) <= 20
