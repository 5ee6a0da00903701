"""Which networks make up the served face model (no TensorFlow: the CLI parses this).

The served model is the mean of the 7-class probabilities of a few independently trained
networks (an ensemble). Each member is named by its architecture and random seed and trained
with the two-stage schedule of :func:`moosic_core.training.face.train_face`, optionally
followed by a third stage that averages its weights over a few more epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

from moosic_core.errors import DataError
from moosic_core.mood.card import ARCH_LABELS

# Epochs of (stage 1 from scratch, stage 2 with the happy-vs-sad term) unless a member says.
DEFAULT_SCHEDULE = (20, 24)

# The candidates the served model was chosen from (moosic train face picks the served ones).
# Earlier rounds' other candidates are listed in metrics.json; their weights were never kept.
DEFAULT_MEMBERS = ("compact_wide:7:40+20+3,compact:13:24+30+3,compact:23:24+30+3,"
                   "vgg16_style:29:20+24+3,compact:53:24+30+3,compact_wide:31:40+20+3,"
                   "compact_wide:37:40+20+3,compact_wide:41:40+20+3,compact_wide:43:40+20+3,"
                   "vgg16_style:97:20+24+3,compact:79:24+30+3,compact:137:24+30+3,"
                   "compact:139:24+30+3,compact:149:24+30+3,compact:151:24+30+3,"
                   "compact:157:24+30+3,compact:163:24+30+3")

# How greedy selection compares ensembles on validation (the functions are in
# moosic_core.training.ensemble.SELECTION_KEYS; the names are here for the CLI): the first is
# the default.
SELECTION_KEY_NAMES = ("accuracy", "log-loss")

# The served model's time per face on one CPU thread, the bound of ``moosic train
# face-frontier``'s choice (the face issue's target, issue 29; see
# moosic_core.training.frontier).
LATENCY_BUDGET_MS = 5.0
# How the frontier compares its points within the budget on validation: the 7-class log-loss,
# the key that chose better held out in the split-half study on validation (``moosic eval
# face-selection``, metrics.json["selection_study"]); happy-vs-sad accuracy differs between the
# points by a few faces of 1,548, within its noise.
FRONTIER_KEY = "log-loss"


@dataclass(frozen=True)
class Member:
    """One network of the ensemble: architecture, seed and the epochs of its stages (the
    third, weight averaging, only when ``average_epochs`` > 0)."""

    arch: str
    seed: int
    epochs: int
    finetune_epochs: int
    average_epochs: int = 0

    @property
    def name(self) -> str:
        return f"{self.arch}-seed{self.seed}"

    @property
    def spec(self) -> str:
        """The member as ``--members`` takes it: ``compact:7:24+30``, ``compact:7:24+30+4``."""
        average = f"+{self.average_epochs}" if self.average_epochs else ""
        return f"{self.arch}:{self.seed}:{self.epochs}+{self.finetune_epochs}{average}"


def _bad(item: str) -> DataError:
    return DataError(f"Cannot read the ensemble member {item!r}: expected ARCH:SEED, "
                     f"ARCH:SEED:EPOCHS+FINETUNE_EPOCHS or "
                     f"ARCH:SEED:EPOCHS+FINETUNE_EPOCHS+AVERAGE_EPOCHS with ARCH one of "
                     f"{', '.join(ARCH_LABELS)}, e.g. compact:7, compact:7:24+30 or "
                     f"compact:7:24+30+4.")


def parse_members(spec: str, epochs: int | None = None, finetune_epochs: int | None = None
                  ) -> list[Member]:
    """``"compact:7:24+30,vgg16_style:11,compact:13:24+30+4"`` -> members.
    ``epochs``/``finetune_epochs`` override every member's first two stages (default: the
    member's own, else :data:`DEFAULT_SCHEDULE`); the averaging stage is only the member's."""
    members: list[Member] = []
    for item in (part.strip() for part in spec.split(",")):
        arch, _, rest = item.partition(":")
        seed_text, _, schedule = rest.partition(":")
        stage_texts = schedule.split("+") if schedule else []
        numbers = [seed_text, *stage_texts]
        if (arch not in ARCH_LABELS or len(stage_texts) not in (0, 2, 3)
                or not all(n.isdigit() for n in numbers)):
            raise _bad(item)
        stage1, stage2, average = ((*map(int, stage_texts), 0)[:3] if stage_texts
                                   else (*DEFAULT_SCHEDULE, 0))
        member = Member(arch, int(seed_text), stage1 if epochs is None else epochs,
                        stage2 if finetune_epochs is None else finetune_epochs, average)
        if any(m.name == member.name for m in members):
            raise DataError(f"The ensemble member {member.name} is listed twice.")
        members.append(member)
    return members
