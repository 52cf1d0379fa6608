"""What a webhook parser of your own needs, as the built-in parsers use it.

The shop sources (``recoverykit.sources``) are built from these, and so can a parser
for a provider recoverykit does not ship: compare signatures and shared secrets in
constant time (``same``, ``same_any``), refuse an unsigned request with the header it
lacked (``require_header``), refuse a missing or pasted-file secret when the parser
is built (``check_secret``), then read the verified body strictly, each helper
raising ``MalformedWebhook`` with the JSON path of the first thing that is wrong
(``load_json``, ``obj``, ``array``, ``need``, ``text``, ``identifier``, ...). A parser built
this way raises only ``WebhookError`` subclasses, whatever the request holds.
"""

from __future__ import annotations

from ._reading import (
    MAX_BODY_BYTES,
    MAX_ID_CHARS,
    array,
    body_of,
    identifier,
    instant,
    load_json,
    need,
    obj,
    optional_text,
    positive_size,
    require_method,
    text,
)
from ._signing import check_secret, hmac_digest, require_header, same, same_any

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_ID_CHARS",
    "array",
    "body_of",
    "check_secret",
    "hmac_digest",
    "identifier",
    "instant",
    "load_json",
    "need",
    "obj",
    "optional_text",
    "positive_size",
    "require_header",
    "require_method",
    "same",
    "same_any",
    "text",
]
