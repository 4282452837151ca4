import sys

from keraslab.cli import main

sys.exit(main())
