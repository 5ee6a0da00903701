"""The datasets the project reads (never commits), and the error that says how to get one.

Every "dataset missing" error names the dataset, where to download it and the config key that
points at it, so an operator can fix it without reading the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moosic_core.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """A public dataset: its name and citation, where to get it, and its config key."""

    name: str
    download: str
    config_key: str
    licence: str

    @property
    def env_var(self) -> str:
        """The environment variable that sets :attr:`config_key` (``MOOSIC_<SECTION>_<KEY>``)."""
        return "MOOSIC_" + self.config_key.replace(".", "_").upper()


SPOTIFY_TRACKS = Dataset(
    name="the Spotify Tracks Dataset (Maharshi Pandya 2022, doi:10.34740/KAGGLE/DSV/4372070)",
    download=("https://www.kaggle.com/datasets/maharshipandya/-spotify-tracks-dataset or "
              "https://huggingface.co/datasets/maharshipandya/spotify-tracks-dataset "
              "(the file dataset.csv)"),
    config_key="data.catalog_source", licence="ODbL 1.0")
FER2013 = Dataset(
    name="FER-2013 (Goodfellow et al. 2013) as train/, validation/, test/ image folders",
    download="https://www.kaggle.com/datasets/msambare/fer2013",
    config_key="data.fer2013_dir", licence="research use")
SONG_EMOTION = Dataset(
    name="MoodyLyrics4Q (Cano & Morisio 2017) and CAL500 (Turnbull et al. 2007)",
    download=("the authors' pages: MoodyLyrics4Q.csv and cal500/softAnnotations.txt "
              "(http://calab1.ucsd.edu/~datasets/cal500/)"),
    config_key="data.song_emotion_dir", licence="research use")
PLAYLISTS = Dataset(
    name="example playlist exports (Exportify CSV)",
    download="https://exportify.app (export your own Spotify playlists)",
    config_key="data.playlists_dir", licence="your own data")


def dataset_missing(dataset: Dataset, path: Path, what: str = "") -> DataError:
    """The error for a dataset that is not at ``path`` (``what`` names the missing part)."""
    missing = f"{what} of {dataset.name}" if what else dataset.name
    return DataError(
        f"{missing[0].upper()}{missing[1:]} is not at {path}. Download it from "
        f"{dataset.download} ({dataset.licence}) and set {dataset.config_key} in config.toml "
        f"(or {dataset.env_var}) to where it is.")
