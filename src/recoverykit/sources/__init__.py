"""Shop sources: a shop's own webhooks in, the abandonment detector's facts out.

Each source verifies the shop's signature before it reads a byte, then maps the
payload to ``CheckoutStarted``/``CheckoutUpdated`` (checkout activity, with the
consent evidence it carried) and ``ShopOrder``; ``Runner.observe`` feeds them to the
detector (``recoverykit.detector``). Like the webhook parsers, a source
raises only ``WebhookError`` subclasses, whatever the request holds::

    from recoverykit.sources.shopify import ShopifySource
    from recoverykit.webhooks import WebhookError, WebhookRequest

    shopify = ShopifySource(secret=settings.SHOPIFY_CLIENT_SECRET)
    try:
        facts = shopify.parse(WebhookRequest("POST", url, headers, body), now=now)
    except WebhookError as err:
        return HttpResponse(status=err.status)
    for fact in facts:
        runner.observe(fact)

The sources need nothing beyond the core; they are imported by name
(``recoverykit.sources.shopify``), never by the core.
"""
