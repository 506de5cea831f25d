"""envcheck's CLI with ``preflight`` and ``compare`` registered, for tests and torchrun.

Equivalent to ``python -m envcheck`` once envcheck.cli registers the commands itself (then the
add_command calls below change nothing). Run as a script: ``python _cli.py preflight ...``.
"""

from envcheck import cli, cli_preflight

for command in (cli_preflight.preflight, cli_preflight.compare):
    if command.name not in cli.cli.commands:
        cli.cli.add_command(command)

if __name__ == "__main__":
    cli.main()
