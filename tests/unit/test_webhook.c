/*
 * provider_webhook: the JSON body, the Standard Webhooks headers (the
 * signature checked against an independent HMAC, both secret forms), and
 * the classification of the receiver's answers.
 */
#include <jansson.h>

#include "provider_test.h"
#include "clock.h"
#include "sig.h"

/* base64 of "nudge-webhook-test-key-32-bytes!" */
#define WHSEC	"whsec_bnVkZ2Utd2ViaG9vay10ZXN0LWtleS0zMi1ieXRlcyE="
#define RAWKEY	"nudge-webhook-test-key-32-bytes!"

static struct config
wh_config(const char *secret)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.webhook_url = (char *)"https://hooks.example.com/nudge?x=1";
	cfg.webhook_secret = (char *)secret;
	return cfg;
}

/* Recomputes the signature of req with key and compares. */
static void
wh_check_sig(const struct provider_req *req, const char *id, const char *key)
{
	const char *ts = pt_req_header(req, "webhook-timestamp");
	const char *sig = pt_req_header(req, "webhook-signature");
	unsigned char mac[SIG_LEN];
	struct buf b;
	char *want;

	assert_non_null(ts);
	assert_non_null(sig);
	buf_init(&b);
	buf_printf(&b, "%s.%s.", id, ts);
	buf_add(&b, req->body.data, req->body.len);
	sig_hmac_sha256(key, strlen(key), b.data, b.len, mac);
	want = sig_b64_encode(mac, sizeof mac);
	assert_true(strncmp(sig, "v1,", 3) == 0);
	assert_string_equal(sig + 3, want);
	free(want);
	buf_free(&b);
}

static void
test_request(void **state)
{
	struct config cfg = wh_config(WHSEC);
	struct message m = pt_email();
	struct provider_req req;
	json_error_t jerr;
	json_t *root;
	int64_t before = clock_now_ms() / 1000, ts;

	(void)state;
	pt_build(&provider_webhook, &cfg, &m, &req);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "https://hooks.example.com/nudge?x=1");
	assert_null(req.userpwd);
	assert_string_equal(req.ref, m.id);
	assert_int_equal(req.nheaders, 4);
	assert_string_equal(req.headers[0], "Content-Type: application/json");
	assert_string_equal(req.headers[1], "webhook-id: 4f1c2a9be07d5e3a6b8c0d12");
	assert_int_equal(util_parse_i64(pt_req_header(&req, "webhook-timestamp"), &ts), 0);
	assert_true(ts >= before && ts <= clock_now_ms() / 1000);
	wh_check_sig(&req, m.id, RAWKEY);

	root = json_loadb(req.body.data, req.body.len, 0, &jerr);
	assert_non_null(root);
	assert_int_equal(json_object_size(root), 15);
	assert_string_equal(json_string_value(json_object_get(root, "id")), m.id);
	assert_string_equal(json_string_value(json_object_get(root, "shop")), m.shop);
	assert_string_equal(json_string_value(json_object_get(root, "flow")), m.flow);
	assert_string_equal(json_string_value(json_object_get(root, "step")), m.step);
	assert_string_equal(json_string_value(json_object_get(root, "channel")), "email");
	assert_string_equal(json_string_value(json_object_get(root, "locale")), "el");
	assert_string_equal(json_string_value(json_object_get(root, "to")), m.to);
	assert_string_equal(json_string_value(json_object_get(root, "to_name")), m.to_name);
	assert_string_equal(json_string_value(json_object_get(root, "from")), m.from);
	assert_string_equal(json_string_value(json_object_get(root, "from_name")), m.from_name);
	assert_string_equal(json_string_value(json_object_get(root, "subject")), GREEK_SUBJECT);
	assert_string_equal(json_string_value(json_object_get(root, "html")), GREEK_HTML);
	assert_string_equal(json_string_value(json_object_get(root, "text")), GREEK_TEXT);
	assert_true(json_is_true(json_object_get(root, "promotional")));
	assert_string_equal(json_string_value(json_object_get(root, "unsubscribe_url")),
	    m.unsubscribe_url);
	json_decref(root);
	provider_req_free(&req);
}

