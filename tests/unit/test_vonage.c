/*
 * provider_vonage: the exact form request (type=unicode exactly when
 * GSM-7 will not do), refusals, and the per-part statuses of Vonage's
 * always-200 answers.
 */
#include "provider_test.h"

static struct config
vn_config(const char *url)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.vonage_key = (char *)"abcd1234";
	cfg.vonage_secret = (char *)"Secret&=123";
	cfg.vonage_from = (char *)"Sklep Demo";
	cfg.vonage_url = (char *)url;
	return cfg;
}

static void
test_request(void **state)
{
	static const char *const want[][2] = {
		{ "api_key", "abcd1234" },
		{ "api_secret", "Secret&=123" },
		{ "from", "Sklep Demo" },
		{ "to", "48500100200" },
		{ "text", POLISH_SMS },
		{ "type", "unicode" },
		{ "client-ref", "9a8b7c6d5e4f3a2b1c0d9e8f" },
	};
	struct config cfg = vn_config("https://rest.nexmo.com/");
	struct message m = pt_sms();
	struct provider_req req;
	struct pt_fields f;
	size_t i;

	(void)state;
	pt_build(&provider_vonage, &cfg, &m, &req);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "https://rest.nexmo.com/sms/json");
	assert_null(req.userpwd);
	assert_int_equal(req.nheaders, 2);
	assert_string_equal(req.headers[0], "Content-Type: application/x-www-form-urlencoded");
	assert_string_equal(req.headers[1], "Accept: application/json");
	pt_form(req.body.data, &f);
	assert_int_equal(f.n, sizeof want / sizeof want[0]);
	for (i = 0; i < f.n; i++) {
		assert_string_equal(f.name[i], want[i][0]);
		assert_string_equal(f.value[i], want[i][1]);
	}
	pt_fields_free(&f);
	provider_req_free(&req);
}

/* GSM-7 text: no type (Vonage's default is text); Greek capitals Δ Σ are GSM. */
static void
test_request_gsm(void **state)
{
	static const struct {
		const char	*text;
		const char	*type;
	} t[] = {
		{ "Your order #1001 ships today. Total: 10 EUR", NULL },
		{ "ΔΣ {promo} 10€ ~ [ok] ^_^ | \\ @£$¥", NULL },
		{ "Γεια σου", "unicode" },
		{ "Koszt: 10 zł", "unicode" },
		{ "Zamówienie gotowe 👍", "unicode" },
		{ "it’s here", "unicode" },
	};
	struct config cfg = vn_config(NULL);
	struct message m = pt_sms();
	struct provider_req req;
	struct pt_fields f;
	const char *type;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		m.text = t[i].text;
		pt_build(&provider_vonage, &cfg, &m, &req);
		assert_string_equal(req.url, "https://rest.nexmo.com/sms/json");
		pt_form(req.body.data, &f);
		assert_string_equal(pt_field(&f, "text", 0), t[i].text);
		type = pt_field(&f, "type", 0);
		if (t[i].type == NULL ? type != NULL : type == NULL ||
		    strcmp(type, t[i].type) != 0)
			fail_msg("case %zu: type %s", i, type ? type : "(none)");
		pt_fields_free(&f);
		provider_req_free(&req);
	}
}

static void
test_refused(void **state)
{
	struct config cfg = vn_config(NULL);
	struct message m = pt_sms();

	(void)state;
	cfg.vonage_key = (char *)"";
	pt_refused(&provider_vonage, &cfg, &m, "VONAGE_API_KEY is empty");
	cfg = vn_config(NULL);
	cfg.vonage_secret = NULL;
	pt_refused(&provider_vonage, &cfg, &m, "VONAGE_API_SECRET is empty");
	cfg = vn_config(NULL);
	cfg.vonage_from = (char *)"";
	pt_refused(&provider_vonage, &cfg, &m, "VONAGE_FROM is empty");
	cfg = vn_config(NULL);
	m.to = "+48-500-100-200";		/* separators are fine */
	m.text = NULL;
	pt_refused(&provider_vonage, &cfg, &m, "vonage: message has no text");
	m = pt_sms();
	m.to = "+48 5OO 100 200";		/* letter O */
	pt_refused(&provider_vonage, &cfg, &m, "vonage: recipient is not an E.164 number");
	m.to = "+048500100200";
	pt_refused(&provider_vonage, &cfg, &m, "vonage: recipient is not an E.164 number");
}

/* provider_e164, which both SMS providers use: what becomes which digits. */
static void
test_e164(void **state)
{
	static const struct {
		const char	*in;
		const char	*digits;	/* NULL: refused */
	} t[] = {
		{ "+48500100200", "48500100200" },
		{ "48500100200", "48500100200" },
		{ "0048500100200", "48500100200" },
		{ "+30 691 234 5678", "306912345678" },
		{ " +1 (415) 555-0100", "14155550100" },
		{ "+44.20.7946.0958", "442079460958" },
		{ "+123456789012345", "123456789012345" },
		{ "+1234567890123456", NULL },		/* 16 digits */
		{ "+123456", NULL },			/* 6 digits */
		{ "0691234567", NULL },			/* national */
		{ "+0691234567", NULL },
		{ "++48500100200", NULL },
		{ "+48 500 100 200 ext 5", NULL },
		{ "+48500100200\n", NULL },
		{ "", NULL },
		{ NULL, NULL },
	};
	char out[16];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		rc = provider_e164(t[i].in, out, sizeof out);
		if (t[i].digits == NULL ? rc != -1 : rc != 0 || strcmp(out, t[i].digits) != 0)
			fail_msg("case %zu \"%s\": rc %d out %s", i, t[i].in ? t[i].in : "(null)",
			    rc, rc == 0 ? out : "-");
	}
}

