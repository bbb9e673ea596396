/*
 * flows: loading, validation and planning.
 *
 * A plan is computed from the event alone; everything that depends on
 * state in Redis (has the customer ordered before, which cart does this
 * order close, was the order already cancelled) is decided inside the
 * apply script, atomically with the writes. That keeps the planner pure
 * and testable, and the Redis side race-free.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "clock.h"
#include "flows.h"
#include "shops.h"
#include "util.h"

static const char *flows_channel_names[] = { "email", "sms", "webhook" };

const char *
flows_channel_name(enum channel c)
{
	return (unsigned)c < 3 ? flows_channel_names[c] : "?";
}

int
flows_channel_parse(const char *s)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, flows_channel_names[i]) == 0)
			return i;
	return -1;
}

const char *
flows_class_name(enum step_class c)
{
	return c == STEP_PROMOTIONAL ? "promotional" : "transactional";
}

/* "0", "90s", "30m", "24h", "2d": a delay in ms; -1 when malformed. */
static int64_t
flows_parse_delay(const char *s)
{
	int64_t n = 0, unit = 1000;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (*p++ - '0');
		if (n > 10LL * 365 * 86400)
			return -1;
	}
	switch (*p) {
	case '\0': return n == 0 ? 0 : -1;	/* a bare number must be 0 */
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 86400 * 1000; break;
	default: return -1;
	}
	if (p[1] != '\0')
		return -1;
	return n * unit;
}

/* Reads a list of event names into a bit set; -1 on an unknown name. */
static int
flows_parse_events(json_t *arr, uint32_t *bits, const char **bad)
{
	size_t i;
	json_t *v;

	*bits = 0;
	if (json_is_string(arr)) {
		enum event_kind k = nevent_kind_parse(json_string_value(arr));

		if (k == EVENT_NONE) {
			*bad = json_string_value(arr);
			return -1;
		}
		*bits = 1u << k;
		return 0;
	}
	if (!json_is_array(arr))
		return -1;
	json_array_foreach(arr, i, v) {
		enum event_kind k;

		if (!json_is_string(v) ||
		    (k = nevent_kind_parse(json_string_value(v))) == EVENT_NONE) {
			*bad = json_is_string(v) ? json_string_value(v) : "(not a string)";
			return -1;
		}
		*bits |= 1u << k;
	}
	return 0;
}

static int
flows_parse_step(json_t *js, struct flow_step *st, char **why)
{
	json_t *v, *c;
	const char *s, *key;
	size_t i;

	if (!json_is_object(js)) {
		*why = xstrdup("must be an object");
		return -1;
	}
	if (!json_is_string(v = json_object_get(js, "name")) || *json_string_value(v) == '\0') {
		*why = xstrdup("\"name\" must be a non-empty string");
		return -1;
	}
	st->name = xstrdup(json_string_value(v));
	v = json_object_get(js, "delay");
	s = v == NULL ? "0" : json_string_value(v);
	if (s == NULL || (st->delay_ms = flows_parse_delay(s)) < 0) {
		*why = xstrdup("\"delay\" must look like \"0\", \"30m\", \"24h\" or \"7d\"");
		return -1;
	}
	if (!json_is_string(v = json_object_get(js, "template")) || *json_string_value(v) == '\0') {
		*why = xstrdup("\"template\" must be a non-empty string");
		return -1;
	}
	st->template = xstrdup(json_string_value(v));
	v = json_object_get(js, "class");
	s = v == NULL ? "transactional" : json_string_value(v);
	if (s != NULL && strcmp(s, "transactional") == 0)
		st->cls = STEP_TRANSACTIONAL;
	else if (s != NULL && strcmp(s, "promotional") == 0)
		st->cls = STEP_PROMOTIONAL;
	else {
		*why = xstrdup("\"class\" must be \"transactional\" or \"promotional\"");
		return -1;
	}
	v = json_object_get(js, "channels");
	if (v == NULL)
		st->channels = 1u << CHANNEL_EMAIL;
	else if (!json_is_array(v) || json_array_size(v) == 0) {
		*why = xstrdup("\"channels\" must be a non-empty list");
		return -1;
	} else {
		json_array_foreach(v, i, c) {
			int ch = json_is_string(c) ? flows_channel_parse(json_string_value(c)) : -1;

			if (ch < 0) {
				*why = xstrdup("\"channels\" items must be \"email\", \"sms\" or \"webhook\"");
				return -1;
			}
			st->channels |= 1u << ch;
		}
	}
	if ((v = json_object_get(js, "skip_on_fallback")) != NULL) {
		if (!json_is_boolean(v)) {
			*why = xstrdup("\"skip_on_fallback\" must be true or false");
			return -1;
		}
		st->skip_on_fallback = json_is_true(v);
	}
	if ((v = json_object_get(js, "discount")) != NULL) {
		if (!json_is_boolean(v)) {
			*why = xstrdup("\"discount\" must be true or false");
			return -1;
		}
		st->discount = json_is_true(v);
	}
	if ((v = json_object_get(js, "max_segments")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10) {
			*why = xstrdup("\"max_segments\" must be an integer in [1, 10]");
			return -1;
		}
		st->max_segments = (int)json_integer_value(v);
	}
	if ((c = json_object_get(js, "conditions")) == NULL)
		return 0;
	if (!json_is_object(c)) {
		*why = xstrdup("\"conditions\" must be an object");
		return -1;
	}
	json_object_foreach(c, key, v) {
		if (strcmp(key, "first_order") == 0 && json_is_boolean(v))
			st->conds |= json_is_true(v) ? STEP_COND_FIRST_ORDER : STEP_COND_RETURNING;
		else if (strcmp(key, "returning_customer") == 0 && json_is_boolean(v))
			st->conds |= json_is_true(v) ? STEP_COND_RETURNING : STEP_COND_FIRST_ORDER;
		else if (strcmp(key, "has_tracking") == 0 && json_is_true(v))
			st->conds |= STEP_COND_HAS_TRACKING;
		else if (strcmp(key, "has_phone") == 0 && json_is_true(v))
			st->conds |= STEP_COND_HAS_PHONE;
		else if (strcmp(key, "min_total") == 0 && (json_is_string(v) || json_is_number(v))) {
			st->conds |= STEP_COND_MIN_TOTAL;
			st->min_total = json_is_string(v) ? xstrdup(json_string_value(v)) :
			    xasprintf("%.2f", json_number_value(v));
		} else {
			*why = xasprintf("unknown or mistyped condition \"%s\" (known: first_order, "
			    "returning_customer, has_tracking, has_phone, min_total)", key);
			return -1;
		}
	}
	return 0;
}

