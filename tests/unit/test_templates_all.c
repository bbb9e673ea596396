/*
 * test_templates_all: every template the default flows use, in every shipped
 * locale, rendered against the context docs/templates.md describes.
 *
 * A full context (a Greek customer, items with images, tracking, a discount,
 * a cross-sell list, an unsubscribe link) must leave nothing missing and show
 * each template's key values; a minimal one (no first name, no tracking, no
 * discount, an empty cross-sell list, no optional links) must still render
 * cleanly. Every render is also written to build/rendered/ so a person can
 * open it:
 *   build/rendered/<locale>/<template>.html          the html part
 *   build/rendered/<locale>/<template>.<part>.txt    subject, txt, sms
 *   build/rendered/minimal/<locale>/...              the same, minimal context
 */
#include <errno.h>
#include <sys/stat.h>

#include <jansson.h>

#include "unit.h"
#include "render.h"

#define NLOCALES	3
#define SUBJECT_MAX	70	/* characters, with the sample context */
#define SMS_GSM_MAX	160	/* one GSM-7 segment */
#define SMS_UCS2_MAX	140	/* characters; two UCS-2 segments */

struct tpl {
	const char	*name;
	int		 promo;		/* promotional: must show unsubscribe_url */
	int		 sms;		/* has an sms part */
	const char	*keys[5];	/* raw values its html and txt must show */
};

/* Every template of the default flows (order, shipping, out_for_delivery, delivered, cart, winback). */
static const struct tpl tpls[] = {
	{ "order_confirmation", 0, 0, { "#1001", "Tea & Biscuits", NULL } },
	{ "welcome_offer", 1, 0, { "#1001", "COMEBACK15", "30 November 2026", NULL } },
	{ "shipping_update", 0, 0, { "#1001", "1Z999AA10123456784", "ACS Courier",
	    "https://track.example.com/1Z999AA10123456784?lang=el&ref=nudge", NULL } },
	{ "out_for_delivery", 0, 1, { "#1001", "1Z999AA10123456784",
	    "https://track.example.com/1Z999AA10123456784?lang=el&ref=nudge", NULL } },
	{ "delivery_confirmation", 0, 0, { "#1001", "Tea & Biscuits",
	    "https://demo.myshopify.com/orders/abc?key=1&x=2", NULL } },
	{ "product_tips", 0, 0, { "#1001", "Mug", "Tea & Biscuits", NULL } },
	{ "review_request", 0, 0, { "#1001", "https://demo.myshopify.com/pages/reviews?o=1001&s=email",
	    NULL } },
	{ "cross_sell", 1, 0, { "Travel Mug", "https://demo.myshopify.com/products/travel-mug",
	    "Tea Sampler & Infuser", NULL } },
	{ "loyalty_invite", 1, 0, { "https://demo.myshopify.com/pages/rewards", NULL } },
	{ "cart_reminder_1", 0, 0, { "https://demo.myshopify.com/checkouts/c1/recover?key=k&utm=nudge",
	    "Linen Shirt", "€42.50", NULL } },
	{ "cart_reminder_2", 0, 0, { "https://demo.myshopify.com/checkouts/c1/recover?key=k&utm=nudge",
	    "Linen Shirt", NULL } },
	{ "cart_reminder_3", 1, 0, { "https://demo.myshopify.com/checkouts/c1/recover?key=k&utm=nudge",
	    "COMEBACK15", "30 November 2026", NULL } },
	{ "winback_offer", 1, 0, { "COMEBACK15", "15%", "https://demo.myshopify.com", NULL } },
	{ "winback_last_chance", 1, 0, { "COMEBACK15", "https://demo.myshopify.com", NULL } },
};

#define NTPLS	(sizeof tpls / sizeof tpls[0])

static const struct {
	const char	*locale;
	const char	*hello;		/* greeting with the name (the name follows) */
	const char	*anon;		/* greeting without a name */
	const char	*unsub;		/* the unsubscribe link's text */
	const char	*tracking;	/* the tracking number's label */
} langs[NLOCALES] = {
	{ "en", "Hi Άννα,", "Hello,", "Unsubscribe", "Tracking number" },
	{ "el", "Γεια σας Άννα,", "Γεια σας,", "Απεγγραφή", "Αριθμός αποστολής" },
	{ "pl", "Cześć Άννα,", "Dzień dobry,", "Wypisz się", "Numer przesyłki" },
};

