/*
 * provider_mailgun: the exact multipart request for a Greek message (split
 * on its boundary and compared field by field), refusals, and Mailgun's
 * answers.
 */
#include "provider_test.h"

static struct config
mg_config(const char *url)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.mailgun_api_key = (char *)"key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
	cfg.mailgun_domain = (char *)"mg.example.com";
	cfg.mailgun_url = (char *)url;
	return cfg;
}

/* The boundary of req's Content-Type; fails unless it is multipart/form-data. */
static const char *
mg_boundary(const struct provider_req *req)
{
	const char *ct = pt_req_header(req, "Content-Type");
	static const char pfx[] = "multipart/form-data; boundary=";

	assert_non_null(ct);
	if (strncmp(ct, pfx, strlen(pfx)) != 0)
		fail_msg("Content-Type: %s", ct);
	return ct + strlen(pfx);
}

static void
test_request(void **state)
{
	static const char *const want[][2] = {
		{ "from", "\"Demo \\\"Shop\\\", Αθήνα\" <shop@example.com>" },
		{ "to", "\"Άννα Παπαδοπούλου\" <anna@example.gr>" },
		{ "subject", GREEK_SUBJECT },
		{ "text", GREEK_TEXT },
		{ "html", GREEK_HTML },
		{ "o:tag", "reminder_1" },
		{ "v:nudge_id", "4f1c2a9be07d5e3a6b8c0d12" },
		{ "v:shop", "demo.myshopify.com" },
		{ "v:flow", "abandoned_cart" },
		{ "v:step", "reminder_1" },
		{ "h:List-Unsubscribe", "<https://nudge.example.com/u/abc?s=1>" },
		{ "h:List-Unsubscribe-Post", "List-Unsubscribe=One-Click" },
	};
	struct config cfg = mg_config("https://api.eu.mailgun.net/");
	struct message m = pt_email();
	struct provider_req req;
	struct pt_fields f;
	const char *b;
	size_t i;

	(void)state;
	pt_build(&provider_mailgun, &cfg, &m, &req);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "https://api.eu.mailgun.net/v3/mg.example.com/messages");
	assert_string_equal(req.userpwd, "api:key-3ax6xnjp29jd6fds4gc373sgvjxteol0");
	assert_int_equal(req.nheaders, 1);
	b = mg_boundary(&req);
	assert_true(strlen(b) >= 20 && strlen(b) <= 70);
	assert_null(req.mail_from);
	pt_multipart(req.body.data, req.body.len, b, &f);
	assert_int_equal(f.n, sizeof want / sizeof want[0]);
	for (i = 0; i < f.n; i++) {
		assert_string_equal(f.name[i], want[i][0]);
		assert_string_equal(f.value[i], want[i][1]);
	}
	pt_fields_free(&f);
	provider_req_free(&req);
}

/* Transactional, default URL; a value containing a would-be boundary. */
static void
test_request_plain(void **state)
{
	struct config cfg = mg_config(NULL);
	struct message m = pt_email();
	struct provider_req req;
	struct pt_fields f;

	(void)state;
	m.unsubscribe_url = NULL;
	m.to_name = NULL;
	m.html = NULL;
	m.text = "line\r\n--nudge-000000000000000000000000--\r\nafter";
	m.subject = "Zażółć gęślą jaźń\nnext";
	pt_build(&provider_mailgun, &cfg, &m, &req);
	assert_string_equal(req.url, "https://api.mailgun.net/v3/mg.example.com/messages");
	pt_multipart(req.body.data, req.body.len, mg_boundary(&req), &f);
	assert_int_equal(f.n, 9);
	assert_string_equal(pt_field(&f, "to", 0), "anna@example.gr");
	assert_string_equal(pt_field(&f, "subject", 0), "Zażółć gęślą jaźń next");
	assert_string_equal(pt_field(&f, "text", 0), m.text);
	assert_null(pt_field(&f, "html", 0));
	assert_null(pt_field(&f, "h:List-Unsubscribe", 0));
	pt_fields_free(&f);
	provider_req_free(&req);
}

