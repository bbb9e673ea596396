/*
 * provider_postmark: the exact request for a Greek message (URL, every
 * header, the JSON body parsed back), refusals, and Postmark's answers.
 */
#include <jansson.h>

#include "provider_test.h"

static struct config
pm_config(const char *url)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.postmark_token = (char *)"pm-server-token";
	cfg.postmark_url = (char *)url;
	return cfg;
}

static json_t *
pm_json(const struct provider_req *req)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body.data, req->body.len, 0, &jerr);

	if (root == NULL)
		fail_msg("body is not JSON: %s", jerr.text);
	return root;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
test_request(void **state)
{
	struct config cfg = pm_config("https://api.postmarkapp.com/");
	struct message m = pt_email();
	struct provider_req req;
	json_t *root, *meta, *hdrs;

	(void)state;
	pt_build(&provider_postmark, &cfg, &m, &req);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "https://api.postmarkapp.com/email");
	assert_int_equal(req.nheaders, 3);
	assert_string_equal(req.headers[0], "X-Postmark-Server-Token: pm-server-token");
	assert_string_equal(req.headers[1], "Accept: application/json");
	assert_string_equal(req.headers[2], "Content-Type: application/json");
	assert_null(req.userpwd);
	assert_null(req.mail_from);
	assert_null(req.ref);
	/* UTF-8 as is, not \u-escaped */
	assert_non_null(strstr(req.body.data, GREEK_SUBJECT));

	root = pm_json(&req);
	assert_int_equal(json_object_size(root), 9);
	assert_string_equal(str(root, "From"), "\"Demo \\\"Shop\\\", Αθήνα\" <shop@example.com>");
	assert_string_equal(str(root, "To"), "\"Άννα Παπαδοπούλου\" <anna@example.gr>");
	assert_string_equal(str(root, "Subject"), GREEK_SUBJECT);
	assert_string_equal(str(root, "TextBody"), GREEK_TEXT);
	assert_string_equal(str(root, "HtmlBody"), GREEK_HTML);
	assert_string_equal(str(root, "MessageStream"), "broadcast");
	assert_string_equal(str(root, "Tag"), "reminder_1");
	meta = json_object_get(root, "Metadata");
	assert_int_equal(json_object_size(meta), 4);
	assert_string_equal(str(meta, "nudge_id"), m.id);
	assert_string_equal(str(meta, "shop"), "demo.myshopify.com");
	assert_string_equal(str(meta, "flow"), "abandoned_cart");
	assert_string_equal(str(meta, "step"), "reminder_1");
	hdrs = json_object_get(root, "Headers");
	assert_int_equal(json_array_size(hdrs), 2);
	assert_string_equal(str(json_array_get(hdrs, 0), "Name"), "List-Unsubscribe");
	assert_string_equal(str(json_array_get(hdrs, 0), "Value"),
	    "<https://nudge.example.com/u/abc?s=1>");
	assert_string_equal(str(json_array_get(hdrs, 1), "Name"), "List-Unsubscribe-Post");
	assert_string_equal(str(json_array_get(hdrs, 1), "Value"),
	    "List-Unsubscribe=One-Click");
	json_decref(root);
	provider_req_free(&req);
}

/* Transactional: outbound stream, no unsubscribe headers, no names. */
static void
test_request_transactional(void **state)
{
	struct config cfg = pm_config(NULL);
	struct message m = pt_email();
	struct provider_req req;
	json_t *root;

	(void)state;
	m.promotional = 0;
	m.unsubscribe_url = NULL;
	m.to_name = NULL;
	m.from_name = "";
	m.html = NULL;
	pt_build(&provider_postmark, &cfg, &m, &req);
	assert_string_equal(req.url, "https://api.postmarkapp.com/email");
	root = pm_json(&req);
	assert_string_equal(str(root, "MessageStream"), "outbound");
	assert_string_equal(str(root, "To"), "anna@example.gr");
	assert_string_equal(str(root, "From"), "shop@example.com");
	assert_null(json_object_get(root, "Headers"));
	assert_null(json_object_get(root, "HtmlBody"));
	assert_string_equal(str(root, "TextBody"), GREEK_TEXT);
	json_decref(root);
	provider_req_free(&req);
}

/* CR/LF in subject or names never reaches Postmark's headers. */
static void
test_request_injection(void **state)
{
	struct config cfg = pm_config(NULL);
	struct message m = pt_email();
	struct provider_req req;
	json_t *root;

	(void)state;
	m.subject = "Hi\r\nBcc: victim@example.com";
	m.to_name = "Anna\r\nBcc: x@y.z";
	pt_build(&provider_postmark, &cfg, &m, &req);
	root = pm_json(&req);
	assert_string_equal(str(root, "Subject"), "Hi  Bcc: victim@example.com");
	assert_string_equal(str(root, "To"), "\"Anna  Bcc: x@y.z\" <anna@example.gr>");
	json_decref(root);
	provider_req_free(&req);
}

