"""``citylake alerts status|deliver``: the CAP outbox, for the engineer on duty."""

from __future__ import annotations

import typer
from rich.table import Table

from citylake.cli.output import console

alerts_app = typer.Typer(help="The warnings' CAP 1.2 outbox.", no_args_is_help=True)


@alerts_app.command("status")
def status() -> None:
    """Messages queued, delivered and waiting per webhook, and what is being retried."""
    from citylake.alerts import Outbox

    outbox = Outbox()
    found = outbox.status()
    table = Table(
        "endpoint", "delivered", "pending", "retrying", "last delivered", title=str(found.path)
    )
    for endpoint, s in found.by_endpoint.items():
        table.add_row(
            endpoint,
            str(s.delivered),
            str(s.pending),
            str(s.retrying),
            f"{s.last_delivered_at:%Y-%m-%d %H:%M:%S}" if s.last_delivered_at else "-",
        )
    console.print(table)
    console.print(f"{found.messages} messages; {found.unrouted} with no endpoint configured.")
    routed = [m for m in outbox.pending() if m.endpoint]
    for message in routed[:20]:
        console.print(
            f"  waiting: {message.identifier} -> {message.endpoint} "
            f"(attempts {message.attempts}, last error {message.last_error or '-'})"
        )
    if len(routed) > 20:
        console.print(f"  ... and {len(routed) - 20} more waiting")


@alerts_app.command("deliver")
def deliver() -> None:
    """Send what is due now (retries keep their back-off)."""
    from citylake.alerts import Outbox

    report = Outbox().deliver()
    console.print(report.summary())
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
