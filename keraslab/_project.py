"""Project-wide settings kept in one place."""

# Where the course's repository lives: used by Colab badges and the Colab install cell.
REPOSITORY = "keraslab/keraslab"
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"
DEFAULT_BRANCH = "main"
