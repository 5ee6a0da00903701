"""Mapping Spotify's free-text artist genres onto the catalog's 114 genre names.

Spotify's artist genres are an open vocabulary ("east coast hip hop", "son cubano"), and exports
are localised ("muzyka klasyczna", "rock psychodeliczny" in a Polish account). The mapping is a
transparent rule table: multi-word phrases first (each match is removed from the text), then
keywords on what is left; every matched catalog genre gets an equal share. A text that matches
nothing maps to nothing (that genre string simply doesn't count).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# (regex, catalog genres). Phrases: consumed from the text when matched.
PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"hip[ -]?hop", ("hip-hop",)),
    (r"trip[ -]?hop", ("trip-hop",)),
    (r"r ?(?:&|and|n) ?b|rnb", ("r-n-b",)),
    (r"rock (?:and|n|'n'|&) roll|rock'n'roll", ("rock-n-roll",)),
    (r"(?:classic|klasyczny) rock|rock klasyczny", ("rock",)),
    (r"hard rock", ("hard-rock",)),
    (r"punk rock", ("punk-rock",)),
    (r"psychedelic rock|rock psychodeliczny|psych rock", ("psych-rock",)),
    (r"alternative rock|alt rock|rock alternatywny", ("alt-rock",)),
    (r"heavy metal", ("heavy-metal",)),
    (r"black metal", ("black-metal",)),
    (r"death metal", ("death-metal",)),
    (r"deep house", ("deep-house",)),
    (r"chicago house", ("chicago-house",)),
    (r"progressive house", ("progressive-house",)),
    (r"minimal techno", ("minimal-techno",)),
    (r"detroit techno", ("detroit-techno",)),
    (r"drum (?:and|n|&) bass|\bdnb\b", ("drum-and-bass",)),
    (r"synth ?pop", ("synth-pop",)),
    (r"power pop", ("power-pop",)),
    (r"indie pop", ("indie-pop",)),
    (r"\bk-?pop\b", ("k-pop",)),
    (r"\bj-?pop\b", ("j-pop",)),
    (r"\bj-?rock\b", ("j-rock",)),
    (r"\bc-?pop\b|mandopop", ("mandopop",)),
    (r"singer[ -]songwriter|autorzy piosenek|cantautor", ("singer-songwriter",)),
    (r"new age", ("new-age",)),
    (r"show ?tunes|broadway|musical", ("show-tunes",)),
    (r"world music", ("world-music",)),
    (r"big[ -]band|adult standards|vocal jazz|jazz wokalny", ("jazz",)),
    (r"bossa nova", ("mpb", "brazil")),
    (r"honky[ -]tonk", ("honky-tonk",)),
    (r"son cubano|cha[ -]cha", ("salsa",)),
    (r"fortepian klasyczny|classical piano", ("classical", "piano")),
    (r"muzyka operowa|\bopera\b|operatic", ("opera",)),
    (r"italo disco", ("disco",)),
    (r"disco polo", ("dance",)),
    (r"uk garage", ("garage",)),
    (r"big beat", ("breakbeat",)),
    (r"boom bap|g-funk|\bcrunk\b|\bhyphy\b|\bgrime\b|\bdrill\b|\bphonk\b", ("hip-hop",)),
    (r"lo-?fi", ("chill",)),
)

# Keywords matched on what is left after the phrases (stems allow inflected forms).
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\brap\b|\btrap\b", ("hip-hop",)),
    (r"jazz|jazzow|bebop|\bswing\b|\bbop\b", ("jazz",)),
    (r"blues", ("blues",)),
    (r"\bsoul\b", ("soul",)),
    (r"\bfunk", ("funk",)),
    (r"gospel", ("gospel",)),
    (r"reggaeton", ("reggaeton",)),
    (r"reggae|ragga", ("reggae",)),
    (r"dancehall", ("dancehall",)),
    (r"\bska\b", ("ska",)),
    (r"\bdub\b", ("dub",)),
    (r"salsa|mambo|bolero|timba", ("salsa",)),
    (r"merengue|bachata|cumbia|latin|latyn|tropical|tropikal|ranchera|mariachi|mexican|"
     r"meksyk|corrido|banda\b", ("latin",)),
    (r"samba", ("samba",)),
    (r"pagode", ("pagode",)),
    (r"forro", ("forro",)),
    (r"sertanejo", ("sertanejo",)),
    (r"\bmpb\b", ("mpb",)),
    (r"brazil|brazylij|brasil", ("brazil",)),
    (r"tango", ("tango",)),
    (r"flamenco|espanol|spanish|hiszpan", ("spanish",)),
    (r"french|francais|francusk|chanson|variete", ("french",)),
    (r"german|deutsch|niemieck", ("german",)),
    (r"swedish|szwedzk|svensk", ("swedish",)),
    (r"british|brytyjsk|\buk\b", ("british",)),
    (r"turkish|tureck|turk", ("turkish",)),
    (r"iranian|persian|iransk", ("iranian",)),
    (r"indian|bollywood|\bdesi\b|filmi|hindi", ("indian",)),
    (r"malay", ("malay",)),
    (r"cantopop", ("cantopop",)),
    (r"anime", ("anime",)),
    (r"classical|klasyczn|orchestr|orkiestr|baroque|barok|symphon|symfon|impresjon|"
     r"impression|chamber|kameraln|balet|ballet|koncert", ("classical",)),
    (r"piano|fortepian", ("piano",)),
    (r"country", ("country",)),
    (r"bluegrass", ("bluegrass",)),
    (r"\bfolk", ("folk",)),
    (r"rockabilly", ("rockabilly",)),
    (r"metalcore", ("metalcore",)),
    (r"\bmetal\b", ("metal",)),
    (r"\brock", ("rock",)),
    (r"\bpunk", ("punk",)),
    (r"\bemo\b", ("emo",)),
    (r"grunge", ("grunge",)),
    (r"\bgoth", ("goth",)),
    (r"industrial", ("industrial",)),
    (r"hardcore", ("hardcore",)),
    (r"hardstyle", ("hardstyle",)),
    (r"\bhouse\b", ("house",)),
    (r"techno", ("techno",)),
    (r"trance", ("trance",)),
    (r"\bedm\b", ("edm",)),
    (r"\belectro\b", ("electro",)),
    (r"electronic|elektroniczn|electronica", ("electronic",)),
    (r"dubstep", ("dubstep",)),
    (r"breakbeat|breaks\b", ("breakbeat",)),
    (r"\bidm\b", ("idm",)),
    (r"ambient", ("ambient",)),
    (r"\bchill", ("chill",)),
    (r"disco", ("disco",)),
    (r"\bdance\b|taneczn", ("dance",)),
    (r"\bclub\b", ("club",)),
    (r"\bpop\b", ("pop",)),
    (r"\bindie\b", ("indie",)),
    (r"alternative|alternatywn", ("alternative",)),
    (r"acoustic|akustyczn", ("acoustic",)),
    (r"\bsleep\b", ("sleep",)),
    (r"children|\bkids\b|dziec", ("children",)),
    (r"disney", ("disney",)),
    (r"comedy|komedi", ("comedy",)),
    (r"garage", ("garage",)),
    (r"afrobeat|afroswing|afropop", ("afrobeat",)),
    (r"soundtrack|sciezka dzwiekowa|filmow", ("pop-film",)),
    (r"doo-?wop|motown|quiet storm", ("soul",)),
    (r"europop|\bschlager", ("pop",)),
    (r"eurodance", ("dance",)),
    (r"gabber", ("hardcore",)),
    (r"darkwave|cold ?wave|deathrock", ("goth",)),
    (r"\btekno\b", ("techno",)),
    (r"dembow", ("reggaeton",)),
    (r"norteno|sierreno|\btrova\b", ("latin",)),
    (r"psychobilly", ("rockabilly",)),
    (r"choral|chorw|choraln|muzyka dawna|early music", ("classical",)),
    (r"\baxe\b", ("brazil",)),
    (r"\bfado\b|laiko|entehno|polka|iskelma", ("world-music",)),
    (r"new wave|nowa fala", ("synth-pop",)),
    (r"madchester", ("british",)),
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace("ł", "l").split())


class GenreMapper:
    """Turns Spotify genre strings into a distribution over the catalog's genres."""

    def __init__(self, catalog_genres: Iterable[str]) -> None:
        self.known = set(catalog_genres)
        self._phrases = [(re.compile(p), g) for p, g in PHRASES]
        self._keywords = [(re.compile(p), g) for p, g in KEYWORDS]
        self._cache: dict[str, tuple[str, ...]] = {}

    def map_one(self, text: str) -> tuple[str, ...]:
        """Catalog genres for one Spotify genre string (empty if none fits)."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        folded = _fold(text)
        exact = folded.replace(" ", "-")
        if exact in self.known:
            found: list[str] = [exact]
        else:
            found = []
            rest = folded
            for pattern, genres in self._phrases:
                if pattern.search(rest):
                    found.extend(genres)
                    rest = pattern.sub(" ", rest)
            for pattern, genres in self._keywords:
                if pattern.search(rest):
                    found.extend(genres)
        result = tuple(dict.fromkeys(g for g in found if g in self.known))
        self._cache[text] = result
        return result

    def distribution(self, genre_texts: Iterable[str]) -> dict[str, float]:
        """Each mapped genre string counts once, split evenly over its catalog genres."""
        weights: dict[str, float] = {}
        for text in genre_texts:
            mapped = self.map_one(text)
            for genre in mapped:
                weights[genre] = weights.get(genre, 0.0) + 1.0 / len(mapped)
        total = sum(weights.values())
        return {g: w / total for g, w in weights.items()} if total else {}
