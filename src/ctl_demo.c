/*
 * ctl_demo: `nudgectl demo` plays a whole customer lifecycle against a
 * running nudge-server with signed Shopify webhooks, then watches the log
 * provider's outbox as the messages land:
 *   Anna orders, her parcel ships, goes out for delivery and arrives;
 *   Bartek abandons a cart and comes back to buy after the first reminder;
 *   Chloe abandons a cart and never returns (three reminders, a discount).
 * With the time scale `make run` uses, a day passes in half a second; at
 * another scale the timing of Bartek's purchase (after his first reminder)
 * is off.
 * A CLI does one thing and exits, so blocking HTTP (curl easy) is right here.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "clock.h"
#include "ctl.h"
#include "shops.h"
#include "sig.h"
#include "util.h"

struct demo {
	const char	*url;		/* http://host:port */
	const struct shop *shop;
	long		 run;		/* makes ids unique per run */
	int		 failed;
};

static size_t
demo_sink(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;

	buf_add(b, p, sz * n);
	return sz * n;
}

/* Posts one signed webhook; prints the answer. */
static void
demo_post(struct demo *d, const char *topic, json_t *body, const char *what)
{
	char *text = json_dumps(body, JSON_COMPACT), *sig, *url, *h[5];
	struct curl_slist *hl = NULL;
	struct buf answer;
	long code = 0;
	CURL *c;
	int i;
	static int n;

	sig = sig_b64_hmac(d->shop->secret, text, strlen(text));
	url = xasprintf("%s/webhooks/shopify", d->url);
	h[0] = xasprintf("X-Shopify-Topic: %s", topic);
	h[1] = xasprintf("X-Shopify-Shop-Domain: %s", d->shop->domain);
	h[2] = xasprintf("X-Shopify-Hmac-Sha256: %s", sig);
	h[3] = xasprintf("X-Shopify-Event-Id: demo-%ld-%d", d->run, ++n);
	h[4] = xstrdup("Content-Type: application/json");
	for (i = 0; i < 5; i++)
		hl = curl_slist_append(hl, h[i]);
	buf_init(&answer);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, demo_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) != CURLE_OK) {
		printf("  %-44s could not reach %s: is `make run` going?\n", what, d->url);
		d->failed = 1;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		printf("  %-44s %ld %s", what, code, answer.data ? answer.data : "\n");
		if (code != 200)
			d->failed = 1;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	for (i = 0; i < 5; i++)
		free(h[i]);
	buf_free(&answer);
	free(url);
	free(sig);
	free(text);
	json_decref(body);
}

static char *
demo_iso(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char out[32];

	/* milliseconds matter: with demo time a day is half a second */
	gmtime_r(&t, &tm);
	strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%03dZ", out, (int)(ms % 1000));
}

static json_t *
demo_customer(const char *first, const char *email, const char *locale)
{
	(void)locale;
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "first_name", first, "last_name",
	    "Demo", "email", email, "email_marketing_consent", "state", "subscribed",
	    "opt_in_level", "single_opt_in");
}

static json_t *
demo_items(void)
{
	return json_pack("[{s:s, s:s, s:i, s:s, s:I, s:I}, {s:s, s:n, s:i, s:s, s:I, s:I}]",
	    "title", "Ceramic mug", "variant_title", "Blue", "quantity", 2, "price", "12.50",
	    "product_id", (json_int_t)632910392, "variant_id", (json_int_t)808950810,
	    "title", "Olive oil 500 ml", "variant_title", "quantity", 1, "price", "30.00",
	    "product_id", (json_int_t)921728736, "variant_id", (json_int_t)457924702);
}

