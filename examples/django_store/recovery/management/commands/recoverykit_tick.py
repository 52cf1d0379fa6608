"""``manage.py recoverykit_tick``: settle what a dead process left, start the recoveries of
checkouts gone quiet (the abandonment detector), then send what is due.

Run it from one scheduler (cron, a systemd timer) every minute. Two ticks that
overlap are safe, since each recovery is claimed by one of them, but one scheduler
keeps the claims uncontended. ``reconcile`` touches only outbox entries older than
the runner's lease, so running it on every tick never disturbs a live web worker's
send in flight.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...runtime import current, tick


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no type hints here
    help = "Settle interrupted sends, start recoveries of abandoned checkouts, send what is due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="recoveries per batch")
        parser.add_argument("--rounds", type=int, default=20, help="most batches per run")
        parser.add_argument(
            "--no-reconcile", action="store_true", help="skip settling interrupted sends"
        )

    def handle(self, *_args: object, **options: Any) -> None:
        runner = current().runner
        uncertain = [] if options["no_reconcile"] else runner.reconcile()
        for entry in uncertain:
            self.stderr.write(
                f"uncertain: {entry.key} on {entry.message.channel.value}; "
                "ask the provider whether it went out: it is never resent automatically"
            )
        sent = tick(runner, limit=options["limit"], rounds=options["rounds"])
        self.stdout.write(f"sent {sent} message(s); {len(uncertain)} uncertain")