static void
test_classify(void **state)
{
	static const struct pt_answer t[] = {
		{ 200, 0, NULL, 0, { NULL }, "{\"message-count\":\"1\",\"messages\":[{\"to\":"
		  "\"48500100200\",\"message-id\":\"0A0000000123ABCD1\",\"status\":\"0\","
		  "\"remaining-balance\":\"3.14159265\",\"message-price\":\"0.03330000\","
		  "\"network\":\"26002\",\"client-ref\":\"9a8b7c6d5e4f3a2b1c0d9e8f\"}]}",
		  NULL, SEND_OK, 0, "0A0000000123ABCD1", "" },
		/* two parts, both sent: the first part's id */
		{ 200, 0, NULL, 0, { NULL }, "{\"message-count\":\"2\",\"messages\":["
		  "{\"message-id\":\"P1\",\"status\":\"0\"},{\"message-id\":\"P2\","
		  "\"status\":\"0\"}]}", NULL, SEND_OK, 0, "P1", "" },
		/* throttled, internal error */
		{ 200, 0, NULL, 0, { NULL }, "{\"message-count\":\"1\",\"messages\":[{\"status\":"
		  "\"1\",\"error-text\":\"Throughput Rate Exceeded - please wait [ 30 ] and "
		  "retry\"}]}", NULL, SEND_RETRY, 0, "", "HTTP 200: status 1: Throughput "
		  "Rate Exceeded - please wait [ 30 ] and retry" },
		{ 200, 0, NULL, 0, { NULL }, "{\"messages\":[{\"status\":\"5\",\"error-text\":"
		  "\"Internal Error\"}]}", NULL, SEND_RETRY, 0, "",
		  "HTTP 200: status 5: Internal Error" },
		/* refusals */
		{ 200, 0, NULL, 0, { NULL }, "{\"messages\":[{\"status\":\"3\",\"error-text\":"
		  "\"Invalid to address\"}]}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 200: status 3: Invalid to address" },
		{ 200, 0, NULL, 0, { NULL }, "{\"messages\":[{\"status\":\"4\",\"error-text\":"
		  "\"Bad Credentials\"}]}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 200: status 4: Bad Credentials" },
		{ 200, 0, NULL, 0, { NULL }, "{\"messages\":[{\"status\":\"7\",\"error-text\":"
		  "\"Number barred.\"}]}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 200: status 7: Number barred." },
		{ 200, 0, NULL, 0, { NULL }, "{\"messages\":[{\"status\":\"9\"}]}", NULL,
		  SEND_PERMANENT, 0, "", "HTTP 200: status 9: -" },
		/* mixed parts: a refusal wins over a throttle, a throttle over success */
		{ 200, 0, NULL, 0, { NULL }, "{\"messages\":[{\"status\":\"0\",\"message-id\":"
		  "\"P1\"},{\"status\":\"1\",\"error-text\":\"Throttled\"}]}", NULL,
		  SEND_RETRY, 0, "", "HTTP 200: status 1: Throttled" },
		{ 200, 0, NULL, 0, { NULL }, "{\"messages\":[{\"status\":\"1\"},{\"status\":"
		  "\"6\",\"error-text\":\"Invalid message\"}]}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 200: status 6: Invalid message" },
		/* a 200 we cannot read */
		{ 200, 0, NULL, 0, { NULL }, "<html>oops</html>", NULL, SEND_RETRY, 0, "",
		  "HTTP 200: answer has no messages[]" },
		/* HTTP-level errors and timeout */
		{ 429, 0, NULL, 0, { "Retry-After", "1" }, "", NULL, SEND_RETRY, 1000, "",
		  "HTTP 429" },
		{ 500, 0, NULL, 0, { NULL }, "", NULL, SEND_RETRY, 0, "", "HTTP 500" },
		{ 401, 0, NULL, 0, { NULL }, "{\"type\":\"https://developer.nexmo.com/api-errors"
		  "#unauthorized\",\"title\":\"Unauthorized\"}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 401: {\"type\":\"https://developer.nexmo.com/api-errors#unauthorized\","
		  "\"title\":\"Unauthorized\"}" },
		{ 0, 28, "Operation timed out", 1, { NULL }, NULL, NULL,
		  SEND_RETRY, 0, "", "timed out: Operation timed out" },
	};

	(void)state;
	pt_classify(&provider_vonage, t, sizeof t / sizeof t[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_gsm),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_e164),
		cmocka_unit_test(test_classify),
	};

	assert_ptr_equal(provider_find("vonage"), &provider_vonage);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