static json_t *
demo_order(struct demo *d, long id, const char *first, const char *email, const char *locale,
    const char *checkout_token)
{
	char *now = demo_iso(clock_now_ms());
	char *name = xasprintf("#%ld", 1000 + id % 1000);
	json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, "
	    "s:{s:s, s:s, s:s}}",
	    "id", (json_int_t)(820982911946154508LL + d->run * 100 + id), "name", name,
	    "order_number", (json_int_t)(1000 + id % 1000), "email", email, "created_at", now,
	    "updated_at", now, "currency", "EUR", "total_price", "55.00", "subtotal_price",
	    "55.00", "customer_locale", locale, "customer", demo_customer(first, email, locale),
	    "line_items", demo_items(), "shipping_address", "first_name", first, "city",
	    "Athens", "country", "Greece");

	if (checkout_token != NULL)
		json_object_set_new(o, "checkout_token", json_string(checkout_token));
	free(now);
	free(name);
	return o;
}

static json_t *
demo_checkout(struct demo *d, const char *token, const char *first, const char *email,
    const char *locale)
{
	char *now = demo_iso(clock_now_ms());
	char *url = xasprintf("https://%s/checkouts/%s/recover?key=demo", d->shop->domain, token);
	json_t *c = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:o, s:o}",
	    "id", (json_int_t)(901414060 + d->run), "token", token, "email", email,
	    "created_at", now, "updated_at", now, "customer_locale", locale,
	    "completed_at", "abandoned_checkout_url", url, "currency", "EUR",
	    "total_price", "55.00", "customer", demo_customer(first, email, locale),
	    "line_items", demo_items());

	free(now);
	free(url);
	return c;
}

static json_t *
demo_event(struct demo *d, long order, const char *status)
{
	char *now = demo_iso(clock_now_ms());
	json_t *e = json_pack("{s:I, s:I, s:I, s:s, s:s}", "id", (json_int_t)(944956395 + order),
	    "order_id", (json_int_t)(820982911946154508LL + d->run * 100 + order),
	    "fulfillment_id", (json_int_t)(255858046 + order), "status", status,
	    "happened_at", now);

	free(now);
	return e;
}

/* Counts outbox files; prints the flow/step of each new one. */
static int
demo_watch(const char *dir, int64_t since_ms, int quiet)
{
	struct dirent *de;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		char *path, *text, *cause = NULL, flow[64] = "", step[64] = "", to[128] = "";
		const char *p;

		if (strstr(de->d_name, ".eml") == NULL && strstr(de->d_name, ".sms") == NULL)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if ((text = util_read_file(path, NULL, &cause)) == NULL) {
			free(cause);
			free(path);
			continue;
		}
		if ((p = strstr(text, "X-Nudge-Flow: ")) != NULL)
			sscanf(p + 14, "%63s", flow);
		if ((p = strstr(text, "X-Nudge-Step: ")) != NULL)
			sscanf(p + 14, "%63s", step);
		if ((p = strstr(text, "\nTo: ")) != NULL)
			sscanf(p + 5, "%127[^\r\n]", to);
		(void)since_ms;
		n++;
		if (!quiet)
			printf("  %-18s %-22s %s\n", flow, step, to);
		free(text);
		free(path);
	}
	closedir(dp);
	return n;
}

