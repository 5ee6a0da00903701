"""The served mood model: a LiteRT flatbuffer, loaded once, safe to call from many threads.

LiteRT interpreters are not thread-safe, so each thread gets its own interpreter over the same
model bytes (``threading.local``); a few hundred kB per thread, no lock on the hot path.
TensorFlow is never imported here.

LiteRT's C++ side prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` straight to
the process's stderr (file descriptor 2, below Python's logging; ``TF_CPP_MIN_LOG_LEVEL`` does
not reach it) the first time an interpreter applies its default delegate. The first interpreter
is therefore built with fd 2 captured, and everything else it printed is passed on.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
from ai_edge_litert.interpreter import Interpreter

from moosic_core.errors import ModelMissing
from moosic_core.mood.emotions import EMOTIONS

FACE_SIZE = 48
#: Native stderr lines of LiteRT that say nothing to an operator.
NATIVE_NOISE = ("Created TensorFlow Lite XNNPACK delegate",)
_first_interpreter = threading.Lock()
_quieted = False


@contextlib.contextmanager
def _without_native_noise() -> Iterator[None]:
    """Capture fd 2 around the process's first interpreter; drop :data:`NATIVE_NOISE` lines.

    Only the first interpreter prints the delegate line (LiteRT logs it once per process), so
    later ones run with stderr untouched.
    """
    global _quieted
    with _first_interpreter:
        if _quieted:
            yield
            return
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                _quieted = True
                capture.seek(0)
                kept = [line for line in capture.read().decode("utf-8", "replace")
                        .splitlines(keepends=True) if not any(n in line for n in NATIVE_NOISE)]
                if kept:
                    sys.stderr.write("".join(kept))


class MoodModel:
    """7-class emotion probabilities for grey 48x48 faces (averaged over the test-time views
    inside the model: those recorded in metrics.json ``model.view_sides`` / ``view_mirror``,
    today the face and its mirror image)."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        try:
            blob = Path(path).read_bytes()
        except FileNotFoundError:
            raise ModelMissing("The face mood model has not been built yet "
                               "(run `moosic train face`).", detail=str(path)) from None
        self._load(blob, Path(path), num_threads)

    @classmethod
    def from_bytes(cls, blob: bytes, num_threads: int = 1) -> MoodModel:
        """A model held in memory (an artifact that is not, or no longer, on disk)."""
        model = cls.__new__(cls)
        model._load(blob, Path("(in memory)"), num_threads)
        return model

    def _load(self, blob: bytes, path: Path, num_threads: int) -> None:
        self._blob, self.path, self._num_threads = blob, path, num_threads
        self._local = threading.local()
        self._interpreter()  # fail early on a corrupt file
        # Serving calls from pool threads, each with its own interpreter: don't keep this
        # thread's (about 12 MB of RSS in a process that never predicts here).
        self._local = threading.local()

    @property
    def blob(self) -> bytes:
        """The flatbuffer's bytes."""
        return self._blob

    def _interpreter(self) -> Interpreter:
        interp: Interpreter | None = getattr(self._local, "interp", None)
        if interp is None:
            with _without_native_noise():
                interp = Interpreter(model_content=self._blob, num_threads=self._num_threads)
                interp.allocate_tensors()
            self._local.interp = interp
            self._local.batch = 1
            out = interp.get_output_details()[0]
            if int(out["shape"][-1]) != len(EMOTIONS):
                raise ModelMissing("The face mood model file is not a 7-emotion model.",
                                   detail=str(self.path))
        return interp

    def predict(self, faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Probabilities (n, 7) for faces (n, 48, 48) with grey values 0..255."""
        faces = np.asarray(faces)
        if faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"expected (n, 48, 48) faces, got {faces.shape}")
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        interp = self._interpreter()
        inp = interp.get_input_details()[0]
        out = interp.get_output_details()[0]
        if self._local.batch != len(faces):
            interp.resize_tensor_input(inp["index"], [len(faces), FACE_SIZE, FACE_SIZE, 1])
            interp.allocate_tensors()
            self._local.batch = len(faces)
        interp.set_tensor(inp["index"], faces.astype(np.float32)[..., None])
        interp.invoke()
        return np.array(interp.get_tensor(out["index"]), dtype=np.float32)
