"""``python -m disttorch.launch -n N [options] [-m module | script.py] [args...]``."""
import sys

from .run import main

sys.exit(main())
