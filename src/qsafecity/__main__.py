"""Allows ``python -m qsafecity``, the same as the ``qsafecity`` console command."""

from qsafecity.cli import main

if __name__ == "__main__":
    main()