static const char *parts[] = { "subject", "html", "txt", "sms" };

static const char *full_json =
    "{\"shop\":{\"name\":\"Demo Shop\",\"domain\":\"demo.myshopify.com\","
    "  \"url\":\"https://demo.myshopify.com\","
    "  \"review_url\":\"https://demo.myshopify.com/pages/reviews?o=1001&s=email\","
    "  \"loyalty_url\":\"https://demo.myshopify.com/pages/rewards\"},"
    " \"customer\":{\"first_name\":\"Άννα\",\"email\":\"anna@example.gr\",\"locale\":\"el-GR\"},"
    " \"order\":{\"id\":\"450789469\",\"name\":\"#1001\",\"number\":\"1001\",\"currency\":\"EUR\","
    "  \"total\":\"€59.90\",\"subtotal\":\"€55.00\","
    "  \"status_url\":\"https://demo.myshopify.com/orders/abc?key=1&x=2\","
    "  \"created_at\":\"2026-11-23T12:00:00Z\",\"first_name\":\"Άννα\","
    "  \"items\":[{\"title\":\"Mug\",\"variant\":\"Blue\",\"quantity\":2,\"price\":\"€12.50\","
    "    \"sku\":\"M1\",\"product_id\":\"632910392\",\"image\":\"https://cdn.example.com/mug.png\"},"
    "   {\"title\":\"Tea & Biscuits\",\"variant\":\"\",\"quantity\":1,\"price\":\"€30.00\","
    "    \"sku\":\"T2\",\"product_id\":\"632910393\",\"image\":null}],"
    "  \"shipping_address\":{\"first_name\":\"Άννα\",\"city\":\"Αθήνα\",\"country\":\"Greece\"}},"
    " \"ship\":{\"order_id\":\"450789469\",\"order_name\":\"#1001\",\"fulfillment_id\":\"255858046\","
    "  \"status\":\"in_transit\",\"tracking_company\":\"ACS Courier\","
    "  \"tracking_number\":\"1Z999AA10123456784\","
    "  \"tracking_url\":\"https://track.example.com/1Z999AA10123456784?lang=el&ref=nudge\","
    "  \"estimated_delivery_at\":\"2026-11-26T18:00:00Z\","
    "  \"items\":[{\"title\":\"Mug\",\"variant\":\"Blue\",\"quantity\":2},"
    "   {\"title\":\"Tea & Biscuits\",\"variant\":null,\"quantity\":1}]},"
    " \"cart\":{\"token\":\"c1\",\"email\":\"anna@example.gr\",\"first_name\":\"Άννα\","
    "  \"currency\":\"EUR\",\"total\":\"€46.50\",\"subtotal\":\"€42.50\","
    "  \"url\":\"https://demo.myshopify.com/checkouts/c1/recover?key=k&utm=nudge\","
    "  \"items\":[{\"title\":\"Linen Shirt\",\"variant\":\"M / White\",\"quantity\":1,"
    "    \"price\":\"€30.00\",\"line_price\":\"€30.00\",\"image\":\"https://cdn.example.com/shirt.png\"},"
    "   {\"title\":\"Mug\",\"variant\":\"Blue\",\"quantity\":1,\"price\":\"€12.50\","
    "    \"line_price\":\"€12.50\",\"image\":\"https://cdn.example.com/mug.png\"}]},"
    " \"discount\":{\"code\":\"COMEBACK15\",\"percent\":15,\"expires_at\":\"30 November 2026\"},"
    " \"cross_sell\":[{\"title\":\"Travel Mug\","
    "   \"url\":\"https://demo.myshopify.com/products/travel-mug\","
    "   \"image\":\"https://cdn.example.com/travel-mug.png\",\"price\":\"€18.00\"},"
    "  {\"title\":\"Tea Sampler & Infuser\","
    "   \"url\":\"https://demo.myshopify.com/products/tea-sampler\","
    "   \"image\":\"https://cdn.example.com/tea.png\",\"price\":\"€24.00\"}],"
    " \"unsubscribe_url\":\"https://nudge.example.com/u/m1?sig=ab&s=demo\","
    " \"message\":{\"id\":\"m1\",\"flow\":\"cart\",\"step\":\"reminder_72h\"}}";

