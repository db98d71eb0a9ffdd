"""Create the app's database, the one DATABASE_URL names, when it does not exist yet:

    uv run python -m src.create_database

(src/_template/create_database.py says how.)
"""

import sys

from src._template.create_database import main

if __name__ == "__main__":
    sys.exit(main())
