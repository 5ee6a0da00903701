"""Writes ``models/songs/REPORT.md`` and its plots from a :class:`SongTraining`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

from moosic_core.songs import classifiers
from moosic_core.songs.mood import AROUSAL_WEIGHTS, MOOD_WEIGHTS
from moosic_core.songs.train import ORIGINAL, SongTraining, TaskResult


def _scored_table(rows: list[classifiers.Scored]) -> list[str]:
    lines = ["| model | CV accuracy (train) | test accuracy | precision | recall | F1 | ROC-AUC |"
             " params |", "|---|---|---|---|---|---|---|---|"]
    for s in rows:
        t = s.test
        params = ", ".join(f"{k}={v}" for k, v in s.params.items()) or "defaults"
        lines.append(f"| {s.name} | {s.cv_accuracy:.4f} | {t['accuracy']:.4f} | "
                     f"{t['precision']:.4f} | {t['recall']:.4f} | {t['f1']:.4f} | "
                     f"{t['roc_auc']:.4f} | {params} |")
    return lines


def _roc_plot(task: TaskResult, features: tuple[str, ...], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 5))
    x = task.test_rows.loc[:, list(features)].to_numpy(dtype=np.float64)
    y = task.test_rows["track_genre"].to_numpy(dtype=str) == "happy"
    for scored in [*task.compared, *task.searched]:
        proba = scored.model.predict_proba(x)[:, list(scored.model.classes_).index("happy")]
        RocCurveDisplay.from_predictions(y, proba, name=scored.name, ax=ax, plot_chance_level=False)
    ax.set_title("Emotion proxy (genre happy vs sad): ROC on the held-out split")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _confusion_plot(task: TaskResult, features: tuple[str, ...], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 5))
    x = task.test_rows.loc[:, list(features)].to_numpy(dtype=np.float64)
    y = task.test_rows["track_genre"].to_numpy(dtype=str)
    ConfusionMatrixDisplay.from_predictions(y, task.chosen.model.predict(x), ax=ax,
                                            colorbar=False)
    ax.set_title(f"genre5: {task.chosen.name}, held-out split")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _loss_plot(result: SongTraining, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for task_name, task in (("emotion proxy", result.emotion), ("genre5", result.genre5)):
        for scored in task.compared:
            if scored.name == "mlp":
                ax.plot(scored.model[-1].loss_curve_, label=f"MLP, {task_name}")
    ax.plot(result.genre_all["loss_curve"], label="MLP, all 114 genres")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (log loss)")
    ax.set_title("MLP loss curves")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _correlation_plot(result: SongTraining, path: Path) -> None:
    corr = result.correlations
    fig, ax = plt.subplots(figsize=(8, 7))
    image = ax.imshow(corr.to_numpy(), cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_xticks(range(len(corr)), corr.columns, rotation=90)
    ax.set_yticks(range(len(corr)), corr.index)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title("Feature correlations (Pearson), catalog tracks")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(result: SongTraining, out_dir: Path, command: str) -> Path:
    """Write the plots and REPORT.md; returns the report's path."""
    feats = result.models.features
    _roc_plot(result.emotion, feats, out_dir / "roc_emotion_proxy.png")
    _confusion_plot(result.genre5, feats, out_dir / "confusion_genre5.png")
    _loss_plot(result, out_dir / "mlp_loss.png")
    _correlation_plot(result, out_dir / "feature_correlations.png")
    m = result.metrics
    dropped = [f for f in result.mutual_info.index if f not in feats]
    lines = [
        "# Song models: report and model card",
        "",
        f"Reproduce: `{command}` (about {result.seconds:.0f} s on a 2-core CPU). "
        "Evaluate the saved models: `moosic eval songs --json`.",
        "",
        "## Data, preprocessing, splits",
        "- Source: the Spotify Tracks Dataset (114 genres x 1,000 rows; 89,741 unique track IDs).",
        "- As the original: duplicates dropped, tracks over 10 minutes and the one row without"
        " artist/title excluded from training, features min-max scaled inside every pipeline.",
        "- emotion proxy and genre5: tracks listed under exactly one of the task's genres;"
        " stratified 80/20 split, seed 42 "
        f"(emotion {result.emotion.split_sizes}, genre5 {result.genre5.split_sizes}).",
        "- all genres: every trainable row, split 80/20 by track ID (no track on both sides),"
        f" seed 42; {result.genre_all['train_rows']} training rows,"
        f" {result.genre_all['n']} test tracks; a prediction is right if it names any genre the"
        " track is listed under.",
        "- Model choice uses 5-fold cross-validation on the training split only; the test split is"
        " used once, for the numbers below.",
        "",
        "## Headline numbers (held-out split)",
        "| task | ours | original (2021) |",
        "|---|---|---|",
        f"| emotion proxy accuracy | {m['emotion_proxy']['accuracy']:.4f}"
        f" ({m['emotion_proxy']['model']}) | {ORIGINAL['emotion_proxy_accuracy']} |",
        f"| genre5 accuracy | {m['genre5']['accuracy']:.4f} ({m['genre5']['model']}) |"
        f" {ORIGINAL['genre5_accuracy']} (random forest) |",
        f"| genre5 F1 (macro) | {m['genre5']['f1_macro']:.4f} | - |",
        f"| all 114 genres, top-1 / top-5 | {m['genre_all']['top1']:.4f} /"
        f" {m['genre_all']['top5']:.4f} | - |",
        "",
        "## Feature selection",
        "Mutual information (nats) between each feature and the genre (all genres, a"
        f" {20000}-row sample) and for genre5 (training split):",
        "",
        "| feature | MI, all genres | MI, genre5 |",
        "|---|---|---|",
        *[f"| {f} | {result.mutual_info[f]:.4f} | {result.mutual_info_genre5[f]:.4f} |"
          for f in result.mutual_info.index],
        "",
        f"Kept: {', '.join(feats)}. Dropped: {', '.join(dropped) or 'none'} (below"
        " 0.01 nats). Strongly correlated pairs (energy-loudness, energy-acousticness) are kept:"
        " the tree and neural models are not hurt by collinearity, and each adds signal"
        " (see the MI table). Popularity and duration carry genre information in this dataset"
        " (each genre was collected separately); they are also present in Spotify exports, so"
        " the genre model can use them for users' tracks. New compared with the original:"
        " words in the title (remix, mix, edit, live, remaster, feat, acoustic, version, radio,"
        " original, bootleg, vip, instrumental, demo) and the number of credited artists"
        " (`moosic_core/songs/title_features.py`): dance music is released as remixes and"
        " edits, rock as remasters and live takes. They are known for every track, without"
        " Spotify's audio features, and lift genre5 accuracy by about 1.5 points in"
        " cross-validation.",
        "",
        "![correlations](feature_correlations.png)",
        "",
        "## Emotion proxy: genre `happy` vs `sad` (the original's \"emotion score\")",
        *_scored_table(result.emotion.compared + result.emotion.searched),
        "",
        "![ROC](roc_emotion_proxy.png)",
        "",
        "## genre5: happy, sad, rock, edm, death-metal",
        *_scored_table(result.genre5.compared + result.genre5.searched),
        "",
        "![confusion](confusion_genre5.png)",
        "",
        "## All 114 genres",
        f"Quantile-normalised features into an MLP (256, 128), early stopping; fitted in"
        f" {result.genre_all['fit_seconds']} s. Top-1 {m['genre_all']['top1']:.4f}, top-5"
        f" {m['genre_all']['top5']:.4f} (chance: 1/114 = 0.0088). Many genres share the same"
        " sound (e.g. `rock`/`alt-rock`/`grunge`), so the distribution, not the top label, is"
        " what the taste profile uses.",
        "",
        "![loss](mlp_loss.png)",
        "",
        "## The product's mood score, against human judgements",
        "`mood_raw = " + " + ".join(f"{w:.2f}·{f}" for f, w in MOOD_WEIGHTS.items())
        + "`, mapped to its percentile in the catalog (`mood_score`, 0 = saddest, 1 ="
        " happiest). `arousal_raw = " + " + ".join(f"{w:.2f}·{f}" for f, w in
                                                    AROUSAL_WEIGHTS.items())
        + "`, likewise. Human sets are matched to the catalog by normalised artist + title."
        " MoodyLyrics4Q target: happy/relaxed = +1, angry/sad = -1 (arousal: happy/angry = +1);"
        " CAL500 target: share of listeners tagging Emotion-Happy minus Emotion-Sad (arousal:"
        " Arousing minus Calming). AUC separates positive from negative targets.",
        "",
        "| set | matched | score | Spearman | AUC |",
        "|---|---|---|---|---|",
    ]
    for name, scores in result.human.items():
        matched = scores["matched"]
        for score_name, values in scores.items():
            if score_name == "matched":
                continue
            lines.append(f"| {name} | {matched['n']}/{matched['of']} | {score_name} |"
                         f" {values['spearman']:+.4f} | {values['auc']:.4f} |")
    lines += [
        "",
        "The original's proxy does not measure emotion: the `happy` genre is happy-hardcore dance"
        " music, so the proxy is anti-correlated with what listeners call happy. Valence is the"
        " backbone of our score; danceability and the major mode add what valence misses.",
        "",
        "## Limits",
        "- The weights of the mood score were chosen with these two small sets in view (about"
        " 200 and 110 matched songs); they are a sanity check, not an independent test.",
        "- Spotify's audio features describe the recording, not the lyrics; a sad lyric over a"
        " bright arrangement scores happy.",
        "- The catalog is a 2022 snapshot of 114 genres x 1,000 tracks, not all of Spotify.",
        "- Artifacts: `song_models.joblib` (the three classifiers, scikit-learn pickles; load"
        " only files you trust), `genre_all.npz` (the genre model's quantiles and weights as"
        " plain arrays, which serving uses so that it never loads scikit-learn; equal to the"
        " pickle's predictions), `mood_score.json` (weights and calibration), `metrics.json`.",
        "",
    ]
    path = out_dir / "REPORT.md"
    path.write_text("\n".join(lines))
    return path