/* What the worker may pass at the least: no name, tracking, discount or extra links. */
static const char *minimal_json =
    "{\"shop\":{\"name\":\"Demo Shop\",\"domain\":\"demo.myshopify.com\","
    "  \"url\":\"https://demo.myshopify.com\"},"
    " \"customer\":{\"email\":\"kasia@example.pl\",\"locale\":\"pl\"},"
    " \"order\":{\"id\":\"450789470\",\"name\":\"#1002\",\"currency\":\"PLN\",\"total\":\"49.00\","
    "  \"items\":[{\"title\":\"Kubek\",\"quantity\":1,\"price\":\"49.00\"}]},"
    " \"ship\":{\"order_id\":\"450789470\",\"order_name\":\"#1002\",\"status\":\"in_transit\"},"
    " \"cart\":{\"token\":\"c2\",\"currency\":\"PLN\",\"total\":\"49.00\","
    "  \"url\":\"https://demo.myshopify.com/checkouts/c2/recover?key=z\","
    "  \"items\":[{\"title\":\"Kubek\",\"quantity\":1,\"price\":\"49.00\",\"line_price\":\"49.00\"}]},"
    " \"cross_sell\":[],"
    " \"message\":{\"id\":\"m2\",\"flow\":\"cart\",\"step\":\"reminder_24h\"}}";

static struct templates *T;

static int
setup(void **state)
{
	char *dir = unit_path("templates"), *cause = NULL;

	(void)state;
	if (templates_load(dir, &T, &cause) != 0)
		fail_msg("%s", cause);
	free(dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	templates_free(T);
	return 0;
}

static json_t *
load_ctx(const char *text)
{
	json_error_t err;
	json_t *ctx = json_loads(text, 0, &err);

	if (ctx == NULL)
		fail_msg("bad sample context: %s at %d", err.text, err.position);
	return ctx;
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += len;
	}
	return n;
}

/* Code points of UTF-8 text. */
static size_t
utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* The HTML-escaped form of a raw value, as {{x}} prints it in html parts. */
static char *
html_escape(const char *s)
{
	struct buf b;

	buf_init(&b);
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(&b, "&amp;"); break;
		case '<': buf_adds(&b, "&lt;"); break;
		case '>': buf_adds(&b, "&gt;"); break;
		case '"': buf_adds(&b, "&quot;"); break;
		case '\'': buf_adds(&b, "&#39;"); break;
		default: buf_add(&b, s, 1); break;
		}
	}
	return buf_detach(&b);
}

static void
mkdir_p(const char *path)
{
	char *p = xstrdup(path), *s;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	free(p);
}

/* build/rendered/[minimal/]<locale>/<template>.html or .<part>.txt */
static void
save(const char *sub, const char *locale, const char *name, const char *part, const char *text)
{
	char *dir = unit_path(sub), *path, *cause = NULL;

	dir = xasprintf("%s/%s", (path = dir), locale);
	free(path);
	mkdir_p(dir);
	if (strcmp(part, "html") == 0)
		path = xasprintf("%s/%s.html", dir, name);
	else
		path = xasprintf("%s/%s.%s.txt", dir, name, part);
	if (util_write_file(path, text, strlen(text), &cause) != 0)
		fail_msg("%s", cause);
	free(path);
	free(dir);
}

/* Renders one part in exactly this locale (no fallback). */
static char *
render(const char *locale, const char *name, const char *part, json_t *ctx, int *missing)
{
	struct render_stats st = { 0 };
	const char *text, *used = NULL;
	struct buf out;
	char *cause = NULL;
	size_t len;

	text = templates_get(T, name, part, locale, "en", &used, &len);
	if (text == NULL)
		fail_msg("%s/%s.%s: missing", locale, name, part);
	if (strcmp(used, locale) != 0)
		fail_msg("%s/%s.%s: fell back to %s", locale, name, part, used);
	buf_init(&out);
	if (render_string(text, len, ctx, strcmp(part, "html") == 0 ? RENDER_ESCAPE_HTML : 0,
	    &out, &st, &cause) != 0)
		fail_msg("%s/%s.%s: %s", locale, name, part, cause);
	*missing = st.missing;
	buf_add(&out, "", 1);
	return buf_detach(&out);
}

#define CHECK(cond, ...) do { if (!(cond)) fail_msg(__VA_ARGS__); } while (0)

