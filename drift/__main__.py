from drift.cli import cli

cli(prog_name="python -m drift")
