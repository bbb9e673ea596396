/*
 * dump_requests: prints the request each provider builds for one sample
 * Greek message, one JSON object per line:
 *   {"provider","method","url","headers":["Name: value",...],"body",
 *    "userpwd","mail_from","mail_rcpt","ref"}
 * for tests/spec/test_provider_specs.py, which checks the bodies against
 * the providers' published OpenAPI files. The settings below are fakes the
 * Python test knows (the webhook secret, to verify the signature).
 * Built by `make spec-helper`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "provider.h"

static void
dump(const struct provider *p, const struct config *cfg, const struct message *m)
{
	struct provider_req req;
	char *cause = NULL, *line;
	json_t *o, *h;
	size_t i;

	provider_req_init(&req);
	if (p->build(cfg, m, &req, &cause) != 0) {
		fprintf(stderr, "dump_requests: %s: %s\n", p->name, cause);
		exit(1);
	}
	h = json_array();
	for (i = 0; i < req.nheaders; i++)
		json_array_append_new(h, json_string(req.headers[i]));
	o = json_pack("{s:s, s:s, s:s, s:o, s:s%, s:s?, s:s?, s:s?, s:s?}",
	    "provider", p->name, "method", req.method, "url", req.url,
	    "headers", h, "body", req.body.data != NULL ? req.body.data : "",
	    req.body.len, "userpwd", req.userpwd, "mail_from", req.mail_from,
	    "mail_rcpt", req.mail_rcpt, "ref", req.ref);
	if (o == NULL || (line = json_dumps(o, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "dump_requests: %s: cannot encode\n", p->name);
		exit(1);
	}
	printf("%s\n", line);
	free(line);
	json_decref(o);
	provider_req_free(&req);
}

int
main(void)
{
	static const struct provider *const email[] = {
		&provider_sendgrid, &provider_postmark, &provider_mailgun,
		&provider_smtp, &provider_webhook,
	};
	static const struct provider *const sms[] = {
		&provider_twilio, &provider_vonage, &provider_webhook,
	};
	struct config cfg;
	struct message m;
	size_t i;

	memset(&cfg, 0, sizeof cfg);
	cfg.sendgrid_api_key = (char *)"SG.spec-test";
	cfg.postmark_token = (char *)"POSTMARK_API_TEST";
	cfg.mailgun_api_key = (char *)"key-spec-test";
	cfg.mailgun_domain = (char *)"mg.example.com";
	cfg.smtp_url = (char *)"smtp://apikey:secret@smtp.example.com:587/nudge.example.com";
	cfg.twilio_sid = (char *)"AC00000000000000000000000000000000";
	cfg.twilio_token = (char *)"spec-token";
	cfg.twilio_from = (char *)"+15005550006";
	cfg.vonage_key = (char *)"abcd1234";
	cfg.vonage_secret = (char *)"abcdef0123456789";
	cfg.vonage_from = (char *)"DemoShop";
	cfg.webhook_url = (char *)"https://hooks.example.com/nudge";
	cfg.webhook_secret = (char *)"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

	memset(&m, 0, sizeof m);
	m.id = "4f1c2a9be07d5e3a6b8c0d12";
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
	m.from_name = "Κατάστημα \"Demo\"";
	m.subject = "Ξεχάσατε κάτι στο καλάθι σας, Άννα;";
	m.text = "Γεια σου Άννα,\n\nτο καλάθι σου σε περιμένει: 49,90 €.\n.\nΕυχαριστούμε!";
	m.html = "<p>Γεια σου <b>Άννα</b>,</p><p>το καλάθι σου σε περιμένει: 49,90&nbsp;€.</p>";
	m.unsubscribe_url = "https://nudge.example.com/u/4f1c2a9be07d5e3a6b8c0d12?s=abc";
	for (i = 0; i < sizeof email / sizeof email[0]; i++)
		dump(email[i], &cfg, &m);

	m.id = "9a8b7c6d5e4f3a2b1c0d9e8f";
	m.channel = CHANNEL_SMS;
	m.promotional = 0;
	m.to = "+306912345678";
	m.from = "DemoShop";
	m.from_name = NULL;
	m.subject = NULL;
	m.html = NULL;
	m.unsubscribe_url = NULL;
	m.text = "Γεια σου Άννα! Η παραγγελία #1001 στάλθηκε. Δ: 49,90€";
	for (i = 0; i < sizeof sms / sizeof sms[0]; i++)
		dump(sms[i], &cfg, &m);
	return 0;
}
