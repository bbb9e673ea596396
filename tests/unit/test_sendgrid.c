/*
 * provider_sendgrid and the shared provider helpers: the exact request
 * built for a message (URL, headers, JSON body parsed back field by field)
 * and the classification of SendGrid's documented answers.
 */
#include <stdint.h>

#include <jansson.h>

#include "unit.h"
#include "config.h"
#include "provider.h"

#define GREEK_SUBJECT	"Η παραγγελία σας #1001 στάλθηκε"
#define NOW_MS		1700000000000LL

/*
 * A fake response header table: name, value, name, value, ..., NULL;
 * looked up case-insensitively as dispatch does.
 */
static const char *
fake_header(void *hctx, const char *name)
{
	const char *const *h = hctx;
	size_t i;

	for (i = 0; h[i] != NULL; i += 2) {
		if (strcasecmp(h[i], name) == 0)
			return h[i + 1];
	}
	return NULL;
}

static struct message
sample_message(void)
{
	struct message m;

	memset(&m, 0, sizeof m);
	m.id = "msg-7b1e0c";
	m.shop = "demo.myshopify.com";
	m.flow = "abandoned_cart";
	m.step = "reminder_1";
	m.template = "abandoned_cart/reminder_1";
	m.channel = CHANNEL_EMAIL;
	m.promotional = 1;
	m.locale = "el";
	m.to = "anna@example.gr";
	m.to_name = "Άννα Παπαδοπούλου";
	m.from = "shop@example.com";
	m.from_name = "Demo \"Shop\"";
	m.subject = GREEK_SUBJECT;
	m.text = "Γεια σου Άννα,\nξέχασες κάτι.";
	m.html = "<p>Γεια σου <b>Άννα</b></p>";
	m.unsubscribe_url = "https://nudge.example.com/u/abc?s=1";
	return m;
}

static struct config
sample_config(const char *url)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.sendgrid_api_key = (char *)"SG.test-key";
	cfg.sendgrid_url = (char *)url;
	return cfg;
}

/* Builds m and parses the body back; fails the test on a build error. */
static json_t *
build_ok(const struct config *cfg, const struct message *m, struct provider_req *req)
{
	char *cause = NULL;
	json_error_t jerr;
	json_t *root;

	provider_req_init(req);
	if (provider_sendgrid.build(cfg, m, req, &cause) != 0)
		fail_msg("build: %s", cause);
	root = json_loadb(req->body.data, req->body.len, 0, &jerr);
	if (root == NULL)
		fail_msg("body is not JSON: %s: %s", jerr.text, req->body.data);
	return root;
}

static const char *
str_at(json_t *root, const char *path)
{
	json_t *v = json_object_get(root, path);

	return json_string_value(v);
}

static void
test_request_url(void **state)
{
	static const struct {
		const char	*base;
		const char	*url;
	} t[] = {
		{ "https://api.sendgrid.com", "https://api.sendgrid.com/v3/mail/send" },
		{ "https://api.sendgrid.com/", "https://api.sendgrid.com/v3/mail/send" },
		{ "https://api.eu.sendgrid.com", "https://api.eu.sendgrid.com/v3/mail/send" },
		{ "http://127.0.0.1:18025//", "http://127.0.0.1:18025/v3/mail/send" },
		{ "", "https://api.sendgrid.com/v3/mail/send" },
		{ NULL, "https://api.sendgrid.com/v3/mail/send" },
	};
	struct message m = sample_message();
	struct provider_req req;
	struct config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cfg = sample_config(t[i].base);
		json_decref(build_ok(&cfg, &m, &req));
		assert_string_equal(req.method, "POST");
		assert_string_equal(req.url, t[i].url);
		assert_int_equal(req.nheaders, 2);
		assert_string_equal(req.headers[0], "Authorization: Bearer SG.test-key");
		assert_string_equal(req.headers[1], "Content-Type: application/json");
		assert_null(req.headers[2]);
		assert_null(req.userpwd);
		assert_null(req.mail_from);
		provider_req_free(&req);
	}
}