/* Structure every html part shares: balanced tags, alt text, the Outlook wrapper. */
static void
check_html(const char *where, const char *h)
{
	static const char *pairs[][3] = {
		{ "<table", NULL, "</table>" },
		{ "<tr>", "<tr ", "</tr>" },
		{ "<td>", "<td ", "</td>" },
		{ "<p ", "<p>", "</p>" },
		{ "<a ", NULL, "</a>" },
		{ "<strong", NULL, "</strong>" },
		{ "<span", NULL, "</span>" },
	};
	const char *img, *end, *alt;
	size_t i, open;

	CHECK(strncmp(h, "<!DOCTYPE html>", 15) == 0, "%s: no doctype", where);
	CHECK(strstr(h, "</html>") != NULL, "%s: no </html>", where);
	CHECK(strstr(h, "max-width:600px") != NULL, "%s: not 600px wide", where);
	CHECK(strstr(h, "<!--[if mso]>") != NULL, "%s: no Outlook wrapper", where);
	CHECK(strstr(h, "display:none;max-height:0;") != NULL, "%s: no preheader", where);
	for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		open = count(h, pairs[i][0]) + (pairs[i][1] ? count(h, pairs[i][1]) : 0);
		CHECK(open == count(h, pairs[i][2]), "%s: %zu %s but %zu %s", where, open,
		    pairs[i][0], count(h, pairs[i][2]), pairs[i][2]);
	}
	for (img = h; (img = strstr(img, "<img")) != NULL; img++) {
		end = strchr(img, '>');
		alt = strstr(img, " alt=\"");
		CHECK(end != NULL && alt != NULL && alt < end && alt[6] != '"',
		    "%s: an image without alt text", where);
	}
}

/* Characters of the GSM 03.38 basic set (in ASCII), so a message is one segment. */
static int
gsm7_basic(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e || strchr("`^{}\\[]~|", c) != NULL)
			return 0;
	}
	return 1;
}

/* Every template and part exists in every locale, and the set passes templates_check_all(). */
static void
test_all_present(void **state)
{
	const char *used;
	char *cause = NULL;
	size_t i, l, p, len;

	(void)state;
	if (templates_check_all(T, &cause) != 0)
		fail_msg("%s", cause);
	for (i = 0; i < NTPLS; i++) {
		for (l = 0; l < NLOCALES; l++) {
			for (p = 0; p < sizeof parts / sizeof parts[0]; p++) {
				if (strcmp(parts[p], "sms") == 0 && !tpls[i].sms)
					continue;
				used = NULL;
				CHECK(templates_get(T, tpls[i].name, parts[p], langs[l].locale,
				    NULL, &used, &len) != NULL && strcmp(used, langs[l].locale) == 0,
				    "%s/%s.%s: absent", langs[l].locale, tpls[i].name, parts[p]);
				CHECK(len > 0, "%s/%s.%s: empty", langs[l].locale, tpls[i].name,
				    parts[p]);
			}
		}
		CHECK(templates_has(T, tpls[i].name, "sms") == tpls[i].sms,
		    "%s: sms part %s", tpls[i].name, tpls[i].sms ? "missing" : "unexpected");
	}
}

