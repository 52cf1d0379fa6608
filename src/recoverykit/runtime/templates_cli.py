"""``recoverykit templates export``: the store's WhatsApp templates, ready to submit to Meta.

Each template is derived from the pack's own WhatsApp entry (see
``recoverykit.messages.whatsapp_templates``), so what Meta reviews and approves is
the text the guard checks before every send. The output is a JSON list with one
body per template, each in the shape of Meta's template-creation request
(``POST /{WABA-ID}/message_templates``); a summary goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from ..messages.packs import MessagePack
from ..messages.whatsapp_templates import pack_templates

__all__ = ["add_templates_command"]


def add_templates_command(commands: Any) -> None:
    """Register ``templates export`` on the main parser's subcommands."""
    templates = commands.add_parser(
        "templates", help="WhatsApp templates made from a message pack, for Meta to approve"
    )
    actions = templates.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="write the pack's WhatsApp templates as Meta template-creation requests"
    )
    export.add_argument(
        "--pack",
        default="default",
        help="message pack JSON file (default: the built-in pack)",
    )
    export.add_argument(
        "--store-name",
        required=True,
        help="the store's name as the messages show it; it is written into each template",
    )
    export.add_argument(
        "--language",
        action="append",
        metavar="LANG",
        help="only this pack language (repeat for several; default: every language)",
    )
    export.add_argument("--out", type=Path, help="write to this file instead of stdout")
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace, out: TextIO) -> int:
    source = args.pack if args.pack == "default" else Path(args.pack)
    pack = MessagePack.load(source)
    store_name = str(args.store_name).strip()
    if not store_name:
        msg = "--store-name must name the store, e.g. --store-name 'Linen & Co'"
        raise ValueError(msg)
    templates = pack_templates(pack, store_name=store_name, languages=args.language)
    if not templates:
        wanted = ", ".join(args.language or ()) or "any language"
        msg = f"the pack has no WhatsApp touch entries in {wanted}; nothing to export"
        raise ValueError(msg)
    text = json.dumps([t.request() for t in templates], ensure_ascii=False, indent=2) + "\n"
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    else:
        out.write(text)
    per_language = Counter(t.language for t in templates)
    languages = ", ".join(f"{lang}: {count}" for lang, count in sorted(per_language.items()))
    categories = {(t.category.value, t.category_reason) for t in templates}
    sys.stderr.write(f"{len(templates)} template(s) ({languages})")
    sys.stderr.write(f"{f' written to {args.out}' if args.out is not None else ''}\n")
    for category, reason in sorted(categories):
        sys.stderr.write(f"category {category}: {reason}\n")
    return 0
