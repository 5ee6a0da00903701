"""``moosic eval songs``: the saved models, re-evaluated on the held-out splits."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def evaluation(request):
    from moosic_core.config import load_config
    from moosic_core.songs.evaluate import evaluate_songs

    config = load_config(env={})
    return evaluate_songs(config.data.catalog_source, config.data.song_emotion_dir,
                          config.paths.models_dir / "songs")


def test_emotion_proxy_reaches_the_bar(evaluation) -> None:
    assert evaluation["emotion_proxy"]["accuracy"] >= 0.975
    assert evaluation["emotion_proxy"]["roc_auc"] >= 0.99


def test_genre5_beats_the_original_clearly(evaluation) -> None:
    assert evaluation["genre5"]["accuracy"] >= 0.92  # the original: 0.8093
    assert evaluation["genre5"]["f1_macro"] >= 0.90


def test_all_genre_model_is_far_above_chance(evaluation) -> None:
    assert evaluation["genre_all"]["top1"] > 0.25  # chance is 1/114
    assert evaluation["genre_all"]["top5"] > evaluation["genre_all"]["top1"] + 0.2


def test_mood_score_beats_valence_on_human_judgements(evaluation) -> None:
    mood = evaluation["mood_score"]
    for name in ("moodylyrics4q", "cal500"):
        assert mood[f"{name}_spearman"] > mood[f"{name}_valence_spearman"] > 0.3
        # The original's proxy does not track human judgements.
        assert mood[f"{name}_emotion_proxy_spearman"] < 0.2


def test_eval_cli_prints_one_json_document(moosic) -> None:
    code, data, stderr = moosic("eval", "songs", "--json")
    assert code == 0, stderr
    assert set(data) >= {"emotion_proxy", "genre5", "genre_all", "mood_score"}
    assert {"accuracy", "f1", "roc_auc"} <= set(data["emotion_proxy"])
    assert {"moodylyrics4q_spearman", "cal500_spearman"} <= set(data["mood_score"])
