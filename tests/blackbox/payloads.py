"""
payloads: realistic webhook bodies for the lifecycle tests, built with the
ids and timestamps a test gives (timestamps are generated at test time, so
reminder clocks that start from a payload's updated_at start "now").

Every builder returns a Payload: .body is the exact bytes to send (64-bit
ids written as exact JSON integers, never through a double), .data the
parsed document, and the ids a test needs as attributes.

  Shopify      order, cancelled_order, fulfillment, fulfillment_event,
               checkout, customers_redact, data_request, shop_redact
  WooCommerce  woo_order (REST API v3 order, with shipment tracking meta)
  CartFlows    cartflows_form (the Cart Abandonment Recovery plugin's
               form-encoded webhook)
  generic      generic_event (nudge's own schema) + sign_standard
               (Standard Webhooks signature)

Field names follow the 2025-07 REST resources (webhooks.md section 1.5),
the WooCommerce REST v3 order and the plugin's trigger_zapier_webhook().
"""
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

ATHENS = timezone(timedelta(hours=2))
SHOPIFY_SHOP_ID = 60123456789


class Payload:
    def __init__(self, data, body=None, **attrs):
        self.data = data
        if body is None:
            body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.body = body
        self.__dict__.update(attrs)

    def __repr__(self):
        return "Payload(%s)" % ", ".join("%s=%r" % (k, v) for k, v in sorted(self.__dict__.items())
                                         if k not in ("data", "body"))


# ------------------------------------------------------------------ times

def now_ms():
    return int(time.time() * 1000)


def iso(ms=None, tz=ATHENS, millis=True):
    """An ISO-8601 time with an offset, as Shopify writes it
    ("2026-11-23T12:00:00.123+02:00"); ms defaults to now."""
    if ms is None:
        ms = now_ms()
    dt = datetime.fromtimestamp(ms / 1000.0, tz)
    return dt.isoformat(timespec="milliseconds" if millis else "seconds")