static void
test_refused(void **state)
{
	struct config cfg = mg_config(NULL);
	struct message m = pt_email();

	(void)state;
	cfg.mailgun_api_key = (char *)"";
	pt_refused(&provider_mailgun, &cfg, &m, "MAILGUN_API_KEY is empty");
	cfg = mg_config(NULL);
	cfg.mailgun_domain = NULL;
	pt_refused(&provider_mailgun, &cfg, &m, "MAILGUN_DOMAIN is empty");
	cfg.mailgun_domain = (char *)"mg.example.com/../../v4";
	pt_refused(&provider_mailgun, &cfg, &m, "MAILGUN_DOMAIN is not a domain name");
	cfg = mg_config(NULL);
	m.to = "anna@example.gr\r\nBcc: x@y.z";
	pt_refused(&provider_mailgun, &cfg, &m, "mailgun: recipient address is not valid");
	m = pt_email();
	m.html = "<p>\xc0\xaf</p>";	/* overlong '/' */
	pt_refused(&provider_mailgun, &cfg, &m, "mailgun: html is not valid UTF-8 text");
	m = pt_email();
	m.step = "\xed\xa0\x80";	/* a UTF-16 surrogate */
	pt_refused(&provider_mailgun, &cfg, &m, "mailgun: o:tag is not valid UTF-8");
}

static void
test_classify(void **state)
{
	static const struct pt_answer t[] = {
		{ 200, 0, NULL, 0, { NULL }, "{\"id\":\"<20240101100000.1.ABCDEF@mg.example.com>\","
		  "\"message\":\"Queued. Thank you.\"}", NULL,
		  SEND_OK, 0, "20240101100000.1.ABCDEF@mg.example.com", "" },
		{ 200, 0, NULL, 0, { NULL }, "{\"id\":\"plain-id\"}", NULL,
		  SEND_OK, 0, "plain-id", "" },
		/* throttling: Retry-After first, else the text */
		{ 429, 0, NULL, 0, { NULL }, "{\"message\":\"Domain mg.example.com is not "
		  "allowed to send: account-requests-per-sec limit exceeded, try again after "
		  "120 seconds\"}", NULL, SEND_RETRY, 120000, "",
		  "HTTP 429: Domain mg.example.com is not allowed to send: "
		  "account-requests-per-sec limit exceeded, try again after 120 seconds" },
		{ 429, 0, NULL, 0, { "Retry-After", "5" }, "{\"message\":\"try again after "
		  "120 seconds\"}", NULL, SEND_RETRY, 5000, "",
		  "HTTP 429: try again after 120 seconds" },
		{ 429, 0, NULL, 0, { NULL }, "{\"message\":\"slow down\"}", NULL,
		  SEND_RETRY, 0, "", "HTTP 429: slow down" },
		/* refusals */
		{ 400, 0, NULL, 0, { NULL }, "{\"message\":\"to parameter is not a valid "
		  "address. please check documentation\"}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 400: to parameter is not a valid address. please check documentation" },
		{ 401, 0, NULL, 0, { NULL }, "Forbidden", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 401: Forbidden" },
		{ 403, 0, NULL, 0, { NULL }, "{\"message\":\"Domain mg.example.com is not "
		  "allowed to send: Free accounts are for test purposes only.\"}", NULL,
		  SEND_PERMANENT, 0, "", "HTTP 403: Domain mg.example.com is not allowed to "
		  "send: Free accounts are for test purposes only." },
		{ 404, 0, NULL, 0, { NULL }, "{\"message\":\"Domain not found: mg.example.com\"}",
		  NULL, SEND_PERMANENT, 0, "", "HTTP 404: Domain not found: mg.example.com" },
		/* server errors, timeout */
		{ 500, 0, NULL, 0, { NULL }, "{\"message\":\"Internal error\"}", NULL,
		  SEND_RETRY, 0, "", "HTTP 500: Internal error" },
		{ 502, 0, NULL, 0, { NULL }, "<html>Bad Gateway</html>", NULL,
		  SEND_RETRY, 0, "", "HTTP 502: <html>Bad Gateway</html>" },
		{ 0, 28, "Operation timed out", 1, { NULL }, NULL, NULL,
		  SEND_RETRY, 0, "", "timed out: Operation timed out" },
	};

	(void)state;
	pt_classify(&provider_mailgun, t, sizeof t / sizeof t[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_plain),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_classify),
	};

	assert_ptr_equal(provider_find("mailgun"), &provider_mailgun);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