static void
test_all_full(void **state)
{
	json_t *ctx = load_ctx(full_json);
	const struct tpl *t;
	char *out, *esc, where[128];
	size_t i, l, p, k;
	int m;

	(void)state;
	for (i = 0; i < NTPLS; i++) {
		t = &tpls[i];
		for (l = 0; l < NLOCALES; l++) {
			for (p = 0; p < sizeof parts / sizeof parts[0]; p++) {
				if (strcmp(parts[p], "sms") == 0 && !t->sms)
					continue;
				snprintf(where, sizeof where, "%s/%s.%s", langs[l].locale, t->name,
				    parts[p]);
				out = render(langs[l].locale, t->name, parts[p], ctx, &m);
				save("build/rendered", langs[l].locale, t->name, parts[p], out);
				CHECK(m == 0, "%s: %d missing", where, m);
				CHECK(*out != '\0', "%s: empty", where);
				CHECK(strstr(out, "{{") == NULL && strstr(out, "}}") == NULL,
				    "%s: a tag left in the output", where);

				if (strcmp(parts[p], "subject") == 0) {
					CHECK(strchr(out, '\n') == NULL, "%s: more than one line", where);
					CHECK(utf8_len(out) <= SUBJECT_MAX, "%s: %zu characters: %s",
					    where, utf8_len(out), out);
				} else if (strcmp(parts[p], "sms") == 0) {
					CHECK(strstr(out, "https://track.example.com/") != NULL,
					    "%s: no tracking link", where);
					if (strcmp(langs[l].locale, "en") == 0) {
						CHECK(gsm7_basic(out), "%s: not GSM-7: %s", where, out);
						CHECK(strlen(out) <= SMS_GSM_MAX, "%s: %zu characters",
						    where, strlen(out));
					} else {
						CHECK(utf8_len(out) <= SMS_UCS2_MAX,
						    "%s: %zu characters", where, utf8_len(out));
					}
				} else {
					int html = strcmp(parts[p], "html") == 0;

					if (html)
						check_html(where, out);
					CHECK(strstr(out, langs[l].hello) != NULL, "%s: no greeting",
					    where);
					for (k = 0; t->keys[k] != NULL; k++) {
						esc = html ? html_escape(t->keys[k]) : xstrdup(t->keys[k]);
						CHECK(strstr(out, esc) != NULL, "%s: no \"%s\"", where, esc);
						free(esc);
					}
					if (t->promo) {
						esc = html ? html_escape(
						    "https://nudge.example.com/u/m1?sig=ab&s=demo") :
						    xstrdup("https://nudge.example.com/u/m1?sig=ab&s=demo");
						CHECK(strstr(out, esc) != NULL, "%s: no unsubscribe link",
						    where);
						CHECK(strstr(out, langs[l].unsub) != NULL,
						    "%s: no \"%s\"", where, langs[l].unsub);
						free(esc);
					} else {
						CHECK(strstr(out, "nudge.example.com/u/") == NULL,
						    "%s: unsubscribe link in a transactional message",
						    where);
					}
					if (html && strcmp(t->name, "cart_reminder_2") == 0)
						CHECK(strstr(out, "<img src=\"https://cdn.example.com/"
						    "shirt.png\" width=\"240\"") != NULL,
						    "%s: no large product image", where);
					if (html && strcmp(t->name, "cross_sell") == 0)
						CHECK(strstr(out, "src=\"https://cdn.example.com/"
						    "travel-mug.png\"") != NULL, "%s: no product image",
						    where);
				}
				free(out);
			}
		}
	}
	json_decref(ctx);
}

static void
test_all_minimal(void **state)
{
	json_t *ctx = load_ctx(minimal_json);
	const struct tpl *t;
	char *out, where[128];
	size_t i, l, p;
	int m;

	(void)state;
	for (i = 0; i < NTPLS; i++) {
		t = &tpls[i];
		for (l = 0; l < NLOCALES; l++) {
			for (p = 0; p < sizeof parts / sizeof parts[0]; p++) {
				if (strcmp(parts[p], "sms") == 0 && !t->sms)
					continue;
				snprintf(where, sizeof where, "minimal %s/%s.%s", langs[l].locale,
				    t->name, parts[p]);
				out = render(langs[l].locale, t->name, parts[p], ctx, &m);
				save("build/rendered/minimal", langs[l].locale, t->name, parts[p], out);
				CHECK(m == 0, "%s: %d missing", where, m);
				CHECK(*out != '\0', "%s: empty", where);
				CHECK(strstr(out, "{{") == NULL && strstr(out, "}}") == NULL,
				    "%s: a tag left in the output", where);
				CHECK(strstr(out, "Άννα") == NULL, "%s: a name from nowhere", where);
				CHECK(strstr(out, "COMEBACK15") == NULL, "%s: a discount without one",
				    where);
				if (strcmp(parts[p], "html") != 0)	/* html has width="100%" */
					CHECK(strchr(out, '%') == NULL, "%s: a discount without one",
					    where);
				if (strcmp(parts[p], "subject") == 0) {
					CHECK(utf8_len(out) <= SUBJECT_MAX, "%s: %zu characters", where,
					    utf8_len(out));
				} else if (strcmp(parts[p], "sms") == 0) {
					CHECK(strstr(out, "#1002") != NULL, "%s: no order", where);
					CHECK(strstr(out, "http") == NULL, "%s: a link from nowhere",
					    where);
				} else {
					if (strcmp(parts[p], "html") == 0)
						check_html(where, out);
					CHECK(strstr(out, langs[l].anon) != NULL,
					    "%s: no nameless greeting", where);
					CHECK(strstr(out, langs[l].unsub) == NULL,
					    "%s: unsubscribe without a link", where);
					CHECK(strstr(out, langs[l].tracking) == NULL,
					    "%s: tracking without a number", where);
					if (strncmp(t->name, "cart_", 5) == 0)
						CHECK(strstr(out, "checkouts/c2/recover") != NULL,
						    "%s: no link to the cart", where);
					if (strcmp(t->name, "shipping_update") == 0 ||
					    strcmp(t->name, "delivery_confirmation") == 0)
						CHECK(strstr(out, "Kubek") != NULL, "%s: no items", where);
					if (strcmp(t->name, "review_request") == 0 ||
					    strcmp(t->name, "loyalty_invite") == 0 ||
					    strcmp(t->name, "cross_sell") == 0)
						CHECK(strstr(out, "https://demo.myshopify.com") != NULL,
						    "%s: no link to the shop", where);
				}
				free(out);
			}
		}
	}
	json_decref(ctx);
}