static int
flows_parse_flow(json_t *jf, struct flow *f, char **why, char **where)
{
	json_t *v, *steps;
	const char *s, *bad = NULL;
	size_t i, j;

	if (!json_is_object(jf) || !json_is_string(v = json_object_get(jf, "name")) ||
	    *json_string_value(v) == '\0') {
		*why = xstrdup("\"name\" must be a non-empty string");
		return -1;
	}
	f->name = xstrdup(json_string_value(v));
	if (flows_parse_events(json_object_get(jf, "trigger"), &f->triggers, &bad) == -1 ||
	    f->triggers == 0) {
		*why = bad ? xasprintf("\"trigger\": unknown event \"%s\"", bad) :
		    xstrdup("\"trigger\" must be an event name or a list of them");
		return -1;
	}
	if ((v = json_object_get(jf, "exit")) != NULL &&
	    flows_parse_events(v, &f->exits, &bad) == -1) {
		*why = bad ? xasprintf("\"exit\": unknown event \"%s\"", bad) :
		    xstrdup("\"exit\" must be a list of event names");
		return -1;
	}
	v = json_object_get(jf, "subject");
	s = v == NULL ? "order" : json_string_value(v);
	if (s && strcmp(s, "order") == 0)
		f->subject = SUBJECT_ORDER;
	else if (s && strcmp(s, "checkout") == 0)
		f->subject = SUBJECT_CHECKOUT;
	else if (s && strcmp(s, "customer") == 0)
		f->subject = SUBJECT_CUSTOMER;
	else {
		*why = xstrdup("\"subject\" must be \"order\", \"checkout\" or \"customer\"");
		return -1;
	}
	v = json_object_get(jf, "reentry");
	s = v == NULL ? "never" : json_string_value(v);
	if (s && strcmp(s, "restart") == 0)
		f->reentry = REENTRY_RESTART;
	else if (s && strcmp(s, "reschedule") == 0)
		f->reentry = REENTRY_RESCHEDULE;
	else if (!s || strcmp(s, "never") != 0) {
		*why = xstrdup("\"reentry\" must be \"never\", \"restart\" or \"reschedule\"");
		return -1;
	}
	if ((v = json_object_get(jf, "per_fulfillment")) != NULL) {
		if (!json_is_boolean(v)) {
			*why = xstrdup("\"per_fulfillment\" must be true or false");
			return -1;
		}
		f->per_fulfillment = json_is_true(v);
	}
	if ((v = json_object_get(jf, "fallback")) != NULL) {
		json_t *after = json_object_get(v, "after"), *delay = json_object_get(v, "delay");

		if (!json_is_object(v) || !json_is_string(after) || !json_is_string(delay) ||
		    (f->fallback_after = nevent_kind_parse(json_string_value(after))) == EVENT_NONE ||
		    (f->fallback_delay_ms = flows_parse_delay(json_string_value(delay))) < 0) {
			*why = xstrdup("\"fallback\" must be {\"after\": <event>, \"delay\": \"7d\"}");
			return -1;
		}
		if (f->triggers & (1u << f->fallback_after)) {
			*why = xstrdup("\"fallback\": \"after\" must not be a trigger of the flow");
			return -1;
		}
	}
	v = json_object_get(jf, "frequency_cap");
	s = v == NULL ? "defer" : json_string_value(v);
	if (!s || (strcmp(s, "defer") != 0 && strcmp(s, "skip") != 0)) {
		*why = xstrdup("\"frequency_cap\" must be \"defer\" or \"skip\"");
		return -1;
	}
	f->cap = xstrdup(s);
	steps = json_object_get(jf, "steps");
	if (!json_is_array(steps) || json_array_size(steps) == 0) {
		*why = xstrdup("\"steps\" must be a non-empty list");
		return -1;
	}
	f->nsteps = json_array_size(steps);
	f->steps = xcalloc(f->nsteps, sizeof *f->steps);
	for (i = 0; i < f->nsteps; i++) {
		if (flows_parse_step(json_array_get(steps, i), &f->steps[i], why) == -1) {
			*where = f->steps[i].name ? xasprintf("step \"%s\"", f->steps[i].name) :
			    xasprintf("step %zu", i + 1);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(f->steps[j].name, f->steps[i].name) == 0) {
				*where = xasprintf("step \"%s\"", f->steps[i].name);
				*why = xstrdup("duplicate step name");
				return -1;
			}
	}
	return 0;
}

