"""Train face-model members on an accelerator machine: Keras on JAX, no TensorFlow, no dataset.

Such a machine (see DESIGN.md) has JAX but no TensorFlow, cannot download, and takes a working
tree of at most 64 MiB. Two commands bridge that:

- ``pack`` (here): FER-2013 in one ``.npz`` small enough to travel. Every FER-2013 JPEG starts
  with the same 328-byte header (quantisation and Huffman tables, size), so the pack stores that
  header once and each image's remaining bytes; joined again, the bytes and so the pixels are
  exactly the original ones (about 55 MB instead of 66 MB of files).
- ``train`` (there, with ``KERAS_BACKEND=jax``): :func:`~moosic_core.training.face.train_members`
  on the packed data, writing ``members/<name>.npz`` and ``metrics.json`` entries in the layout
  of ``models/face``.
- ``import`` (here): copies those members into ``models/face``. Then ``moosic train face
  --members ... --reuse`` with them listed reuses them, adds their LiteRT size and latency, ranks
  them on validation and exports the served model.
"""

from __future__ import annotations

import argparse
import io
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moosic_core.mood.fer import SPLITS, face_pixels, split_files

log = logging.getLogger(__name__)

_START_OF_SCAN = b"\xff\xda"


def _header(blob: bytes) -> bytes:
    """The JPEG's bytes up to the end of its start-of-scan segment (b"" if there is none)."""
    at = blob.find(_START_OF_SCAN)
    if at < 0:
        return b""
    return blob[:at + 2 + int.from_bytes(blob[at + 2:at + 4], "big")]


def pack_fer(fer_dir: Path, path: Path) -> int:
    """Write every split of ``fer_dir`` to one ``.npz`` at ``path``; returns its size in bytes.

    Per split: ``<split>_header`` (the header most files share), ``<split>_data`` (all images'
    bytes, each without the shared header where it has it), ``<split>_offsets``,
    ``<split>_shared`` (whether the image had the shared header) and ``<split>_labels``."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    for split in SPLITS:
        files = split_files(fer_dir, split)
        blobs = [p.read_bytes() for p, _ in files]
        headers = [_header(b) for b in blobs]
        shared = max(set(headers), key=headers.count) if headers else b""
        has = np.array([bool(shared) and h == shared for h in headers], bool)
        rest = [b[len(shared):] if h else b for b, h in zip(blobs, has, strict=True)]
        arrays[f"{split}_header"] = np.frombuffer(shared, np.uint8)
        arrays[f"{split}_data"] = np.frombuffer(b"".join(rest), np.uint8)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(r) for r in rest]).astype(np.int64)
        arrays[f"{split}_shared"] = has
        arrays[f"{split}_labels"] = np.array([label for _, label in files], np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
    return path.stat().st_size


def load_pack(path: Path) -> dict[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]]:
    """The splits of a pack as :func:`moosic_core.mood.fer.load_split` returns them."""
    out = {}
    with np.load(path) as npz:
        for split in SPLITS:
            header = npz[f"{split}_header"].tobytes()
            data, offsets = npz[f"{split}_data"].tobytes(), npz[f"{split}_offsets"]
            faces = [face_pixels(io.BytesIO((header if shared else b"") + data[a:b]))
                     for a, b, shared in zip(offsets[:-1], offsets[1:], npz[f"{split}_shared"],
                                             strict=True)]
            out[split] = (np.stack(faces), npz[f"{split}_labels"])
    return out


def import_members(source: Path, face_dir: Path) -> list[str]:
    """Copy the members a ``train`` run left in ``source`` (weights and ``metrics.json``
    entries) into ``face_dir``; returns their names. A member ``face_dir`` already has is
    replaced."""
    from moosic_core.training.face import (
        member_weights_path,
        read_metrics,
        write_metrics,
    )

    entries = read_metrics(source).get("members", {})
    metrics = read_metrics(face_dir)
    for name, entry in entries.items():
        target = member_weights_path(face_dir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(member_weights_path(source, name), target)
        metrics.setdefault("members", {})[name] = entry
    write_metrics(face_dir, metrics)
    return list(entries)


def _train(args: argparse.Namespace) -> int:
    from moosic_core.training.checkpoint import TrainingPaused
    from moosic_core.training.face import train_members
    from moosic_core.training.members import parse_members

    deadline = time.monotonic() + 60.0 * args.minutes
    data = load_pack(args.pack)
    members = parse_members(args.members)
    try:
        train_members(data, args.out_dir, None, members,
                      batch=args.batch, reuse=True, deadline=deadline)
    except TrainingPaused as paused:
        log.warning("%s", paused)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moosic_core.training.face_accelerator",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pack = sub.add_parser("pack", help="pack FER-2013 into one .npz (here)")
    pack.add_argument("--fer-dir", type=Path, required=True)
    pack.add_argument("--out", type=Path, required=True)
    train = sub.add_parser("train", help="train members from a pack (on the accelerator)")
    train.add_argument("--pack", type=Path, required=True)
    train.add_argument("--out-dir", type=Path, required=True)
    train.add_argument("--members", required=True, help="as for `moosic train face --members`")
    train.add_argument("--batch", type=int, default=128)
    train.add_argument("--minutes", type=float, default=8.0,
                       help="stop before this many minutes (unfinished members are dropped)")
    imp = sub.add_parser("import", help="copy trained members into models/face (here)")
    imp.add_argument("--from", dest="source", type=Path, required=True,
                     help="a `train` --out-dir")
    imp.add_argument("--face-dir", type=Path, default=Path("models/face"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.command == "pack":
        size = pack_fer(args.fer_dir, args.out)
        print(f"wrote {args.out} ({size / 1e6:.1f} MB)")
        return 0
    if args.command == "import":
        names = import_members(args.source, args.face_dir)
        print(f"imported {', '.join(names) or 'no members'} into {args.face_dir}")
        return 0
    return _train(args)


if __name__ == "__main__":
    sys.exit(main())