/* An SMS through the webhook, a raw secret, absent fields as null. */
static void
test_request_sms_raw_secret(void **state)
{
	struct config cfg = wh_config("plain secret bytes");
	struct message m = pt_sms();
	struct provider_req req;
	json_error_t jerr;
	json_t *root;

	(void)state;
	pt_build(&provider_webhook, &cfg, &m, &req);
	wh_check_sig(&req, m.id, "plain secret bytes");
	root = json_loadb(req.body.data, req.body.len, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "channel")), "sms");
	assert_string_equal(json_string_value(json_object_get(root, "text")), POLISH_SMS);
	assert_true(json_is_null(json_object_get(root, "subject")));
	assert_true(json_is_null(json_object_get(root, "html")));
	assert_true(json_is_null(json_object_get(root, "unsubscribe_url")));
	assert_true(json_is_false(json_object_get(root, "promotional")));
	json_decref(root);
	provider_req_free(&req);
}

static void
test_refused(void **state)
{
	struct config cfg = wh_config(WHSEC);
	struct message m = pt_email();

	(void)state;
	cfg.webhook_url = (char *)"";
	pt_refused(&provider_webhook, &cfg, &m, "NUDGE_WEBHOOK_URL is empty");
	cfg = wh_config("");
	pt_refused(&provider_webhook, &cfg, &m, "NUDGE_WEBHOOK_SECRET is empty");
	cfg = wh_config("whsec_not*base64");
	pt_refused(&provider_webhook, &cfg, &m,
	    "NUDGE_WEBHOOK_SECRET: the part after whsec_ is not base64");
	cfg = wh_config(WHSEC);
	m.id = "abc\r\nX-Evil: 1";
	pt_refused(&provider_webhook, &cfg, &m, "webhook: message id is empty or not header-safe");
	m = pt_email();
	m.text = "\xf4\x90\x80\x80";	/* beyond U+10FFFF */
	pt_refused(&provider_webhook, &cfg, &m, "webhook: text is not valid UTF-8");
}

static void
test_classify(void **state)
{
	static const struct pt_answer t[] = {
		{ 200, 0, NULL, 0, { NULL }, "ok", "4f1c2a9be07d5e3a6b8c0d12",
		  SEND_OK, 0, "4f1c2a9be07d5e3a6b8c0d12", "" },
		{ 204, 0, NULL, 0, { "webhook-id", "rcv-77" }, "", "4f1c",
		  SEND_OK, 0, "rcv-77", "" },
		{ 202, 0, NULL, 0, { "Webhook-Id", "" }, "", "4f1c", SEND_OK, 0, "4f1c", "" },
		/* gone: stop */
		{ 410, 0, NULL, 0, { NULL }, "Gone", "x", SEND_PERMANENT, 0, "", "HTTP 410: Gone" },
		/* throttling and server trouble, with Retry-After */
		{ 429, 0, NULL, 0, { "Retry-After", "30" }, "", "x", SEND_RETRY, 30000, "",
		  "HTTP 429" },
		{ 503, 0, NULL, 0, { "Retry-After", "120" }, "busy", "x", SEND_RETRY, 120000, "",
		  "HTTP 503: busy" },
		{ 502, 0, NULL, 0, { NULL }, "", "x", SEND_RETRY, 0, "", "HTTP 502" },
		{ 504, 0, NULL, 0, { "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT" }, "", "x",
		  SEND_RETRY, 0, "", "HTTP 504" },
		{ 500, 0, NULL, 0, { NULL }, "", "x", SEND_RETRY, 0, "", "HTTP 500" },
		/* other refusals */
		{ 400, 0, NULL, 0, { NULL }, "bad signature", "x", SEND_PERMANENT, 0, "",
		  "HTTP 400: bad signature" },
		{ 404, 0, NULL, 0, { NULL }, "", "x", SEND_PERMANENT, 0, "", "HTTP 404" },
		{ 0, 28, "Operation timed out", 1, { NULL }, NULL, "x",
		  SEND_RETRY, 0, "", "timed out: Operation timed out" },
	};

	(void)state;
	pt_classify(&provider_webhook, t, sizeof t / sizeof t[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_sms_raw_secret),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_classify),
	};

	assert_ptr_equal(provider_find("webhook"), &provider_webhook);
	assert_int_equal(provider_webhook.channel, CHANNEL_WEBHOOK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