def gmt(ms=None):
    """WooCommerce's *_gmt form: UTC without an offset, whole seconds."""
    if ms is None:
        ms = now_ms()
    return datetime.fromtimestamp(ms / 1000.0, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


# ------------------------------------------------------------------ items

DEFAULT_ITEMS = (
    # title, variant, price, quantity, sku
    ("Ceramic Mug", "Blue", "12.50", 2, "MUG-BLUE"),
    ("Olive Oil 500ml", None, "9.70", 1, "OIL-500"),
)


def _total(items):
    cents = sum(round(float(p) * 100) * q for _, _, p, q, _ in items)
    return "%d.%02d" % (cents // 100, cents % 100)


def _shopify_lines(items, base_id, with_line_price=False):
    out = []
    for k, (title, variant, price, qty, sku) in enumerate(items):
        li = {
            "id": base_id + k,
            "admin_graphql_api_id": "gid://shopify/LineItem/%d" % (base_id + k),
            "title": title,
            "name": title + (" - " + variant if variant else ""),
            "variant_title": variant,
            "quantity": qty,
            "price": price,
            "sku": sku,
            "vendor": "Demo Shop",
            "product_id": 7701234567890 + k,
            "variant_id": 42001234567890 + k,
            "requires_shipping": True,
            "taxable": True,
            "fulfillment_status": None,
        }
        if with_line_price:
            cents = round(float(price) * 100) * qty
            li["line_price"] = "%d.%02d" % (cents // 100, cents % 100)
            li["key"] = str(42001234567890 + k)
        out.append(li)
    return out


def _address(first_name, last_name, phone=None):
    return {"first_name": first_name, "last_name": last_name, "address1": "Ermou 12",
            "address2": None, "city": "Athens", "zip": "10563", "province": None,
            "country": "Greece", "country_code": "GR", "company": None, "phone": phone,
            "name": "%s %s" % (first_name, last_name)}


# ---------------------------------------------------------------- Shopify

def order(order_id, number, email, phone=None, first_name="Anna", last_name="Papadopoulou",
          checkout_token=None, checkout_id=None, cart_token=None, items=DEFAULT_ITEMS,
          created_ms=None, currency="EUR", locale="en", shop="demo.myshopify.com",
          cancelled_ms=None, cancel_reason=None, marketing=False):
    """A Shopify orders/create (or, with cancelled_ms, orders/cancelled) body.
    checkout_token / checkout_id / cart_token None are sent as null, the
    way Shopify writes an order that did not come from a web checkout.
    marketing: the customer's e-mail marketing consent (subscribed or not);
    promotional steps are sent only with it."""
    created = iso(created_ms)
    updated = iso(cancelled_ms if cancelled_ms is not None else created_ms)
    total = _total(items)
    name = "#%d" % number
    customer_id = 7012345678900 + number
    data = {
        "id": order_id,
        "admin_graphql_api_id": "gid://shopify/Order/%d" % order_id,
        "app_id": 580111,
        "browser_ip": "203.0.113.7",
        "buyer_accepts_marketing": marketing,
        "cancel_reason": cancel_reason,
        "cancelled_at": iso(cancelled_ms) if cancelled_ms is not None else None,
        "cart_token": cart_token,
        "checkout_id": checkout_id,
        "checkout_token": checkout_token,
        "closed_at": None,
        "confirmed": True,
        "contact_email": email,
        "created_at": created,
        "currency": currency,
        "customer_locale": locale,
        "email": email,
        "financial_status": "refunded" if cancelled_ms is not None else "paid",
        "fulfillment_status": None,
        "name": name,
        "number": number - 1000,
        "order_number": number,
        "order_status_url": "https://%s/%d/orders/%032x/authenticate?key=k%d" % (
            shop, SHOPIFY_SHOP_ID, order_id, number),
        "phone": phone,
        "presentment_currency": currency,
        "processed_at": created,
        "source_name": "web",
        "subtotal_price": total,
        "tags": "",
        "test": False,
        "token": "%032x" % (order_id ^ 0x5bd1e995),
        "total_price": total,
        "total_price_set": {"shop_money": {"amount": total, "currency_code": currency},
                            "presentment_money": {"amount": total, "currency_code": currency}},
        "updated_at": updated,
        "billing_address": _address(first_name, last_name, phone),
        "shipping_address": _address(first_name, last_name, phone),
        "customer": {
            "id": customer_id, "email": email, "first_name": first_name,
            "last_name": last_name, "phone": phone, "state": "disabled", "locale": locale,
            "email_marketing_consent": {
                "state": "subscribed" if marketing else "not_subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": created if marketing else None},
            "sms_marketing_consent": None,
            "admin_graphql_api_id": "gid://shopify/Customer/%d" % customer_id,
        },
        "line_items": _shopify_lines(items, 13571113171000 + number * 10),
        "fulfillments": [],
        "refunds": [],
    }
    return Payload(data, id=order_id, name=name, number=number, email=email, phone=phone,
                   first_name=first_name, total=total, currency=currency, marketing=marketing,
                   titles=[t for t, _, _, _, _ in items], checkout_token=checkout_token,
                   checkout_id=checkout_id, cart_token=cart_token, items=items,
                   customer_id=customer_id)


def cancelled_order(o, reason="customer", cancelled_ms=None):
    """The orders/cancelled body of order payload o."""
    d = o.data
    return order(d["id"], d["order_number"], d["email"], phone=d["phone"],
                 first_name=o.first_name, checkout_token=o.checkout_token,
                 checkout_id=o.checkout_id, cart_token=o.cart_token, items=o.items,
                 cancelled_ms=cancelled_ms or now_ms(), cancel_reason=reason,
                 marketing=o.marketing)


def fulfillment(o, fulfillment_id, tracking_number="EL123456789GR",
                tracking_company="ELTA Courier", shipment_status=None, status="success",
                tracking_url=None, with_email=True, ms=None):
    """A fulfillments/create (or /update) body for order payload o: the whole
    order in one parcel. with_email adds the "email" and "destination" a
    webhook delivery carries (REST reads may lack them)."""
    if tracking_url is None and tracking_number:
        tracking_url = "https://www.elta-courier.gr/search?br=%s" % tracking_number
    t = iso(ms)
    data = {
        "id": fulfillment_id,
        "order_id": o.id,
        "status": status,
        "created_at": t,
        "service": "manual",
        "updated_at": t,
        "tracking_company": tracking_company,
        "shipment_status": shipment_status,
        "location_id": 71234567890,
        "origin_address": None,
        "line_items": [dict(li, fulfillment_status="fulfilled")
                       for li in o.data["line_items"]],
        "tracking_number": tracking_number,
        "tracking_numbers": [tracking_number] if tracking_number else [],
        "tracking_url": tracking_url,
        "tracking_urls": [tracking_url] if tracking_url else [],
        "receipt": {},
        "name": "%s.1" % o.name,
        "admin_graphql_api_id": "gid://shopify/Fulfillment/%d" % fulfillment_id,
    }
    if with_email:
        data["email"] = o.email
        data["destination"] = dict(o.data["shipping_address"])
    return Payload(data, id=fulfillment_id, order_id=o.id, tracking_number=tracking_number,
                   tracking_url=tracking_url)


def fulfillment_event(order_id, fulfillment_id, event_id, status, ms=None,
                      message=None, city="Athens", country="Greece"):
    """A fulfillment_events/create body: one carrier scan."""
    t = iso(ms)
    data = {
        "id": event_id,
        "fulfillment_id": fulfillment_id,
        "status": status,
        "message": message,
        "happened_at": t,
        "city": city,
        "province": None,
        "country": country,
        "zip": "10563",
        "address1": None,
        "latitude": None,
        "longitude": None,
        "shop_id": SHOPIFY_SHOP_ID,
        "created_at": t,
        "updated_at": t,
        "estimated_delivery_at": None,
        "order_id": order_id,
        "admin_graphql_api_id": "gid://shopify/FulfillmentEvent/%d" % event_id,
    }
    return Payload(data, id=event_id, status=status)


def checkout(token, checkout_id, email, cart_token=None, phone=None, first_name="Anna",
             last_name="Papadopoulou", items=DEFAULT_ITEMS, updated_ms=None,
             created_ms=None, completed_ms=None, shop="demo.myshopify.com",
             currency="EUR", locale="en", recover_key="c0ffee", marketing=False):
    """A checkouts/create or checkouts/update body (an abandoned checkout:
    completed_at null unless completed_ms). updated_ms defaults to now: the
    reminder clock starts there. marketing: buyer_accepts_marketing."""
    if updated_ms is None:
        updated_ms = now_ms()
    total = _total(items)
    url = "https://%s/%d/checkouts/%s/recover?key=%s" % (shop, SHOPIFY_SHOP_ID, token,
                                                          recover_key)
    data = {
        "id": checkout_id,
        "token": token,
        "cart_token": cart_token,
        "email": email,
        "gateway": None,
        "buyer_accepts_marketing": marketing,
        "created_at": iso(created_ms if created_ms is not None else updated_ms - 60000),
        "updated_at": iso(updated_ms),
        "completed_at": iso(completed_ms) if completed_ms is not None else None,
        "closed_at": None,
        "currency": currency,
        "presentment_currency": currency,
        "phone": phone,
        "customer_locale": locale,
        "buyer_accepts_sms_marketing": False,
        "sms_marketing_phone": None,
        "line_items": _shopify_lines(items, 13571113172000, with_line_price=True),
        "name": "#%d" % checkout_id,
        "abandoned_checkout_url": url,
        "source_name": "web",
        "total_price": total,
        "subtotal_price": total,
        "billing_address": _address(first_name, last_name, phone),
        "shipping_address": _address(first_name, last_name, phone),
        "customer": {"id": 7012345678999, "email": email, "first_name": first_name,
                     "last_name": last_name, "phone": phone},
    }
    return Payload(data, token=token, id=checkout_id, cart_token=cart_token, email=email,
                   url=url, titles=[t for t, _, _, _, _ in items], updated_ms=updated_ms)


def customers_redact(email, order_ids, customer_id=7012345678901, phone=None,
                     shop="demo.myshopify.com"):
    data = {"shop_id": SHOPIFY_SHOP_ID, "shop_domain": shop,
            "customer": {"id": customer_id, "email": email, "phone": phone},
            "orders_to_redact": list(order_ids)}
    return Payload(data)


def data_request(email, order_ids, customer_id=7012345678902, phone=None,
                 shop="demo.myshopify.com", request_id=9999):
    data = {"shop_id": SHOPIFY_SHOP_ID, "shop_domain": shop,
            "orders_requested": list(order_ids),
            "customer": {"id": customer_id, "email": email, "phone": phone},
            "data_request": {"id": request_id}}
    return Payload(data)


def shop_redact(shop):
    return Payload({"shop_id": SHOPIFY_SHOP_ID + 1, "shop_domain": shop})


# ------------------------------------------------------------ WooCommerce

def woo_order(order_id, number, email, status, phone="+30 691 234 5678", first_name="Maria",
              last_name="Papadopoulou", items=DEFAULT_ITEMS, created_ms=None,
              modified_ms=None, tracking=None, currency="EUR", site="https://shop.example"):
    """A WooCommerce REST v3 order as order.created / order.updated send it.
    tracking: list of (provider, number, link) for the Shipment Tracking
    plugin's _wc_shipment_tracking_items meta (provider "" means custom)."""
    created_ms = created_ms if created_ms is not None else now_ms()
    modified_ms = modified_ms if modified_ms is not None else created_ms
    total = _total(items)
    meta = [{"id": 501, "key": "_marketing_optin", "value": "yes"}]
    if tracking:
        meta.append({"id": 503, "key": "_wc_shipment_tracking_items", "value": [
            {"tracking_provider": prov if prov else "",
             "custom_tracking_provider": "" if prov else "ACS Courier",
             "custom_tracking_link": link or "",
             "tracking_number": num,
             "date_shipped": str(modified_ms // 1000),
             "tracking_id": hashlib.sha1(num.encode()).hexdigest()[:10]}
            for prov, num, link in tracking]})
    lines = []
    for k, (title, variant, price, qty, sku) in enumerate(items):
        cents = round(float(price) * 100) * qty
        lines.append({"id": 88 + k, "name": title + (" - " + variant if variant else ""),
                      "product_id": 4101 + k, "variation_id": 0, "quantity": qty,
                      "tax_class": "", "subtotal": "%d.%02d" % (cents // 100, cents % 100),
                      "total": "%d.%02d" % (cents // 100, cents % 100), "sku": sku,
                      "price": float(price), "meta_data": [],
                      "image": {"id": 9001 + k, "src": "%s/wp-content/uploads/%s.jpg" % (
                          site, sku.lower())}})
    addr = {"first_name": first_name, "last_name": last_name, "company": "",
            "address_1": "Ermou 12", "address_2": "", "city": "Athens", "state": "I",
            "postcode": "10563", "country": "GR"}
    data = {
        "id": order_id, "parent_id": 0, "number": str(number),
        "order_key": "wc_order_%x" % order_id, "created_via": "checkout",
        "version": "9.4.2", "status": status, "currency": currency,
        "date_created": gmt(created_ms), "date_created_gmt": gmt(created_ms),
        "date_modified": gmt(modified_ms), "date_modified_gmt": gmt(modified_ms),
        "discount_total": "0.00", "shipping_total": "0.00", "total": total,
        "total_tax": "0.00", "prices_include_tax": False, "customer_id": 17,
        "customer_note": "",
        "billing": dict(addr, email=email, phone=phone),
        "shipping": addr,
        "payment_method": "stripe", "payment_method_title": "Credit card",
        "date_paid_gmt": gmt(created_ms),
        "date_completed_gmt": gmt(modified_ms) if status == "completed" else None,
        "meta_data": meta,
        "line_items": lines,
        "shipping_lines": [], "fee_lines": [], "coupon_lines": [], "refunds": [],
        "_links": {"self": [{"href": "%s/wp-json/wc/v3/orders/%d" % (site, order_id)}]},
    }
    return Payload(data, id=order_id, name="#%d" % number, email=email, total=total,
                   titles=[l["name"] for l in lines])


# -------------------------------------------------------------- CartFlows

def cartflows_form(status, email, session_id, first_name="Ana", last_name="Silva",
                   phone="+351 912 345 678", product_names="Linen Shirt, Tote Bag & Mug",
                   cart_total="89.90", coupon="SAVE10", site="https://shop.example"):
    """The Cart Abandonment Recovery plugin's webhook body (http_build_query
    of a flat array). The recovery link carries the session id in
    wcf_ac_token = urlencode(base64_encode(http_build_query(token data)))
    (Cartflows_Ca_Helper::wcf_generate_token)."""
    token = base64.b64encode(urllib.parse.urlencode(
        [("wcf_session_id", session_id), ("wcf_coupon_code", coupon)]).encode()).decode()
    checkout_url = "%s/checkout/?wcf_ac_token=%s" % (site, urllib.parse.quote_plus(token))
    fields = [
        ("first_name", first_name), ("last_name", last_name), ("email", email),
        ("phone_number", phone), ("order_status", status), ("checkout_url", checkout_url),
        ("coupon_code", coupon), ("product_names", product_names),
        ("cart_total", cart_total), ("product_table", ""),
    ]
    body = urllib.parse.urlencode(fields).encode()
    return Payload(dict(fields), body=body, url=checkout_url, email=email,
                   session_id=session_id)


# ---------------------------------------------------------------- generic

def generic_event(type_, order=None, customer=None, checkout=None, shipment=None,
                  orders=None, occurred_ms=None):
    data = {"type": type_, "occurred_at": iso(occurred_ms)}
    for k, v in (("order", order), ("customer", customer), ("checkout", checkout),
                 ("shipment", shipment), ("orders", orders)):
        if v is not None:
            data[k] = v
    return Payload(data)


def sign_standard(secret, msg_id, ts, body):
    """The Standard Webhooks signature header value, "v1,<base64>"."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    if isinstance(body, str):
        body = body.encode()
    mac = hmac.new(key, b"%s.%s." % (msg_id.encode(), str(ts).encode()) + body,
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()
