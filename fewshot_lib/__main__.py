"""`python -m fewshot_lib` is the `fewshot` command."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
