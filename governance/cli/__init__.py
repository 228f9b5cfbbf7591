"""The `govern` command line: each verb parses options, calls one library function, renders, exits.

Exit codes everywhere: 0 success, 1 problems found (errors, failed tests, flips with
`--fail-on-grant`, files to format), 2 usage error (bad option, missing path, unreadable input).
Each group of verbs lives in its own module here and is registered below.
"""

from __future__ import annotations

import click

from governance.cli import audit, bundle, gateway, policy, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="govern-mesh")
def main() -> None:
    """govern: federated access, classification and retention for data mesh platforms."""


for _command in [
    *policy.COMMANDS,
    *bundle.COMMANDS,
    *audit.COMMANDS,
    *gateway.COMMANDS,
    *serve.COMMANDS,
]:
    main.add_command(_command)
