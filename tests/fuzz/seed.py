#!/usr/bin/env python3
"""Regenerates the committed seed corpora, tests/fuzz/corpus/<target>/,
from the repository's fixtures (tests/fixtures, examples, config/flows.json,
templates/en) in each target's input framing (tests/fuzz/fuzz.h):
selector byte, header-block length byte, header lines, body.

    python3 tests/fuzz/seed.py      (from anywhere; rewrites the corpora)

Seeds are small on purpose; libFuzzer finds the rest.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(TOP, "tests", "fuzz", "corpus")


def rd(rel):
    with open(os.path.join(TOP, rel), "rb") as f:
        return f.read()


def frame(sel, body, headers=b""):
    assert len(headers) < 256
    return bytes([sel, len(headers)]) + headers + body


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64hmac(secret, body):
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)

    # Shopify: the topic index of fuzz_shopify.c's topics[].
    topics = {
        "orders/create": 0, "orders/cancelled": 1, "fulfillments/create": 2,
        "fulfillments/update": 3, "fulfillment_events/create": 4,
        "checkouts/create": 5, "checkouts/update": 6, "checkouts/delete": 7,
        "customers/redact": 8, "customers/data_request": 9, "shop/redact": 10,
    }
    shopify = [
        ("examples/orders-create.json", "orders/create"),
        ("tests/fixtures/shopify/orders-cancelled.json", "orders/cancelled"),
        ("tests/fixtures/shopify/fulfillments-update-delivered.json", "fulfillments/create"),
        ("tests/fixtures/shopify/fulfillments-update-out_for_delivery.json", "fulfillments/update"),
        ("tests/fixtures/shopify/fulfillment_events-delivered.json", "fulfillment_events/create"),
        ("tests/fixtures/shopify/checkouts-no-contact.json", "checkouts/create"),
        ("tests/fixtures/shopify/checkouts-big-ids.json", "checkouts/create"),
        ("tests/fixtures/shopify/checkouts-completed.json", "checkouts/update"),
        ("tests/fixtures/shopify/checkouts-delete.json", "checkouts/delete"),
        ("tests/fixtures/shopify/customers-redact.json", "customers/redact"),
        ("tests/fixtures/shopify/customers-data_request.json", "customers/data_request"),
        ("tests/fixtures/shopify/shop-redact.json", "shop/redact"),
    ]
    for rel, topic in shopify:
        base = os.path.basename(rel).replace(".json", "")
        put("shopify", base, frame(topics[topic], rd(rel)))
    body = rd("examples/orders-create.json")
    put("shopify", "rotated-events-prefix", frame(0x10 | 0x20, body))
    put("shopify", "body-hash-dedupe", frame(0x80, body))
    put("shopify", "input-signature", frame(
        0x40, body, b"X-Shopify-Hmac-Sha256: " + b64hmac(b"demo-secret", body)))
    put("shopify", "other-platform-shop", frame(
        0, body, b"X-Shopify-Shop-Domain: woo.example\nX-Shopify-Topic: orders/create"))
    put("shopify", "unknown-topic", frame(11, b"{}"))

    # The one-pass order reader: raw bodies.
    for rel in ("examples/orders-create.json", "tests/fixtures/shopify/orders-create-small.json",
                "tests/fixtures/shopify/orders-cancelled.json"):
        put("shopify_stream", os.path.basename(rel).replace(".json", ""), rd(rel))
    # Regression (open when written): an unterminated string after the
    # object ('{}"') was accepted, where json_loadb refuses trailing data.
    put("shopify_stream", "regress-trailing-unterminated-string", b'{"id":1}"')
    put("shopify_stream", "escapes-dupes", b'{"id":1,"shop_domain":"a","shop_domain":'
        b'"\\u0044emo.myshopify.com","email":"\\uD83D\\uDE00@x.gr","x":[1e-400,-0.0,'
        b'{"id":-9223372036854775808}],"line_items":[{"quantity":2,"price":"1.50"}]}')

    # WooCommerce: bits 0-1 topic, bits 2-3 shop.
    woo = [
        ("order-created-pending", 0), ("order-updated-cancelled", 1),
        ("order-updated-completed", 1), ("order-updated-delivered", 1),
        ("order-updated-refunded", 1),
    ]
    for name, t in woo:
        b = rd("tests/fixtures/woocommerce/%s.json" % name)
        put("woocommerce", name, frame(t, b))
        put("woocommerce", name + "-mapped", frame(t | 1 << 2, b))
    b = rd("tests/fixtures/woocommerce/order-updated-completed.json")
    put("woocommerce", "broken-settings", frame(1 | 2 << 2, b))
    put("woocommerce", "rotated", frame(1 | 3 << 2, b))
    put("woocommerce", "ping", frame(3, b"webhook_id=12"))

    # Generic (Standard Webhooks): bits 0-1 shop, bit 2 decoys.
    for name in ("order_placed", "order_shipped", "cart_abandoned", "customer_redact"):
        b = rd("tests/fixtures/generic/%s.json" % name)
        put("generic", name, frame(0, b))
    b = rd("tests/fixtures/generic/order_placed.json")
    put("generic", "previous-secret-decoys", frame(1 | 4, b))
    put("generic", "raw-generic-secret", frame(2, b))
    put("generic", "undecodable-key", frame(3, b))
    put("generic", "late-timestamp", frame(0, b, b"webhook-timestamp: 1614265330"))

    # CartFlows: the plugin's form (test_cartflows.c's CF_HEAD/CF_TAIL).
    form = (b"first_name=%CE%9C%CE%B1%CF%81%CE%AF%CE%B1&last_name=Papa"
            b"&phone_number=%2B30+691+234+5678&email=Maria%40Example.GR"
            b"&checkout_url=https%3A%2F%2Fshop.example%2Fcheckout%2F%3Fwcf_ac_token%3D"
            b"d2NmX3Nlc3Npb25faWQ9OGYxNGU0NWZjZWVhMTY3YTVhMzZkZWRkNGJlYTI1NDM%253D"
            b"%26%23038%3Butm_source%3Dnudge"
            b"&product_names=%CE%9A%CE%BF%CF%8D%CF%80%CE%B1%2C+Bag+%26+Socks"
            b"&coupon_code=WELCOME10&order_status=")
    put("cartflows", "abandoned", frame(0, form + b"abandoned&cart_total=42.4"))
    put("cartflows", "completed-slash", frame(1, form + b"completed&cart_total=42.4"))
    put("cartflows", "session-param", frame(2, b"email=bob%40example.com&order_status="
        b"abandoned&checkout_url=https%3A%2F%2Fs.example%2F%3Fwcf_session_id%3Dabc"))
    put("cartflows", "bad-token-b64", frame(0, b"email=bob%40example.com&order_status="
        b"completed&checkout_url=https%3A%2F%2Fs.example%2F%3Fwcf_ac_token%3Dnot-base64"))
    put("cartflows", "path-header", frame(3, b"order_status=abandoned&phone_number=1",
        b":path: cf_other_token_0123456789abcdef?x"))

    # Regression: an address with neither '@' nor digits once made
    # nevent_canon_addr return an unterminated string (heap over-read).
    put("cartflows", "regress-address-without-digits",
        frame(0, b"email=Maria%44Example.GR&order_status=abandoned"))

    # Flows: the shipped file and small variants.
    put("flows", "config-flows.json", rd("config/flows.json"))
    put("flows", "unit-flows.json", (
        b'{"flows":[{"name":"order","trigger":["order_placed"],"exit":["order_cancelled"],'
        b'"steps":[{"name":"confirmation","delay":"0","template":"order_confirmation"},'
        b'{"name":"welcome","delay":"1d","template":"welcome_offer","class":"promotional",'
        b'"conditions":{"first_order":true,"min_total":"20.00"}},'
        b'{"name":"text","delay":"1h","template":"out_for_delivery","channels":["sms"],'
        b'"max_segments":2,"conditions":{"has_phone":true}}]},'
        b'{"name":"winback","trigger":"order_placed","subject":"customer","reentry":"restart",'
        b'"steps":[{"name":"miss_you","delay":"60d","template":"winback_offer",'
        b'"class":"promotional","discount":true}]}]}'))
    put("flows", "bare-list.json", b'[{"name":"c","trigger":["cart_abandoned"],'
        b'"subject":"checkout","exit":["order_placed","cart_closed"],"steps":'
        b'[{"name":"r1","delay":"30m","template":"cart_reminder_1"}]}]')

    put("flows", "every-option.json", (
        b'{"flows":[{"name":"ship","trigger":["order_shipped","order_out_for_delivery"],'
        b'"subject":"order","per_fulfillment":true,"frequency_cap":"skip",'
        b'"exit":["order_delivered","shipment_failed"],"steps":[{"name":"s","delay":"90s",'
        b'"channels":["email","sms","webhook"],"template":"shipping_update",'
        b'"conditions":{"has_tracking":true,"has_phone":true,"returning_customer":false,'
        b'"min_total":12.5}}]},{"name":"late","trigger":"order_delivered","reentry":"reschedule",'
        b'"fallback":{"after":"order_shipped","delay":"7d"},"steps":[{"name":"tips",'
        b'"delay":"2d","template":"product_tips","skip_on_fallback":true}]},'
        b'{"name":"privacy","trigger":["customer_redact"],"subject":"customer",'
        b'"frequency_cap":"never","steps":[{"name":"x","delay":"0","template":"t"}]}]}'))

    # Render: the shipped templates are read straight from templates/en by
    # run.sh (no copies here); these reach what they do not.
    put("render", "sections", b"{{#order.items}}{{#.}}{{.}}{{/.}}{{^variant}}-{{/variant}}"
        b"{{/order.items}}\n  {{! c }}  \n{{{a.b.c.d}}}{{&shop.name}}{{#list}}{{#cross_sell}}"
        b"x{{/cross_sell}}{{/list}}")

    # Nesting past RENDER_MAX_DEPTH. No seed reaches the step and output
    # limits: such an input takes ~0.1 s per run, and libFuzzer mutating
    # it would cut the target's speed thirtyfold (test_render covers them).
    put("render", "too-deep", b"{{#t}}" * 33 + b"x" + b"{{/t}}" * 33)

    # Signatures: selector (secret, capacity), header line, body.
    body = rd("examples/orders-create.json")
    put("sig", "valid", b"\x00" + b64hmac(b"demo-secret", body) + b"\n" + body)
    put("sig", "sw-vector", b"\x05g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n"
        b'{"test": 2432232314}')
    put("sig", "pads", b"\x09QQ==\nx")
    put("sig", "long", b"\x28" + base64.b64encode(bytes(range(100))) + b"\n")
    put("sig", "whitespace", b"\x01 " + b64hmac(b"", b"") + b"\n")

    # Contexts as the worker reads them (what json_dumps wrote), and edges.
    ctx = json.loads(rd("examples/orders-create.json"))
    put("jtree", "order", json.dumps({"id": str(ctx.get("id")), "name": ctx.get("name"),
                                       "items": ctx.get("line_items", [])[:2]},
                                      separators=(",", ":"), ensure_ascii=False).encode())
    put("jtree", "numbers", b'{"a":-9223372036854775808,"b":1.5e-3,"c":[true,null,"\\u00e9"]}')
    put("jtree", "nested", b"[" * 63 + b"]" * 63)


if __name__ == "__main__":
    main()
