import sys

from mathmind.cli import main

sys.exit(main())
