"""``python -m tfkmeans``: the same as the ``tfkmeans`` command."""

import sys

from .cli import main

sys.exit(main())
