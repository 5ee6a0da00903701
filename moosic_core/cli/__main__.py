"""``python -m moosic_core.cli`` runs the ``moosic`` command."""

import sys

from moosic_core.cli import main

sys.exit(main())
