/*
 * provider_twilio: the exact form request for a Polish and a Greek SMS
 * (decoded back pair by pair), refusals, and Twilio's answers.
 */
#include "provider_test.h"

#define SID	"AC0123456789abcdef0123456789abcdef"

static struct config
tw_config(const char *url)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.twilio_sid = (char *)SID;
	cfg.twilio_token = (char *)"tw-auth-token";
	cfg.twilio_from = (char *)"+15005550006";
	cfg.twilio_url = (char *)url;
	return cfg;
}

static void
test_request(void **state)
{
	struct config cfg = tw_config("http://127.0.0.1:18080//");
	struct message m = pt_sms();
	struct provider_req req;
	struct pt_fields f;

	(void)state;
	pt_build(&provider_twilio, &cfg, &m, &req);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "http://127.0.0.1:18080/2010-04-01/Accounts/" SID
	    "/Messages.json");
	assert_string_equal(req.userpwd, SID ":tw-auth-token");
	assert_int_equal(req.nheaders, 2);
	assert_string_equal(req.headers[0], "Content-Type: application/x-www-form-urlencoded");
	assert_string_equal(req.headers[1], "Accept: application/json");
	assert_null(req.mail_from);
	/* percent-encoded UTF-8, '+' of the numbers escaped */
	assert_non_null(strstr(req.body.data, "To=%2B48500100200&From=%2B15005550006&Body="));
	pt_form(req.body.data, &f);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.name[0], "To");
	assert_string_equal(f.value[0], "+48500100200");
	assert_string_equal(f.name[1], "From");
	assert_string_equal(f.value[1], "+15005550006");
	assert_string_equal(f.name[2], "Body");
	assert_string_equal(f.value[2], POLISH_SMS);
	pt_fields_free(&f);
	provider_req_free(&req);

	/* A Messaging Service instead of a sender */
	cfg = tw_config(NULL);
	cfg.twilio_from = (char *)"MG0123456789abcdef0123456789abcdef";
	pt_build(&provider_twilio, &cfg, &m, &req);
	pt_form(req.body.data, &f);
	assert_int_equal(f.n, 3);
	assert_string_equal(pt_field(&f, "MessagingServiceSid", 0),
	    "MG0123456789abcdef0123456789abcdef");
	assert_null(pt_field(&f, "From", 0));
	pt_fields_free(&f);
	provider_req_free(&req);

	/* Greek, numbers written with separators or "00", the default URL */
	cfg = tw_config(NULL);
	m.to = "0030 (691) 234-56.78";
	m.text = "Γεια σου Άννα & Δ: 10€ + 5%";
	pt_build(&provider_twilio, &cfg, &m, &req);
	assert_string_equal(req.url, "https://api.twilio.com/2010-04-01/Accounts/" SID
	    "/Messages.json");
	pt_form(req.body.data, &f);
	assert_string_equal(pt_field(&f, "To", 0), "+306912345678");
	assert_string_equal(pt_field(&f, "Body", 0), m.text);
	assert_null(pt_field(&f, "StatusCallback", 0));
	pt_fields_free(&f);
	provider_req_free(&req);
}