static void
test_request_body(void **state)
{
	struct config cfg = sample_config("https://api.sendgrid.com");
	struct message m = sample_message();
	json_t *root, *p0, *to0, *args, *content, *cats, *hdrs, *from;
	struct provider_req req;

	(void)state;
	root = build_ok(&cfg, &m, &req);
	/* Compact, and UTF-8 kept as is rather than \u-escaped. */
	assert_null(strchr(req.body.data, '\n'));
	assert_non_null(strstr(req.body.data, GREEK_SUBJECT));

	assert_int_equal(json_object_size(root), 6);
	assert_int_equal(json_array_size(json_object_get(root, "personalizations")), 1);
	p0 = json_array_get(json_object_get(root, "personalizations"), 0);
	assert_int_equal(json_object_size(p0), 2);
	assert_int_equal(json_array_size(json_object_get(p0, "to")), 1);
	to0 = json_array_get(json_object_get(p0, "to"), 0);
	assert_int_equal(json_object_size(to0), 2);
	assert_string_equal(str_at(to0, "email"), "anna@example.gr");
	assert_string_equal(str_at(to0, "name"), "Άννα Παπαδοπούλου");

	args = json_object_get(p0, "custom_args");
	assert_true(json_is_object(args));
	assert_int_equal(json_object_size(args), 4);
	assert_string_equal(str_at(args, "nudge_id"), "msg-7b1e0c");
	assert_string_equal(str_at(args, "shop"), "demo.myshopify.com");
	assert_string_equal(str_at(args, "flow"), "abandoned_cart");
	assert_string_equal(str_at(args, "step"), "reminder_1");
	assert_null(json_object_get(root, "custom_args"));

	from = json_object_get(root, "from");
	assert_int_equal(json_object_size(from), 2);
	assert_string_equal(str_at(from, "email"), "shop@example.com");
	assert_string_equal(str_at(from, "name"), "Demo \"Shop\"");
	assert_string_equal(str_at(root, "subject"), GREEK_SUBJECT);

	content = json_object_get(root, "content");
	assert_int_equal(json_array_size(content), 2);
	assert_string_equal(str_at(json_array_get(content, 0), "type"), "text/plain");
	assert_string_equal(str_at(json_array_get(content, 0), "value"), m.text);
	assert_string_equal(str_at(json_array_get(content, 1), "type"), "text/html");
	assert_string_equal(str_at(json_array_get(content, 1), "value"), m.html);

	cats = json_object_get(root, "categories");
	assert_int_equal(json_array_size(cats), 2);
	assert_string_equal(json_string_value(json_array_get(cats, 0)), "abandoned_cart");
	assert_string_equal(json_string_value(json_array_get(cats, 1)), "reminder_1");

	hdrs = json_object_get(root, "headers");
	assert_int_equal(json_object_size(hdrs), 2);
	assert_string_equal(str_at(hdrs, "List-Unsubscribe"),
	    "<https://nudge.example.com/u/abc?s=1>");
	assert_string_equal(str_at(hdrs, "List-Unsubscribe-Post"),
	    "List-Unsubscribe=One-Click");
	json_decref(root);
	provider_req_free(&req);
}

/* Transactional mail: no unsubscribe headers, empty names and parts left out. */
static void
test_request_optional(void **state)
{
	struct config cfg = sample_config("https://api.sendgrid.com");
	struct message m = sample_message();
	struct provider_req req;
	json_t *root, *to0, *content, *cats;

	(void)state;
	m.promotional = 0;
	m.unsubscribe_url = NULL;
	m.to_name = "";
	m.from_name = NULL;
	m.html = "";
	m.step = "abandoned_cart";	/* same as flow: categories are unique */
	root = build_ok(&cfg, &m, &req);
	assert_null(json_object_get(root, "headers"));
	to0 = json_array_get(json_object_get(json_array_get(
	    json_object_get(root, "personalizations"), 0), "to"), 0);
	assert_int_equal(json_object_size(to0), 1);
	assert_null(json_object_get(to0, "name"));
	assert_int_equal(json_object_size(json_object_get(root, "from")), 1);
	content = json_object_get(root, "content");
	assert_int_equal(json_array_size(content), 1);
	assert_string_equal(str_at(json_array_get(content, 0), "type"), "text/plain");
	cats = json_object_get(root, "categories");
	assert_int_equal(json_array_size(cats), 1);
	json_decref(root);
	provider_req_free(&req);

	/* html only */
	m = sample_message();
	m.text = NULL;
	m.unsubscribe_url = "";
	root = build_ok(&cfg, &m, &req);
	assert_null(json_object_get(root, "headers"));
	content = json_object_get(root, "content");
	assert_int_equal(json_array_size(content), 1);
	assert_string_equal(str_at(json_array_get(content, 0), "type"), "text/html");
	json_decref(root);
	provider_req_free(&req);
}

