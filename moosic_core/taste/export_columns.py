"""The column names playlist exporters write, in every language they offer, by meaning.

Exportify (watsonbox/exportify) names its CSV columns in the language its site is shown in:
``src/i18n/locales/<lang>/translation.json``, key ``track`` (read 2026-11 for ar, de, el, en, es,
fr, it, ja, nl, pt, sv, tr, yue-Hant-HK, zh-Hans, zh-Hant). :data:`EXPORTIFY_HEADERS` copies those
headers, one tuple per meaning in that language order. :data:`OTHER_HEADERS` adds the spellings of
other exporters: Exportify before its translations (``Genres``, ``Explicit?``), the exportify.net
fork (``Spotify ID``, ``Artist IDs``, ``Duration (ms)``), and generic tools (``title``,
``artist``, ``uri``; snake_case names become spaced ones through :func:`normalize_header`).

A header is matched after :func:`normalize_header` (Unicode NFKC, case, ``_``/``-``, spaces, a
byte-order mark, quotes), exactly, so that ``Album Artist Name(s)`` never passes for the track's
artists.
"""

from __future__ import annotations

import re
import unicodedata

#: Languages of :data:`EXPORTIFY_HEADERS`, in the order of each tuple.
LANGUAGES = ("en", "ar", "de", "el", "es", "fr", "it", "ja", "nl", "pt", "sv", "tr",
             "yue-Hant-HK", "zh-Hans", "zh-Hant")

#: meaning -> the header Exportify writes, per language of :data:`LANGUAGES`.
EXPORTIFY_HEADERS: dict[str, tuple[str, ...]] = {
    "track_uri": ("Track URI", "رابط الأغنية (URI)", "Track-URI", "URI κομματιού",
                  "URI de la canción", "URI du titre", "URI della traccia", "トラックURI",
                  "Nummer URI", "URI da faixa", "Låtens URI", "Parça URI", "歌 Link",
                  "曲目 URI", "曲目 URI"),
    "track_name": ("Track Name", "اسم الأغنية", "Track-Name", "Όνομα κομματιού",
                   "Nombre de la canción", "Nom du titre", "Nome della traccia", "トラック名",
                   "Nummernaam", "Nome da faixa", "Låtens namn", "Parça Adı", "歌名",
                   "曲目名称", "曲目名稱"),
    "artist_uris": ("Artist URI(s)", "روابط الفنانين (URI)", "Künstler-URI(s)",
                    "URI καλλιτέχνη/ων", "URI(s) del artista", "URI(s) de l'artiste",
                    "URI dell'artista", "アーティストURI", "Artiest-URI", "URI(s) do artista",
                    "Artistens URI", "Sanatçı URI", "Artist Link", "艺人 URI", "藝人 URI"),
    "artist_names": ("Artist Name(s)", "أسماء الفنانين", "Künstlername(n)", "Όνομα/τα καλλιτέχνη",
                     "Nombre(s) del artista", "Nom(s) de l'artiste", "Nome dell'artista",
                     "アーティスト名", "Naam van artiest", "Nome(s) do artista",
                     "Artistens namn", "Sanatçı Adı", "Artist 名", "艺人名称", "藝人名稱"),
    "genres": ("Artist Genres", "أنواع الفنان", "Künstler-Genres", "Είδη καλλιτέχνη",
               "Géneros del artista", "Genres de l'artiste", "Generi dell'artista",
               "アーティストジャンル", "Genres van de artiest", "Gêneros do artista",
               "Artistens genrer", "Sanatçı Türleri", "藝人曲風", "艺人流派", "藝人曲風"),
    "duration_ms": ("Track Duration (ms)", "مدة الأغنية (بالمللي ثانية)", "Track-Dauer (ms)",
                    "Διάρκεια κομματιού (ms)", "Duración de la canción (ms)",
                    "Durée du titre (ms)", "Durata della traccia (ms)", "トラックの長さ（ミリ秒）",
                    "Nummerduur (ms)", "Duração da faixa (ms)", "Låtlängd (ms)",
                    "Parça Süresi (ms)", "曲目時長（毫秒）", "曲目时长（毫秒）",
                    "曲目長度（毫秒）"),
    "popularity": ("Popularity", "الشعبية", "Beliebtheit", "Δημοτικότητα", "Popularidad",
                   "Popularité", "Popolarità", "人気度", "Populariteit", "Popularidade",
                   "Popularitet", "Popülerlik", "熱門度", "热度", "熱門度"),
    "explicit": ("Explicit", "صريح", "Explizit", "Ακατάλληλο", "Explícito", "Explicite",
                 "Esplicito", "明示的な内容", "Expliciet", "Explícita", "Explicit", "Açık İçerik",
                 "家長指引", "含露骨内容", "含露骨內容"),
    "danceability": ("Danceability", "قابلية الرقص", "Tanzbarkeit", "Χορευτικότητα",
                     "Bailabilidad", "Danseabilité", "Ballabilità", "ダンサビリティ",
                     "Dansbaarheid", "Dançabilidade", "Dansbarhet", "Dans Edilebilirlik",
                     "舞蹈性", "舞蹈性", "舞蹈性"),
    "energy": ("Energy", "الطاقة", "Energie", "Ενέργεια", "Energía", "Énergie", "Energia",
               "エネルギー", "Energie", "Energia", "Energi", "Enerji", "能量", "能量", "能量"),
    "key": ("Key", "المفتاح", "Tonart", "Τονικότητα", "Tonalidad", "Tonalité", "Chiave", "キー",
            "Toonsoort", "Tonalidade", "Tonart", "Ton", "調性", "调性", "調性"),
    "loudness": ("Loudness", "مستوى الصوت", "Lautstärke", "Ένταση", "Volumen", "Volume sonore",
                 "Volume", "ラウドネス", "Luidheid", "Volume", "Ljudstyrka", "Ses Seviyesi",
                 "響度", "响度", "響度"),
    "mode": ("Mode", "النمط", "Modus", "Τρόπος", "Modo", "Mode", "Modalità", "モード", "Modus",
             "Modo", "Läge", "Mod", "調式", "调式", "調式"),
    "speechiness": ("Speechiness", "محتوى الكلام", "Sprachanteil", "Ομιλητικότητα", "Hablado",
                    "Parlabilité", "Linguaggio parlato", "スピーチ性", "Spraakzaamheid",
                    "Oralidade", "Talighet", "Konuşma Oranı", "語音度", "语音度", "語音度"),
    "acousticness": ("Acousticness", "الطابع الصوتي", "Akustik", "Ακουστικότητα", "Acústica",
                     "Acoustique", "Acustica", "アコースティック性", "Akoestiek", "Acústica",
                     "Akustik", "Akustiklik", "原音性", "原声性", "原音性"),
    "instrumentalness": ("Instrumentalness", "الطابع الآلي", "Instrumentalität",
                         "Οργανοκεντρικότητα", "Instrumentalidad", "Instrumental",
                         "Strumentalità", "インストゥルメンタル性", "Instrumentaliteit",
                         "Instrumentalidade", "Instrumentalhet", "Enstrümantalite", "器樂度",
                         "器乐度", "器樂度"),
    "liveness": ("Liveness", "الحيوية", "Lebendigkeit", "Ζωντάνια", "Vivacidad", "Vivacité",
                 "Vivacità", "ライブ感", "Levendigheid", "Vivacidade", "Livlighet", "Canlılık",
                 "現場感", "现场感", "現場感"),
    "valence": ("Valence", "الإيجابية", "Valenz", "Θετικότητα", "Valencia", "Valence",
                "Valenza", "感情値", "Valentie", "Valência", "Valens", "Duygusallık", "情緒效價",
                "情绪效价", "情緒效價"),
    "tempo": ("Tempo", "الإيقاع", "Tempo", "Ρυθμός", "Tempo", "Tempo", "Tempo", "テンポ", "Tempo",
              "Tempo", "Tempo", "Tempo", "速度", "速度", "速度"),
    "time_signature": ("Time Signature", "توقيع الزمن", "Taktart", "Μέτρο", "Compás", "Mesure",
                       "Battuta", "拍子", "Maatstreep", "Compasso", "Taktart", "Ölçü İşareti",
                       "拍號", "拍号", "拍號"),
}

