"""Commands on enterprise data: validate, template, generate."""

import click

COMMANDS: list[click.Command] = []