static void
test_refused(void **state)
{
	struct config cfg = tw_config(NULL);
	struct message m = pt_sms();
	struct buf big;
	int i;

	(void)state;
	cfg.twilio_sid = (char *)"";
	pt_refused(&provider_twilio, &cfg, &m, "TWILIO_ACCOUNT_SID is empty");
	cfg = tw_config(NULL);
	cfg.twilio_token = NULL;
	pt_refused(&provider_twilio, &cfg, &m, "TWILIO_AUTH_TOKEN is empty");
	cfg = tw_config(NULL);
	cfg.twilio_from = (char *)"";
	pt_refused(&provider_twilio, &cfg, &m, "TWILIO_FROM is empty");
	cfg = tw_config(NULL);
	cfg.twilio_sid = (char *)"AC1/../../x";
	pt_refused(&provider_twilio, &cfg, &m, "TWILIO_ACCOUNT_SID is not an account sid");
	cfg = tw_config(NULL);
	m.to = "anna@example.gr";
	pt_refused(&provider_twilio, &cfg, &m, "twilio: recipient is not an E.164 number");
	m.to = "0691 234 5678";		/* national: no country */
	pt_refused(&provider_twilio, &cfg, &m, "twilio: recipient is not an E.164 number");
	m.to = "+30 691 234 5678 ext. 2";
	pt_refused(&provider_twilio, &cfg, &m, "twilio: recipient is not an E.164 number");
	m.to = "+1234567890123456";
	pt_refused(&provider_twilio, &cfg, &m, "twilio: recipient is not an E.164 number");
	m = pt_sms();
	m.text = "";
	pt_refused(&provider_twilio, &cfg, &m, "twilio: message has no text");
	m.text = "zł\xff";
	pt_refused(&provider_twilio, &cfg, &m, "twilio: text is not valid UTF-8");
	buf_init(&big);
	for (i = 0; i < 1601; i++)
		buf_adds(&big, "ł");
	m.text = big.data;
	pt_refused(&provider_twilio, &cfg, &m, "twilio: text is 1601 characters, the limit is 1600");
	buf_free(&big);
}

static void
test_classify(void **state)
{
	static const struct pt_answer t[] = {
		{ 201, 0, NULL, 0, { NULL }, "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
		  "\"status\":\"queued\",\"num_segments\":\"1\",\"error_code\":null}", NULL,
		  SEND_OK, 0, "SM0123456789abcdef0123456789abcdef", "" },
		/* throttling */
		{ 429, 0, NULL, 0, { NULL }, "{\"code\":20429,\"message\":\"Too Many Requests\","
		  "\"more_info\":\"https://www.twilio.com/docs/errors/20429\",\"status\":429}",
		  NULL, SEND_RETRY, 0, "", "HTTP 429: 20429: Too Many Requests" },
		{ 400, 0, NULL, 0, { "Retry-After", "2" }, "{\"code\":20429,\"message\":"
		  "\"Too Many Requests\",\"status\":400}", NULL, SEND_RETRY, 2000, "",
		  "HTTP 400: 20429: Too Many Requests" },
		/* invalid numbers */
		{ 400, 0, NULL, 0, { NULL }, "{\"code\":21211,\"message\":\"The 'To' number "
		  "+4850010 is not a valid phone number.\",\"more_info\":\"https://www.twilio.com"
		  "/docs/errors/21211\",\"status\":400}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 400: 21211: The 'To' number +4850010 is not a valid phone number." },
		{ 400, 0, NULL, 0, { NULL }, "{\"code\":21614,\"message\":\"'To' number is not "
		  "a valid mobile number\",\"status\":400}", NULL, SEND_PERMANENT, 0, "",
		  "HTTP 400: 21614: 'To' number is not a valid mobile number" },
		{ 401, 0, NULL, 0, { NULL }, "{\"code\":20003,\"message\":\"Authenticate\","
		  "\"status\":401}", NULL, SEND_PERMANENT, 0, "", "HTTP 401: 20003: Authenticate" },
		/* server errors, transport */
		{ 500, 0, NULL, 0, { NULL }, "{\"code\":20500,\"message\":\"Internal Server "
		  "Error\",\"status\":500}", NULL, SEND_RETRY, 0, "",
		  "HTTP 500: 20500: Internal Server Error" },
		{ 503, 0, NULL, 0, { NULL }, "", NULL, SEND_RETRY, 0, "", "HTTP 503" },
		{ 0, 28, "Operation timed out", 1, { NULL }, NULL, NULL,
		  SEND_RETRY, 0, "", "timed out: Operation timed out" },
		{ 0, 6, "Could not resolve host: api.twilio.com", 0, { NULL }, NULL, NULL,
		  SEND_RETRY, 0, "", "transport: Could not resolve host: api.twilio.com" },
	};

	(void)state;
	pt_classify(&provider_twilio, t, sizeof t / sizeof t[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_classify),
	};

	assert_ptr_equal(provider_find("twilio"), &provider_twilio);
	assert_int_equal(provider_twilio.channel, CHANNEL_SMS);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