#: meaning -> spellings of other exporters (and of Exportify before it was translated).
OTHER_HEADERS: dict[str, tuple[str, ...]] = {
    "track_uri": ("Spotify ID", "Track ID", "URI", "Spotify URI", "Track URL", "Spotify URL",
                  "ID"),
    "track_name": ("Name", "Title", "Track", "Song", "Song Name", "Track Title", "Song Title"),
    "artist_uris": ("Artist IDs", "Artist ID(s)", "Artist URIs", "Artist ID"),
    "artist_names": ("Artist Names", "Artists", "Artist", "Artist Name"),
    "genres": ("Genres", "Genre"),
    "duration_ms": ("Duration (ms)", "Duration ms", "Duration"),
    "explicit": ("Explicit?",),
}

#: The meanings a playlist file cannot do without.
REQUIRED = ("track_name", "artist_names")
AUDIO_FEATURES = ("danceability", "energy", "key", "loudness", "mode", "speechiness",
                  "acousticness", "instrumentalness", "liveness", "valence", "tempo",
                  "time_signature")

_SPACES = re.compile(r"[\s_\-]+")
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\"'`"))


def normalize_header(header: str) -> str:
    """A header as it is matched: NFKC (full-width ``（`` -> ``(``), case-folded, without a
    byte-order mark, quotes or zero-width characters, ``_`` and ``-`` read as spaces, spaces
    collapsed. ``"\\ufeffTrack_URI "`` -> ``"track uri"``."""
    text = unicodedata.normalize("NFKC", header).translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip().casefold()


def _index() -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    for meaning, headers in EXPORTIFY_HEADERS.items():
        for language, header in zip(LANGUAGES, headers, strict=True):
            index.setdefault(normalize_header(header), (meaning, language))
    for meaning, headers in OTHER_HEADERS.items():
        for header in headers:
            index.setdefault(normalize_header(header), (meaning, ""))
    return index


#: normalised header -> (meaning, Exportify language or "" for other exporters).
HEADER_INDEX = _index()


def meaning_of(header: str) -> tuple[str, str] | None:
    """(meaning, language) of a column header, or None when it means nothing we read."""
    return HEADER_INDEX.get(normalize_header(header))


def expected_headers(language: str = "en") -> tuple[str, str]:
    """The track-name and artist-names headers in an Exportify language (English if unknown),
    for telling a user which columns their file needs."""
    i = LANGUAGES.index(language) if language in LANGUAGES else 0
    return EXPORTIFY_HEADERS["track_name"][i], EXPORTIFY_HEADERS["artist_names"][i]