/* A category longer than 255 characters is cut on a character boundary. */
static void
test_request_long_category(void **state)
{
	struct config cfg = sample_config("https://api.sendgrid.com");
	struct message m = sample_message();
	struct provider_req req;
	struct buf flow;
	const char *c;
	json_t *root;
	int i;

	(void)state;
	buf_init(&flow);
	for (i = 0; i < 300; i++)
		buf_adds(&flow, "λ");
	m.flow = flow.data;
	root = build_ok(&cfg, &m, &req);
	c = json_string_value(json_array_get(json_object_get(root, "categories"), 0));
	assert_non_null(c);
	assert_int_equal(strlen(c), 255 * 2);
	/* custom_args keeps the whole flow */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(root, "personalizations"), 0),
	    "custom_args"), "flow")), flow.data);
	json_decref(root);
	provider_req_free(&req);
	buf_free(&flow);
}

static void
test_request_refused(void **state)
{
	static const struct {
		const char	*key;
		const char	*to;
		const char	*text;
		const char	*html;
		const char	*subject;
		const char	*cause;
	} t[] = {
		{ "", "a@b.c", "x", "y", "s", "SENDGRID_API_KEY is empty" },
		{ NULL, "a@b.c", "x", "y", "s", "SENDGRID_API_KEY is empty" },
		{ "k", "", "x", "y", "s", "sendgrid: recipient or sender address is empty" },
		{ "k", "a@b.c", "", NULL, "s", "sendgrid: message has neither text nor html" },
		{ "k", "a@b.c", "x", "y", "bad \xff utf-8", "sendgrid: subject is not valid UTF-8" },
	};
	struct message m = sample_message();
	struct provider_req req;
	struct config cfg;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cfg = sample_config("https://api.sendgrid.com");
		cfg.sendgrid_api_key = (char *)t[i].key;
		m.to = t[i].to;
		m.text = t[i].text;
		m.html = t[i].html;
		m.subject = t[i].subject;
		cause = NULL;
		provider_req_init(&req);
		assert_int_equal(provider_sendgrid.build(&cfg, &m, &req, &cause), -1);
		assert_non_null(cause);
		assert_string_equal(cause, t[i].cause);
		free(cause);
		provider_req_free(&req);
	}
}