int
ctl_demo(int argc, char **argv)
{
	const char *shops_file = getenv("NUDGE_SHOPS_FILE"), *listen = getenv("NUDGE_LISTEN");
	const char *outbox = getenv("NUDGE_OUTBOX_DIR");
	struct shops *shops = NULL;
	struct demo d;
	char *cause = NULL, *url = NULL, tok_b[40], tok_c[40];
	int64_t start;
	size_t i;
	int before, now_n, last = -1, expected = 18;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* progress shows through pipes too */
	memset(&d, 0, sizeof d);
	for (i = 1; i < (size_t)argc; i++)
		if (strcmp(argv[i], "--url") == 0 && i + 1 < (size_t)argc)
			d.url = argv[++i];
	if (shops_load(shops_file ? shops_file : "config/shops.example.json", 16, &shops,
	    &cause) == -1) {
		fprintf(stderr, "nudgectl demo: %s\n", cause);
		return 1;
	}
	for (i = 0; i < shops_count(shops) && d.shop == NULL; i++)
		if (shops_at(shops, i)->platform == PLATFORM_SHOPIFY)
			d.shop = shops_at(shops, i);
	if (d.shop == NULL) {
		fprintf(stderr, "nudgectl demo: no Shopify shop in the shops file\n");
		shops_free(shops);
		return 1;
	}
	if (d.url == NULL)
		d.url = url = xasprintf("http://%s", listen ? listen : "127.0.0.1:8080");
	if (outbox == NULL)
		outbox = "var/outbox";
	d.run = (long)(clock_now_ms() / 1000 % 100000);
	snprintf(tok_b, sizeof tok_b, "demo%ldbartek", d.run);
	snprintf(tok_c, sizeof tok_c, "demo%ldchloe", d.run);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	before = demo_watch(outbox, 0, 1);
	start = clock_now_ms();

	printf("Playing a customer lifecycle against %s (shop %s):\n", d.url, d.shop->domain);
	demo_post(&d, "orders/create", demo_order(&d, 1, "Anna", "anna@example.gr", "el", NULL),
	    "Anna orders (Greek)");
	demo_post(&d, "checkouts/create", demo_checkout(&d, tok_b, "Bartek", "bartek@example.pl",
	    "pl"), "Bartek leaves a cart (Polish)");
	demo_post(&d, "checkouts/create", demo_checkout(&d, tok_c, "Chloe", "chloe@example.com",
	    "en"), "Chloe leaves a cart (English)");
	/* Bartek comes back after the first reminder (a day is ~0.5 s with make run) */
	usleep(700 * 1000);
	demo_post(&d, "orders/create", demo_order(&d, 2, "Bartek", "bartek@example.pl", "pl",
	    tok_b), "Bartek buys his cart");
	{
		json_t *f = json_pack("{s:I, s:I, s:s, s:s, s:n, s:s, s:s, s:s}",
		    "id", (json_int_t)(255858046 + 1),
		    "order_id", (json_int_t)(820982911946154508LL + d.run * 100 + 1),
		    "name", "#1001.1", "status", "success", "shipment_status",
		    "tracking_company", "ACS Courier", "tracking_number", "1Z999AA10123456784",
		    "tracking_url", "https://track.example.com/1Z999AA10123456784");

		demo_post(&d, "fulfillments/create", f, "Anna's parcel ships");
	}
	usleep(300 * 1000);
	demo_post(&d, "fulfillment_events/create", demo_event(&d, 1, "out_for_delivery"),
	    "... is out for delivery");
	usleep(300 * 1000);
	demo_post(&d, "fulfillment_events/create", demo_event(&d, 1, "delivered"),
	    "... and delivered");
	if (d.failed) {
		fprintf(stderr, "\nnudgectl demo: a webhook was refused (see above)\n");
		curl_global_cleanup();
		shops_free(shops);
		free(url);
		return 1;
	}
	printf("\nMessages arriving in %s (flow, step, recipient):\n", outbox);
	/*
	 * Expected with the default flows: Anna 2 (order) + 1 shipping + 1 out for
	 * delivery (the SMS needs an SMS provider) + 4 delivered (no loyalty
	 * invitation: a first order) + 2 winback = 10; Bartek 2 (order) + the
	 * first reminder + 2 winback = 5; Chloe 3 reminders.
	 */
	while (clock_now_ms() - start < 120000) {
		now_n = demo_watch(outbox, start, 1) - before;
		if (now_n != last) {
			printf("  %d messages so far\n", now_n);
			last = now_n;
		}
		if (now_n >= expected)
			break;
		sleep(1);
	}
	demo_watch(outbox, start, 0);
	printf("\n%d new messages in %s. Open them (they are .eml files), or see\n"
	    "`nudgectl timeline %s anna@example.gr` for what happened and why.\n",
	    demo_watch(outbox, start, 1) - before, outbox, d.shop->domain);
	curl_global_cleanup();
	shops_free(shops);
	free(url);
	return 0;
}