int
flows_load_str(const char *text, const char *name, struct flows **out, char **cause)
{
	struct flows *fl;
	json_error_t jerr;
	json_t *root, *arr;
	char *why = NULL, *where = NULL;
	size_t i, j;

	*out = NULL;
	if ((root = json_loads(text, 0, &jerr)) == NULL) {
		*cause = xasprintf("%s: line %d: %s", name, jerr.line, jerr.text);
		return -1;
	}
	arr = json_is_object(root) ? json_object_get(root, "flows") : root;
	if (!json_is_array(arr)) {
		*cause = xasprintf("%s: expected {\"flows\": [...]}", name);
		json_decref(root);
		return -1;
	}
	fl = xcalloc(1, sizeof *fl);
	fl->n = json_array_size(arr);
	fl->v = xcalloc(fl->n ? fl->n : 1, sizeof *fl->v);
	for (i = 0; i < fl->n; i++) {
		struct flow *f = &fl->v[i];

		if (flows_parse_flow(json_array_get(arr, i), f, &why, &where) == 0) {
			for (j = 0; j < i; j++)
				if (strcmp(fl->v[j].name, f->name) == 0)
					why = xstrdup("duplicate flow name");
		}
		if (why != NULL) {
			if (f->name)
				*cause = xasprintf("%s: flow \"%s\"%s%s: %s", name, f->name,
				    where ? ", " : "", where ? where : "", why);
			else
				*cause = xasprintf("%s: flow %zu: %s", name, i + 1, why);
			free(why);
			free(where);
			json_decref(root);
			flows_free(fl);
			return -1;
		}
	}
	json_decref(root);
	*out = fl;
	return 0;
}

int
flows_load(const char *path, struct flows **out, char **cause)
{
	char *text;
	int rc;

	if ((text = util_read_file(path, NULL, cause)) == NULL)
		return -1;
	rc = flows_load_str(text, path, out, cause);
	free(text);
	return rc;
}

void
flows_free(struct flows *fl)
{
	size_t i, j;

	if (fl == NULL)
		return;
	for (i = 0; i < fl->n; i++) {
		struct flow *f = &fl->v[i];

		for (j = 0; j < f->nsteps; j++) {
			free(f->steps[j].name);
			free(f->steps[j].template);
			free(f->steps[j].min_total);
		}
		free(f->steps);
		free(f->name);
		free(f->cap);
	}
	free(fl->v);
	free(fl);
}

const struct flow *
flows_find(const struct flows *fl, const char *name)
{
	size_t i;

	for (i = 0; i < fl->n; i++)
		if (strcmp(fl->v[i].name, name) == 0)
			return &fl->v[i];
	return NULL;
}

const struct flow_step *
flows_find_step(const struct flow *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nsteps; i++)
		if (strcmp(f->steps[i].name, name) == 0)
			return &f->steps[i];
	return NULL;
}

void
flows_message_id(const char *shop, const char *flow, const char *step, enum channel ch,
    const char *subject, const char *occurrence, char out[PLAN_ID_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct buf b;

	/* the subject's locator first: the id names the hash its record is in */
	flows_subject_loc(shop, subject, out);
	buf_init(&b);
	buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s", shop, flow, step, flows_channel_name(ch),
	    subject, occurrence ? occurrence : "");
	SHA256((const unsigned char *)b.data, b.len, md);
	buf_free(&b);
	util_hex(md, (PLAN_ID_LEN - FLOWS_LOC_LEN) / 2, out + FLOWS_LOC_LEN);
}

void
flows_subject_loc(const char *shop, const char *subject, char out[FLOWS_LOC_LEN + 1])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s\n%s", shop, subject);
	SHA1((const unsigned char *)b.data, b.len, md);
	buf_free(&b);
	util_hex(md, FLOWS_LOC_LEN / 2, out);
}