static void
test_classify(void **state)
{
	static const struct {
		long		 status;
		int		 transport_error;
		const char	*error;
		int		 timed_out;
		const char	*hdrs[8];
		const char	*body;
		enum send_outcome outcome;
		int64_t		 retry_after_ms;
		const char	*provider_id;
		const char	*text;
	} t[] = {
		{ 202, 0, NULL, 0, { "X-Message-Id", "sg-abc123" }, "",
		  SEND_OK, 0, "sg-abc123", "" },
		{ 200, 0, NULL, 0, { "x-message-id", "lower" }, NULL,
		  SEND_OK, 0, "lower", "" },
		{ 429, 0, NULL, 0, { "Retry-After", "7" }, "",
		  SEND_RETRY, 7000, "", "HTTP 429" },
		{ 429, 0, NULL, 0, { "X-RateLimit-Limit", "600", "X-RateLimit-Remaining", "0",
		  "X-RateLimit-Reset", "1700000030" },
		  "{\"errors\":[{\"field\":null,\"message\":\"too many requests\"}]}",
		  SEND_RETRY, 30000, "", "HTTP 429: too many requests" },
		{ 429, 0, NULL, 0, { "X-RateLimit-Reset", "1699999990" }, "",
		  SEND_RETRY, 1000, "", "HTTP 429" },
		{ 429, 0, NULL, 0, { "Retry-After", "3", "X-RateLimit-Reset",
		  "1700000030" }, "", SEND_RETRY, 3000, "", "HTTP 429" },
		{ 429, 0, NULL, 0, { NULL }, "", SEND_RETRY, 0, "", "HTTP 429" },
		{ 500, 0, NULL, 0, { NULL }, "Internal\r\n  error\n",
		  SEND_RETRY, 0, "", "HTTP 500: Internal error" },
		{ 503, 0, NULL, 0, { NULL }, "<html>\n<b>Service Unavailable</b>",
		  SEND_RETRY, 0, "", "HTTP 503: <html> <b>Service Unavailable</b>" },
		{ 0, 28, "Operation timed out after 15000 milliseconds with 0 bytes received",
		  1, { NULL }, NULL, SEND_RETRY, 0, "",
		  "timed out: Operation timed out after 15000 milliseconds with 0 bytes received" },
		{ 0, 7, "Failed to connect to api.sendgrid.com port 443: Connection refused",
		  0, { NULL }, NULL, SEND_RETRY, 0, "",
		  "transport: Failed to connect to api.sendgrid.com port 443: Connection refused" },
		{ 400, 0, NULL, 0, { NULL },
		  "{\"errors\":[{\"message\":\"The to email does not contain a valid address.\","
		  "\"field\":\"personalizations.0.to.0.email\",\"help\":\"http://sendgrid.com/docs\"}]}",
		  SEND_PERMANENT, 0, "",
		  "HTTP 400: The to email does not contain a valid address. "
		  "(personalizations.0.to.0.email)" },
		{ 401, 0, NULL, 0, { NULL },
		  "{\"errors\":[{\"field\":null,\"message\":\"The provided authorization grant "
		  "is invalid, expired, or revoked\",\"help\":null}]}",
		  SEND_PERMANENT, 0, "",
		  "HTTP 401: The provided authorization grant is invalid, expired, or revoked" },
		{ 403, 0, NULL, 0, { NULL },
		  "{\"errors\":[{\"message\":\"The from address does not match a verified "
		  "Sender Identity.\",\"field\":\"from\"}]}", SEND_PERMANENT, 0, "",
		  "HTTP 403: The from address does not match a verified Sender Identity. (from)" },
		{ 404, 0, NULL, 0, { NULL }, "", SEND_PERMANENT, 0, "", "HTTP 404" },
		{ 413, 0, NULL, 0, { NULL }, "Payload Too Large", SEND_PERMANENT, 0, "",
		  "HTTP 413: Payload Too Large" },
		{ 408, 0, NULL, 0, { NULL }, "", SEND_RETRY, 0, "", "HTTP 408" },
		{ 301, 0, NULL, 0, { NULL }, "", SEND_PERMANENT, 0, "", "HTTP 301" },
	};
	struct provider_result res;
	struct provider_resp resp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&resp, 0, sizeof resp);
		resp.status = t[i].status;
		resp.transport_error = t[i].transport_error;
		resp.error = t[i].error;
		resp.timed_out = t[i].timed_out;
		resp.body = t[i].body;
		resp.body_len = t[i].body != NULL ? strlen(t[i].body) : 0;
		resp.header = fake_header;
		resp.hctx = (void *)t[i].hdrs;
		resp.now_ms = NOW_MS;
		memset(&res, 0xa5, sizeof res);
		provider_sendgrid.classify(&resp, &res);
		if (res.outcome != t[i].outcome ||
		    res.retry_after_ms != t[i].retry_after_ms ||
		    strcmp(res.provider_id, t[i].provider_id) != 0 ||
		    strcmp(res.error, t[i].text) != 0)
			fail_msg("case %zu (HTTP %ld): outcome %d retry %lld id \"%s\" "
			    "error \"%s\"", i, t[i].status, (int)res.outcome,
			    (long long)res.retry_after_ms, res.provider_id, res.error);
	}
}

