/*
 * test_nevent: kind names, the customer key and ISO-8601 times.
 */
#include "unit.h"

#include <openssl/sha.h>

#include "nevent.h"

static void
test_nevent(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		long long	 ms;
	} times[] = {
		{ "2008-01-10T11:00:00-05:00", 0, 1199980800000LL },
		{ "2008-01-10T16:00:00Z", 0, 1199980800000LL },
		{ "2008-01-10T16:00:00", 0, 1199980800000LL },
		{ "2008-01-10T21:30:00+0530", 0, 1199980800000LL },
		{ "2024-03-31T04:00:00.250+03:00", 0, 1711846800250LL },
		{ "2024-03-31T01:00:00.25Z", 0, 1711846800250LL },
		{ "2000-02-29T23:59:59+00:00", 0, 951868799000LL },
		{ "1969-12-31T23:59:59Z", 0, -1000LL },
		{ "2001-02-29T00:00:00Z", -1, 0 },
		{ "2008-13-10T11:00:00Z", -1, 0 },
		{ "2008-01-10", -1, 0 },
		{ "2008-01-10T11:00:00-05", -1, 0 },
		{ "2008-01-10T11:00:00Zjunk", -1, 0 },
		{ "", -1, 0 },
	};
	unsigned char md[SHA256_DIGEST_LENGTH];
	char key[33], key2[33], want[33];
	struct nevent ev;
	int64_t ms;
	size_t i;
	int k;

	(void)state;
	for (k = 0; k < EVENT__COUNT; k++)
		assert_int_equal(nevent_kind_parse(nevent_kind_name((enum event_kind)k)), k);
	assert_string_equal(nevent_kind_name(EVENT_NONE), "none");
	assert_string_equal(nevent_kind_name(EVENT_ORDER_OUT_FOR_DELIVERY), "order_out_for_delivery");
	assert_int_equal(nevent_kind_parse("cart_closed"), EVENT_CART_CLOSED);
	assert_int_equal(nevent_kind_parse("bogus"), EVENT_NONE);
	assert_int_equal(nevent_kind_parse(NULL), EVENT_NONE);

	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		if (nevent_parse_time(times[i].in, &ms) != times[i].rc || ms != times[i].ms)
			fail_msg("time \"%s\": got %lld", times[i].in, (long long)ms);
	}

	/* The key is the first 16 bytes of SHA-256 of the canonical address. */
	SHA256((const unsigned char *)"bob@example.com", 15, md);
	util_hex(md, 16, want);
	assert_string_equal(want, "5ff860bf1190596c7188ab851db691f0");
	nevent_customer_key_of(" Bob@Example.COM\t", key);
	assert_string_equal(key, want);
	nevent_customer_key_of("+1 (502) 459-2181", key);
	nevent_customer_key_of("+15024592181", key2);
	assert_string_equal(key, "0705335c9ab78dab033dfd7f261e0d88");
	assert_string_equal(key2, key);

	nevent_init(&ev);
	assert_int_equal(ev.consent_email, -1);
	assert_int_equal(nevent_customer_key(&ev, key), -1);
	ev.phone = xstrdup("+1 502 459 2181");
	assert_int_equal(nevent_customer_key(&ev, key), 0);
	assert_string_equal(key, "0705335c9ab78dab033dfd7f261e0d88");
	ev.email = xstrdup("bob@example.com");	/* e-mail wins over phone */
	assert_int_equal(nevent_customer_key(&ev, key), 0);
	assert_string_equal(key, want);
	ev.ctx = json_object();
	nevent_free(&ev);
	assert_null(ev.email);
	assert_null(ev.ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nevent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