/*
 * The delivered flow's fallback (no delivery event) may come without "ship";
 * the cart flow has no order, and out_for_delivery relies on "ship" alone.
 * None of them leaves a gap.
 */
static void
test_all_absent_parts(void **state)
{
	static const char *delivered[] = {
		"delivery_confirmation", "product_tips", "review_request", "cross_sell",
		"loyalty_invite",
	};
	static const char *no_order[] = {
		"cart_reminder_1", "cart_reminder_2", "cart_reminder_3", "out_for_delivery",
	};
	json_t *noship = load_ctx(full_json), *emptyship = load_ctx(full_json);
	json_t *noorder = load_ctx(full_json);
	char *out;
	size_t i, l, p;
	int m;

	(void)state;
	json_object_del(noship, "ship");
	json_object_set_new(emptyship, "ship", json_object());	/* no shipping event merged */
	json_object_del(noorder, "order");
	for (l = 0; l < NLOCALES; l++) {
		for (p = 0; p < 3; p++) {
			for (i = 0; i < sizeof delivered / sizeof delivered[0]; i++) {
				out = render(langs[l].locale, delivered[i], parts[p], noship, &m);
				CHECK(m == 0, "no ship %s/%s.%s: %d missing", langs[l].locale,
				    delivered[i], parts[p], m);
				free(out);
				out = render(langs[l].locale, delivered[i], parts[p], emptyship, &m);
				CHECK(m == 0, "empty ship %s/%s.%s: %d missing", langs[l].locale,
				    delivered[i], parts[p], m);
				free(out);
			}
			out = render(langs[l].locale, "shipping_update", parts[p], emptyship, &m);
			CHECK(m == 0, "empty ship %s/shipping_update.%s: %d missing",
			    langs[l].locale, parts[p], m);
			CHECK(p == 0 || strstr(out, "Tea & Biscuits") != NULL ||
			    strstr(out, "Tea &amp; Biscuits") != NULL,
			    "empty ship %s/shipping_update.%s: no order items", langs[l].locale,
			    parts[p]);
			free(out);
			for (i = 0; i < sizeof no_order / sizeof no_order[0]; i++) {
				out = render(langs[l].locale, no_order[i], parts[p], noorder, &m);
				CHECK(m == 0, "no order %s/%s.%s: %d missing", langs[l].locale,
				    no_order[i], parts[p], m);
				free(out);
			}
		}
		out = render(langs[l].locale, "out_for_delivery", "sms", noorder, &m);
		CHECK(m == 0, "no order %s/out_for_delivery.sms: %d missing", langs[l].locale, m);
		free(out);
		for (p = 0; p < 3; p++) {
			out = render(langs[l].locale, "shipping_update", parts[p], noorder, &m);
			CHECK(m > 0, "no order %s/shipping_update.%s: order.name not counted",
			    langs[l].locale, parts[p]);
			free(out);
		}
	}
	json_decref(noship);
	json_decref(emptyship);
	json_decref(noorder);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_present),
		cmocka_unit_test(test_all_full),
		cmocka_unit_test(test_all_minimal),
		cmocka_unit_test(test_all_absent_parts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