/* The generic error text: at most 200 bytes of the body, printable only. */
static void
test_classify_generic_text(void **state)
{
	struct provider_result res;
	struct provider_resp resp;
	struct buf body;
	int i;

	(void)state;
	buf_init(&body);
	for (i = 0; i < 300; i++)
		buf_addc(&body, (char)('a' + i % 26));
	buf_adds(&body, "\x01\xce\xb1");
	memset(&resp, 0, sizeof resp);
	resp.status = 422;
	resp.body = body.data;
	resp.body_len = body.len;
	provider_classify_http(&resp, &res);
	assert_int_equal(res.outcome, SEND_PERMANENT);
	assert_int_equal(strlen(res.error), strlen("HTTP 422: ") + 200);
	assert_int_equal(strncmp(res.error, "HTTP 422: abcdefghij", 20), 0);

	buf_reset(&body);
	buf_adds(&body, "bad \xce\xb1\x7f\tend");
	resp.body = body.data;
	resp.body_len = body.len;
	provider_classify_http(&resp, &res);
	assert_string_equal(res.error, "HTTP 422: bad ?? end");
	buf_free(&body);
}

static void
test_retry_after(void **state)
{
	static const struct {
		const char	*value;
		int64_t		 now_ms;
		int64_t		 want;
	} t[] = {
		{ "7", NOW_MS, 7000 },
		{ " 7 ", NOW_MS, 7000 },
		{ "0", NOW_MS, 0 },
		{ "120", 0, 120000 },
		{ "86400", NOW_MS, 86400000 },
		{ "86401", NOW_MS, 86400000 },			/* capped at 24h */
		{ "99999999999999999999999", NOW_MS, 86400000 },
		{ NULL, NOW_MS, 0 },
		{ "", NOW_MS, 0 },
		{ "soon", NOW_MS, 0 },
		{ "-5", NOW_MS, 0 },
		{ "7x", NOW_MS, 0 },
		{ "1.5", NOW_MS, 0 },
		/* 2015-10-21 07:28:00 UTC is 1445412480 */
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 1445412480000LL - 120000, 120000 },
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 1445412480000LL - 1500, 1500 },
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 1445412480000LL, 0 },
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 1445412480000LL + 5000, 0 },	/* past */
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 1445000000000LL, 86400000 },	/* far */
		{ "Thu, 29 Feb 2024 23:59:59 GMT", 1709251199000LL - 60000, 60000 },
		{ "Thu, 01 Jan 1970 00:00:10 GMT", 0, 10000 },
		{ "Wed, 32 Oct 2015 07:28:00 GMT", 1445412480000LL - 1000, 0 },
		{ "Wed, 21 Foo 2015 07:28:00 GMT", 1445412480000LL - 1000, 0 },
		{ "Wed, 21 Oct 2015 07:28:00 UTC", 1445412480000LL - 1000, 0 },
		{ "Wednesday, 21-Oct-15 07:28:00 GMT", 1445412480000LL - 1000, 0 },
		{ "Wed Oct 21 07:28:00 2015", 1445412480000LL - 1000, 0 },
	};
	size_t i;
	int64_t got;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		got = provider_retry_after_ms(t[i].value, t[i].now_ms);
		if (got != t[i].want)
			fail_msg("case %zu \"%s\": got %lld, want %lld", i,
			    t[i].value ? t[i].value : "(null)", (long long)got,
			    (long long)t[i].want);
	}
}

static void
test_find(void **state)
{
	(void)state;
	assert_ptr_equal(provider_find("sendgrid"), &provider_sendgrid);
	assert_ptr_equal(provider_find("log"), &provider_log);
	assert_null(provider_find("SendGrid"));
	assert_null(provider_find("nope"));
	assert_null(provider_find(NULL));
	assert_int_equal(provider_sendgrid.channel, CHANNEL_EMAIL);
	assert_non_null(provider_sendgrid.build);
	assert_non_null(provider_sendgrid.classify);
	assert_null(provider_sendgrid.deliver);
}

static void
test_req_header(void **state)
{
	struct provider_req req;

	(void)state;
	provider_req_init(&req);
	provider_req_header(&req, "X-A: %d", 1);
	provider_req_header(&req, "X-B: %s", "two");
	assert_int_equal(req.nheaders, 2);
	assert_string_equal(req.headers[0], "X-A: 1");
	assert_string_equal(req.headers[1], "X-B: two");
	assert_null(req.headers[2]);
	provider_req_free(&req);
	assert_int_equal(req.nheaders, 0);
	assert_null(req.url);
	assert_int_equal(req.body.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_url),
		cmocka_unit_test(test_request_body),
		cmocka_unit_test(test_request_optional),
		cmocka_unit_test(test_request_long_category),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_classify_generic_text),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_req_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
