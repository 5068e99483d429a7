"""The ``talk2face`` command: one entry point for inspecting a corpus, training, generating and evaluating.

Each command owns its parser: ``build`` is beam_runner.py (the entry Beam users expect, run the
same way by ``talk2face build``); ``inspect`` is pipeline/inspect/cli.py; ``train``, ``generate`` and
``evaluate`` hand their arguments to the model's ``main(argv)``. Nothing heavy is imported here:
a command's module is imported only when it is asked for, so ``talk2face inspect`` never loads
Apache Beam or torch. Every command returns its exit status: 0 success, 1 a check failed, 2 bad
usage or unusable input.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "build": ("beam_runner", "build the corpus with Apache Beam (the same as `python beam_runner.py ...`)"),
    "inspect": ("pipeline.inspect.cli", "summary, samples, contact sheet, validation or HTML report of a built corpus"),
    "train": ("model.train.trainer", "train the model from shards"),
    "generate": ("model.infer.cli", "run an inference template (text to face, face to caption, analysis)"),
    "evaluate": ("model.evaluate.cli", "score a trained model on the held-out split"),
}

USAGE = "usage: talk2face COMMAND [ARGS]\n\ncommands:\n" + "".join(
    f"  {name + (' OUT' if name == 'inspect' else ''):<13} {what}\n" for name, (_, what) in COMMANDS.items()
) + "\nRun `talk2face COMMAND --help` for a command's options."


def main(argv: Sequence[str] | None = None) -> int:
    """The ``talk2face`` console entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"talk2face: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    status = importlib.import_module(COMMANDS[command][0]).main(rest)
    return int(status) if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