static void
test_refused(void **state)
{
	struct config cfg = pm_config(NULL);
	struct message m;

	(void)state;
	m = pt_email();
	cfg.postmark_token = (char *)"";
	pt_refused(&provider_postmark, &cfg, &m, "POSTMARK_SERVER_TOKEN is empty");
	cfg.postmark_token = NULL;
	pt_refused(&provider_postmark, &cfg, &m, "POSTMARK_SERVER_TOKEN is empty");
	cfg.postmark_token = (char *)"tok\r\nX-Evil: 1";
	pt_refused(&provider_postmark, &cfg, &m,
	    "POSTMARK_SERVER_TOKEN contains a control character");
	cfg = pm_config(NULL);
	m.to = "anna@example.gr, eve@example.com";
	pt_refused(&provider_postmark, &cfg, &m, "postmark: recipient address is not valid");
	m = pt_email();
	m.from = "shop@example.com>\r\nBcc: <x@y.z";
	pt_refused(&provider_postmark, &cfg, &m, "postmark: sender address is not valid");
	m = pt_email();
	m.text = "";
	m.html = NULL;
	pt_refused(&provider_postmark, &cfg, &m, "postmark: message has neither text nor html");
	m = pt_email();
	m.subject = "bad \xce utf-8";
	pt_refused(&provider_postmark, &cfg, &m, "postmark: subject is not valid UTF-8 text");
	m = pt_email();
	m.flow = "\xff";
	pt_refused(&provider_postmark, &cfg, &m, "postmark: flow is not valid UTF-8");
}

static void
test_classify(void **state)
{
	static const struct pt_answer t[] = {
		/* success */
		{ 200, 0, NULL, 0, { NULL }, "{\"To\":\"anna@example.gr\",\"SubmittedAt\":"
		  "\"2024-01-01T10:00:00Z\",\"MessageID\":\"b7bc2f4a-e38e-4336-af7d-e6c392c2f817\","
		  "\"ErrorCode\":0,\"Message\":\"OK\"}", NULL,
		  SEND_OK, 0, "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "" },
		/* throttling, by status and by ErrorCode */
		{ 429, 0, NULL, 0, { "Retry-After", "20" }, "{\"ErrorCode\":429,"
		  "\"Message\":\"Rate Limit Exceeded\"}", NULL,
		  SEND_RETRY, 20000, "", "HTTP 429: ErrorCode 429: Rate Limit Exceeded" },
		{ 422, 0, NULL, 0, { NULL }, "{\"ErrorCode\":429,\"Message\":\"Rate limit\"}",
		  NULL, SEND_RETRY, 0, "", "HTTP 422: ErrorCode 429: Rate limit" },
		{ 429, 0, NULL, 0, { NULL }, "", NULL, SEND_RETRY, 0, "", "HTTP 429" },
		/* invalid or inactive recipient */
		{ 422, 0, NULL, 0, { NULL }, "{\"ErrorCode\":406,\"Message\":\"You tried to "
		  "send to recipient(s) that have been marked as inactive.\"}", NULL,
		  SEND_PERMANENT, 0, "", "HTTP 422: ErrorCode 406: You tried to send to "
		  "recipient(s) that have been marked as inactive." },
		{ 422, 0, NULL, 0, { NULL }, "{\"ErrorCode\":300,\"Message\":\"Invalid "
		  "'To' address: 'anna@'.\"}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 422: ErrorCode 300: Invalid 'To' address: 'anna@'." },
		/* bad token */
		{ 401, 0, NULL, 0, { NULL }, "{\"ErrorCode\":10,\"Message\":\"No Account or "
		  "Server API tokens were supplied in the HTTP headers.\"}", NULL,
		  SEND_PERMANENT, 0, "", "HTTP 401: ErrorCode 10: No Account or Server API "
		  "tokens were supplied in the HTTP headers." },
		/* a 200 that did not send */
		{ 200, 0, NULL, 0, { NULL }, "{\"ErrorCode\":412,\"Message\":\"Account pending\"}",
		  NULL, SEND_PERMANENT, 0, "", "HTTP 200: ErrorCode 412: Account pending" },
		/* server errors */
		{ 500, 0, NULL, 0, { NULL }, "Internal Server Error", NULL,
		  SEND_RETRY, 0, "", "HTTP 500: Internal Server Error" },
		{ 503, 0, NULL, 0, { "Retry-After", "60" }, "", NULL,
		  SEND_RETRY, 0, "", "HTTP 503" },
		/* timeout */
		{ 0, 28, "Operation timed out after 15000 milliseconds", 1, { NULL }, NULL,
		  NULL, SEND_RETRY, 0, "", "timed out: Operation timed out after 15000 milliseconds" },
	};

	(void)state;
	pt_classify(&provider_postmark, t, sizeof t / sizeof t[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_transactional),
		cmocka_unit_test(test_request_injection),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_classify),
	};

	assert_ptr_equal(provider_find("postmark"), &provider_postmark);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
