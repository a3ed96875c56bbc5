"""python -m pyseq: the command line (see pyseq/cli.py)."""
import sys

from .cli import main

sys.exit(main())
