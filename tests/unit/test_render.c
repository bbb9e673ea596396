/*
 * test_render: the Mustache subset as a table (template, context, flags ->
 * output and missing count, or the exact syntax error), then the loader:
 * locale fallback over a temporary tree, and the shipped templates rendered
 * in every locale with the context the worker passes.
 */
#include <ftw.h>
#include <sys/stat.h>

#include <jansson.h>

#include "unit.h"
#include "render.h"

struct render_case {
	const char	*name;
	const char	*tpl;
	const char	*ctx;		/* JSON */
	int		 flags;
	const char	*want;		/* NULL: an error is expected */
	int		 missing;
	const char	*err;		/* the exact *cause */
};

#define E RENDER_ESCAPE_HTML

static const struct render_case render_cases[] = {
	{ "plain", "Hello {{name}}!", "{\"name\":\"Anna\"}", 0, "Hello Anna!", 0, NULL },
	{ "blanks in tag", "{{ name }}|{{\tname\t}}", "{\"name\":\"A\"}", 0, "A|A", 0, NULL },
	{ "dotted", "{{order.name}} {{order.customer.first}}",
	  "{\"order\":{\"name\":\"#1001\",\"customer\":{\"first\":\"Anna\"}}}", 0,
	  "#1001 Anna", 0, NULL },
	{ "missing counted", "a{{nope}}b{{order.nope}}c{{order.name.x}}",
	  "{\"order\":{\"name\":\"n\"}}", 0, "abc", 3, NULL },
	{ "null not counted", "a{{x}}b{{o.y}}c", "{\"x\":null,\"o\":{\"y\":null}}", 0,
	  "abc", 0, NULL },
	{ "escape html", "{{x}}", "{\"x\":\"<a href=\\\"u\\\">'&'</a>\"}", E,
	  "&lt;a href=&quot;u&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;", 0, NULL },
	{ "no escape without flag", "{{x}}", "{\"x\":\"<b>&'\\\"\"}", 0, "<b>&'\"", 0, NULL },
	{ "triple never escapes", "{{{x}}}|{{{ x }}}", "{\"x\":\"<b>&'\\\"\"}", E,
	  "<b>&'\"|<b>&'\"", 0, NULL },
	{ "ampersand never escapes", "{{&x}}|{{& x }}", "{\"x\":\"<b>\"}", E,
	  "<b>|<b>", 0, NULL },
	{ "triple missing counted", "{{{x}}}{{&y}}", "{}", E, "", 2, NULL },
	{ "list with dot", "{{#l}}[{{.}}]{{/l}}", "{\"l\":[\"a\",\"<b>\",3,2.5]}", E,
	  "[a][&lt;b&gt;][3][2.5]", 0, NULL },
	{ "list of objects", "{{#items}}{{title}}={{price}};{{/items}}",
	  "{\"items\":[{\"title\":\"Mug\",\"price\":\"12.50\"},"
	  "{\"title\":\"Tee\",\"price\":\"20.00\"}]}", 0, "Mug=12.50;Tee=20.00;", 0, NULL },
	{ "nested, outer scope", "{{#order}}{{#items}}{{title}} {{currency}} {{shop.name}};"
	  "{{/items}}{{/order}}",
	  "{\"shop\":{\"name\":\"S\"},\"order\":{\"currency\":\"EUR\","
	  "\"items\":[{\"title\":\"A\"},{\"title\":\"B\",\"currency\":\"PLN\"}]}}", 0,
	  "A EUR S;B PLN S;", 0, NULL },
	{ "dotted section pushes the leaf only", "{{#order.items}}{{title}}{{currency}}{{/order.items}}",
	  "{\"order\":{\"currency\":\"EUR\",\"items\":[{\"title\":\"A\"}]}}", 0, "A", 1, NULL },
	{ "first segment binds innermost", "{{#item}}{{name.x}}{{/item}}",
	  "{\"item\":{\"name\":\"s\"},\"name\":{\"x\":\"outer\"}}", 0, "", 1, NULL },
	{ "object section", "{{#a}}{{b}}{{/a}}{{#a.c}}{{d}}{{/a.c}}",
	  "{\"a\":{\"b\":\"B\",\"c\":{\"d\":\"D\"}}}", 0, "BD", 0, NULL },
	{ "scalar section", "{{#s}}<{{.}}>{{/s}}{{#t}}<{{.}}>{{/t}}{{#n}}<{{.}}>{{/n}}",
	  "{\"s\":\"x\",\"t\":true,\"n\":5}", 0, "<x><true><5>", 0, NULL },
	{ "falsy sections skipped",
	  "{{#f}}F{{/f}}{{#z}}Z{{/z}}{{#r}}R{{/r}}{{#e}}E{{/e}}{{#es}}S{{/es}}"
	  "{{#n}}N{{/n}}{{#m}}M{{/m}}{{#m}}{{inner}}{{/m}}",
	  "{\"f\":false,\"z\":0,\"r\":0.0,\"e\":[],\"es\":\"\",\"n\":null}", 0, "", 0, NULL },
	{ "inverted", "{{^m}}M{{/m}}{{^f}}F{{/f}}{{^e}}E{{/e}}{{^n}}N{{/n}}"
	  "{{^t}}T{{/t}}{{^l}}L{{/l}}{{^s}}S{{/s}}",
	  "{\"f\":false,\"e\":[],\"n\":null,\"t\":true,\"l\":[1],\"s\":\"x\"}", 0,
	  "MFEN", 0, NULL },
	{ "greeting fallback", "{{#c.first}}Hi {{c.first}},{{/c.first}}{{^c.first}}Hello,{{/c.first}}",
	  "{\"c\":{}}", 0, "Hello,", 0, NULL },
	{ "standalone lines removed", "a\n  {{#s}}  \nb\n{{/s}}\n{{^s}}\nno\n{{/s}}\nc\n",
	  "{\"s\":true}", 0, "a\nb\nc\n", 0, NULL },
	{ "standalone list lines", "<ul>\n{{#l}}\n<li>{{.}}</li>\n{{/l}}\n</ul>\n",
	  "{\"l\":[1,2]}", 0, "<ul>\n<li>1</li>\n<li>2</li>\n</ul>\n", 0, NULL },
	{ "standalone crlf", "a\r\n{{#s}}\r\nb\r\n{{/s}}\r\n", "{\"s\":1}", 0,
	  "a\r\nb\r\n", 0, NULL },
	{ "standalone at end", "a\n{{#s}}b\n{{/s}}", "{\"s\":1}", 0, "a\nb\n", 0, NULL },
	{ "inline sections kept", "a {{#s}}b{{/s}} c\n", "{\"s\":1}", 0, "a b c\n", 0, NULL },
	{ "two tags on a line", "{{#s}}{{/s}}\nx", "{\"s\":1}", 0, "\nx", 0, NULL },
	{ "variable line not standalone", "  {{v}}\n", "{\"v\":\"x\"}", 0, "  x\n", 0, NULL },
	{ "comments", "a{{! hi }}b\n{{! standalone }}\nc{{!\nmulti\nline\n}}d", "{}", 0,
	  "ab\ncd", 0, NULL },
	{ "int64 exact", "{{n}} {{neg}} {{zero}}",
	  "{\"n\":820982911946154508,\"neg\":-9223372036854775807,\"zero\":0}", 0,
	  "820982911946154508 -9223372036854775807 0", 0, NULL },
	{ "reals", "{{a}} {{b}} {{c}} {{d}} {{e}}",
	  "{\"a\":12.5,\"b\":0.1,\"c\":59.9,\"d\":1e21,\"e\":-0.25}", 0,
	  "12.5 0.1 59.9 1e+21 -0.25", 0, NULL },
	{ "booleans", "{{t}}/{{f}}", "{\"t\":true,\"f\":false}", 0, "true/false", 0, NULL },
	{ "objects and lists print nothing", "[{{o}}{{l}}]", "{\"o\":{\"a\":1},\"l\":[1]}", 0,
	  "[]", 0, NULL },
	{ "greek", "Γεια σας {{n}}, η παραγγελία {{o}} επιβεβαιώθηκε",
	  "{\"n\":\"Άννα\",\"o\":\"#1001\"}", E,
	  "Γεια σας Άννα, η παραγγελία #1001 επιβεβαιώθηκε", 0, NULL },
	{ "polish", "Cześć {{n}}! Zażółć gęślą jaźń: {{p}}",
	  "{\"n\":\"Łucja\",\"p\":\"<żółw>\"}", E,
	  "Cześć Łucja! Zażółć gęślą jaźń: &lt;żółw&gt;", 0, NULL },
	{ "single braces are text", "a { b } }} c {", "{}", 0, "a { b } }} c {", 0, NULL },
	{ "empty template", "", "{}", E, "", 0, NULL },

	{ "unclosed tag", "Hi {{name", "{}", 0, NULL, 0, "unclosed tag at line 1" },
	{ "unclosed triple", "a\nb\n{{{x}}", "{}", 0, NULL, 0, "unclosed tag at line 3" },
	{ "unclosed section", "{{#a}}\nx\n{{#b}}\n{{/b}}\n", "{}", 0, NULL, 0,
	  "unclosed section 'a' opened at line 1" },
	{ "mismatched close", "{{#a}}\n{{#b}}\n{{/a}}", "{}", 0, NULL, 0,
	  "mismatched close 'a' at line 3 (expected 'b')" },
	{ "unexpected close", "x\n{{/a}}", "{}", 0, NULL, 0, "unexpected close 'a' at line 2" },
	{ "empty tag", "{{ }}", "{}", 0, NULL, 0, "empty tag at line 1" },
	{ "partial unsupported", "{{> footer}}", "{}", 0, NULL, 0,
	  "unsupported tag '{{>' at line 1" },
	{ "delimiters unsupported", "{{=<% %>=}}", "{}", 0, NULL, 0,
	  "unsupported tag '{{=' at line 1" },
	{ "blank inside name", "{{a b}}", "{}", 0, NULL, 0, "invalid name 'a b' at line 1" },
};

static void
test_render_table(void **state)
{
	const struct render_case *c;
	struct render_stats st;
	json_error_t jerr;
	struct buf out;
	char *cause;
	json_t *ctx;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof render_cases / sizeof render_cases[0]; i++) {
		c = &render_cases[i];
		if ((ctx = json_loads(c->ctx, 0, &jerr)) == NULL)
			fail_msg("%s: bad context: %s", c->name, jerr.text);
		buf_init(&out);
		buf_adds(&out, "keep:");
		memset(&st, 0, sizeof st);
		cause = NULL;
		rc = render_string(c->tpl, strlen(c->tpl), ctx, c->flags, &out, &st, &cause);
		if (c->want != NULL) {
			if (rc != 0)
				fail_msg("%s: unexpected error: %s", c->name, cause);
			if (strcmp(out.data + 5, c->want) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", c->name, out.data + 5, c->want);
			if (st.missing != c->missing)
				fail_msg("%s: missing %d, want %d", c->name, st.missing, c->missing);
			assert_int_equal(render_check(c->tpl, strlen(c->tpl), NULL), 0);
		} else {
			if (rc == 0)
				fail_msg("%s: rendered \"%s\", want error", c->name, out.data);
			if (cause == NULL || strcmp(cause, c->err) != 0)
				fail_msg("%s: error \"%s\", want \"%s\"", c->name, cause, c->err);
			assert_string_equal(out.data, "keep:");	/* untouched */
			free(cause);
			cause = NULL;
			assert_int_equal(render_check(c->tpl, strlen(c->tpl), &cause), -1);
			assert_string_equal(cause, c->err);
			free(cause);
		}
		buf_free(&out);
		json_decref(ctx);
	}
}

/* 32 nested sections render; 33 are refused. */
static void
test_render_depth(void **state)
{
	struct buf tpl, out;
	json_t *ctx = json_pack("{s:b}", "s", 1);
	char *cause = NULL;
	int i;

	(void)state;
	buf_init(&tpl);
	buf_init(&out);
	for (i = 0; i < RENDER_MAX_DEPTH; i++)
		buf_adds(&tpl, "{{#s}}");
	buf_adds(&tpl, "{{.}}");
	for (i = 0; i < RENDER_MAX_DEPTH; i++)
		buf_adds(&tpl, "{{/s}}");
	assert_int_equal(render_string(tpl.data, tpl.len, ctx, 0, &out, NULL, &cause), 0);
	assert_string_equal(out.data, "true");

	buf_reset(&tpl);
	for (i = 0; i <= RENDER_MAX_DEPTH; i++)
		buf_adds(&tpl, "{{#s}}\n");
	assert_int_equal(render_check(tpl.data, tpl.len, &cause), -1);
	assert_string_equal(cause, "sections nested deeper than 32 at line 33");
	free(cause);
	buf_free(&tpl);
	buf_free(&out);
	json_decref(ctx);
}

/* Bytes are bytes: a NUL inside the template is copied, never a terminator. */
static void
test_render_embedded_nul(void **state)
{
	static const char tpl[] = "a\0{{x}}\0b";
	json_t *ctx = json_pack("{s:s}", "x", "X");
	struct buf out;

	(void)state;
	buf_init(&out);
	assert_int_equal(render_string(tpl, sizeof tpl - 1, ctx, 0, &out, NULL, NULL), 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "a\0X\0b", 5);
	buf_free(&out);
	json_decref(ctx);
}

/* Nested loops over long lists stop at a limit instead of spinning. */
static void
test_render_limits(void **state)
{
	json_t *l = json_array(), *ctx;
	struct buf out;
	char *cause = NULL, big[101];
	const char *nest4 = "{{#l}}{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}{{/l}}";
	const char *nest3 = "{{#l}}{{#l}}{{#l}}{{x}}{{/l}}{{/l}}{{/l}}";
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		json_array_append_new(l, json_integer(i));
	memset(big, 'x', 100);
	big[100] = '\0';
	ctx = json_pack("{s:o,s:s}", "l", l, "x", big);
	buf_init(&out);
	assert_int_equal(render_string(nest4, strlen(nest4), ctx, 0, &out, NULL, &cause), -1);
	assert_string_equal(cause, "template too expensive to render");
	free(cause);
	assert_int_equal(render_string(nest3, strlen(nest3), ctx, 0, &out, NULL, &cause), -1);
	assert_string_equal(cause, "template output too large");
	assert_int_equal(out.len, 0);
	free(cause);
	buf_free(&out);
	json_decref(ctx);
}

/* Random soup of the syntax: either renders or errors, never crashes. */
static void
test_render_soup(void **state)
{
	static const char alpha[] = "{{}}#^/!&.ab \n";
	json_t *ctx = json_loads("{\"a\":[{\"b\":[1,2]},{\"b\":\"x\"}],\"b\":{\"a\":true}}", 0, NULL);
	unsigned seed = 12345;
	char tpl[64], *cause;
	struct buf out;
	size_t n, j;
	int i, rc;

	(void)state;
	buf_init(&out);
	for (i = 0; i < 20000; i++) {
		n = (size_t)(i % 64);
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245 + 12345;
			tpl[j] = alpha[(seed >> 16) % (sizeof alpha - 1)];
		}
		cause = NULL;
		buf_reset(&out);
		rc = render_string(tpl, n, ctx, E, &out, NULL, &cause);
		assert_true(rc == 0 || (rc == -1 && cause != NULL));
		assert_int_equal(render_check(tpl, n, NULL), rc);
		free(cause);
	}
	buf_free(&out);
	json_decref(ctx);
}

/* Templates on disk. */

static void
write_file(const char *dir, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", dir, rel), *cause = NULL, *slash;

	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0755);
	*slash = '/';
	if (util_write_file(path, text, strlen(text), &cause) != 0)
		fail_msg("%s", cause);
	free(path);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
make_tree(void)
{
	char *dir = xstrdup("/tmp/nudge-tpl-XXXXXX");

	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp failed");
	write_file(dir, "README.md", "not a locale\n");
	write_file(dir, "en/welcome.subject", "Welcome {{n}}\n\n");
	write_file(dir, "en/welcome.txt", "Hello {{n}}\n");
	write_file(dir, "en/welcome.html", "<p>Hello {{n}}</p>\n");
	write_file(dir, "en/README", "ignored");
	write_file(dir, "en/welcome.txt~", "ignored {{");
	write_file(dir, "en/.welcome.sms", "hidden {{");
	write_file(dir, "el/welcome.subject", "\xef\xbb\xbfΚαλώς ήρθατε {{n}}\r\n");
	write_file(dir, "el/welcome.txt", "Γεια σας {{n}}\n");
	write_file(dir, "pl/welcome.subject", "Witaj {{n}}\n");
	write_file(dir, "pl/welcome.txt", "Cześć {{n}}\n");
	write_file(dir, "pt-BR/welcome.subject", "Bem-vindo {{n}}");
	return dir;
}

struct fallback_case {
	const char	*locale;
	const char	*shop;
	const char	*part;
	const char	*used;		/* NULL: not found */
	const char	*text;
};

static const struct fallback_case fallback_cases[] = {
	{ "en", NULL, "subject", "en", "Welcome {{n}}" },
	{ "pl-PL", "en", "subject", "pl", "Witaj {{n}}" },
	{ "pl_PL", NULL, "txt", "pl", "Cześć {{n}}\n" },
	{ "el-GR", "pl", "subject", "el", "Καλώς ήρθατε {{n}}" },
	{ "EL", NULL, "txt", "el", "Γεια σας {{n}}\n" },
	{ "el", "pl", "html", "en", "<p>Hello {{n}}</p>\n" },	/* part falls back */
	{ "pt_br", NULL, "subject", "pt-BR", "Bem-vindo {{n}}" },
	{ "pt-PT", "pl-PL", "subject", "pl", "Witaj {{n}}" },	/* language "pt" is absent */
	{ "fr-FR", "el", "subject", "el", "Καλώς ήρθατε {{n}}" },
	{ "fr", "de-DE", "subject", "en", "Welcome {{n}}" },
	{ NULL, NULL, "subject", "en", "Welcome {{n}}" },
	{ "", "", "txt", "en", "Hello {{n}}\n" },
	{ "en_US.UTF-8", NULL, "subject", "en", "Welcome {{n}}" },
	{ "-", "-x", "subject", "en", "Welcome {{n}}" },
	{ "en", NULL, "sms", NULL, NULL },
};

static void
test_templates_fallback(void **state)
{
	const struct fallback_case *c;
	const struct render_tpl *tpl;
	struct templates *t = NULL;
	const char *text, *used, *used2;
	char *dir = make_tree(), *cause = NULL;
	struct buf a, b;
	json_t *ctx = json_pack("{s:s}", "n", "<Anna>");
	size_t i, len;

	(void)state;
	if (templates_load(dir, &t, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(templates_count(t), 8);
	for (i = 0; i < sizeof fallback_cases / sizeof fallback_cases[0]; i++) {
		c = &fallback_cases[i];
		used = NULL;
		text = templates_get(t, "welcome", c->part, c->locale, c->shop, &used, &len);
		used2 = NULL;
		tpl = templates_get_compiled(t, "welcome", c->part, c->locale, c->shop, &used2);
		if (c->used == NULL) {
			assert_null(text);
			assert_null(tpl);
			continue;
		}
		if (text == NULL || tpl == NULL)
			fail_msg("%s/%s: not found", c->locale, c->part);
		assert_string_equal(used, c->used);
		assert_string_equal(used2, c->used);
		assert_string_equal(text, c->text);
		assert_int_equal(len, strlen(c->text));
		/* the parsed form renders what the text renders, every time */
		buf_init(&a);
		buf_init(&b);
		assert_int_equal(render_string(text, len, ctx, E, &a, NULL, NULL), 0);
		assert_int_equal(render_tpl_run(tpl, ctx, E, &b, NULL, NULL), 0);
		assert_int_equal(render_tpl_run(tpl, ctx, E, &b, NULL, NULL), 0);
		assert_int_equal(b.len, 2 * a.len);
		assert_memory_equal(b.data, a.data, a.len);
		assert_memory_equal(b.data + a.len, a.data, a.len);
		buf_free(&a);
		buf_free(&b);
	}
	json_decref(ctx);
	assert_null(templates_get(t, "nope", "subject", "en", "en", &used, &len));
	assert_true(templates_has(t, "welcome", "html"));
	assert_true(templates_has(t, "welcome", "subject"));
	assert_false(templates_has(t, "welcome", "sms"));
	assert_false(templates_has(t, "nope", "txt"));
	if (templates_check_all(t, &cause) != 0)
		fail_msg("%s", cause);
	templates_free(t);

	/* A body without its subject, and a template with no en version. */
	write_file(dir, "pl/promo.html", "x");
	write_file(dir, "en/promo.html", "x");
	write_file(dir, "en/promo.subject", "x");
	assert_int_equal(templates_load(dir, &t, &cause), 0);
	assert_int_equal(templates_check_all(t, &cause), -1);
	assert_string_equal(cause, "pl/promo.html: no pl/promo.subject beside it");
	free(cause);
	templates_free(t);
	write_file(dir, "pl/promo.subject", "x");
	write_file(dir, "pl/promo.sms", "x");
	assert_int_equal(templates_load(dir, &t, &cause), 0);
	assert_int_equal(templates_check_all(t, &cause), -1);
	assert_string_equal(cause, "pl/promo.sms: no en/promo.sms to fall back to");
	free(cause);
	templates_free(t);

	rm_tree(dir);
	free(dir);
}

static void
test_templates_errors(void **state)
{
	struct templates *t = NULL;
	char *dir = make_tree(), *cause = NULL, *want;

	(void)state;
	write_file(dir, "el/bad.html", "<p>\n{{#items}}\n{{title}}\n");
	assert_int_equal(templates_load(dir, &t, &cause), -1);
	assert_null(t);
	want = xasprintf("%s/el/bad.html: unclosed section 'items' opened at line 2", dir);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	rm_tree(dir);
	free(dir);

	dir = make_tree();
	write_file(dir, "pt_br/welcome.subject", "x");
	assert_int_equal(templates_load(dir, &t, &cause), -1);
	assert_non_null(strstr(cause, "template welcome.subject is in both "));
	free(cause);
	rm_tree(dir);

	assert_int_equal(templates_load(dir, &t, &cause), -1);	/* gone */
	assert_non_null(strstr(cause, "No such file or directory"));
	free(cause);
	free(dir);
}

/* The shipped templates, with the context docs/templates.md describes. */

static const char *sample_ctx =
    "{\"shop\":{\"name\":\"Demo Shop\",\"domain\":\"demo.myshopify.com\","
    "\"url\":\"https://demo.myshopify.com\"},"
    "\"customer\":{\"first_name\":\"Anna\",\"email\":\"anna@example.gr\",\"locale\":\"el\"},"
    "\"order\":{\"id\":\"450789469\",\"name\":\"#1001\",\"number\":\"1001\","
    "\"currency\":\"EUR\",\"total\":\"€59.90\",\"subtotal\":\"€55.00\","
    "\"status_url\":\"https://demo.myshopify.com/orders/abc?key=1&x=2\","
    "\"created_at\":\"2026-11-23T12:00:00Z\",\"first_name\":\"Anna\","
    "\"items\":[{\"title\":\"Mug\",\"variant\":\"Blue\",\"quantity\":2,\"price\":\"€12.50\","
    "\"sku\":\"M1\",\"image\":\"https://cdn.example.com/mug.png\"},"
    "{\"title\":\"Tea & Biscuits\",\"variant\":\"\",\"quantity\":1,\"price\":\"€30.00\","
    "\"sku\":\"T2\",\"image\":null}],"
    "\"shipping_address\":{\"city\":\"Athens\",\"country\":\"Greece\"}},"
    "\"message\":{\"id\":\"m1\",\"flow\":\"order\",\"step\":\"confirmation\"}}";

static char *
render_part(const struct templates *t, const char *locale, const char *part,
    json_t *ctx, int *missing)
{
	struct render_stats st = { 0 };
	const char *text, *used = NULL;
	struct buf out;
	char *cause = NULL;
	size_t len;

	text = templates_get(t, "order_confirmation", part, locale, "en", &used, &len);
	if (text == NULL)
		fail_msg("%s/order_confirmation.%s: missing", locale, part);
	assert_string_equal(used, locale);
	buf_init(&out);
	if (render_string(text, len, ctx, strcmp(part, "html") == 0 ? E : 0, &out,
	    &st, &cause) != 0)
		fail_msg("%s/%s: %s", locale, part, cause);
	*missing = st.missing;
	return buf_detach(&out);
}

static const char *want_en_txt =
    "Hi Anna,\n"
    "\n"
    "Thank you for shopping with us! We’ve received your order #1001 and are "
    "getting it ready. We’ll email you again as soon as it ships.\n"
    "\n"
    "Order #1001\n"
    "- Mug (Blue): 2 × €12.50\n"
    "- Tea & Biscuits: 1 × €30.00\n"
    "\n"
    "Subtotal: €55.00\n"
    "Total: €59.90\n"
    "Shipping to: Athens, Greece\n"
    "\n"
    "View your order: https://demo.myshopify.com/orders/abc?key=1&x=2\n"
    "\n"
    "Questions? Just reply to this email.\n"
    "\n"
    "Demo Shop\n"
    "https://demo.myshopify.com\n";

static void
test_templates_shipped(void **state)
{
	static const struct {
		const char *locale, *subject, *hello, *fallback_hello;
	} langs[] = {
		{ "en", "Your order #1001 is confirmed", "Hi Anna,", "Hello," },
		{ "el", "Η παραγγελία σας #1001 επιβεβαιώθηκε", "Γεια σας Anna,", "Γεια σας," },
		{ "pl", "Twoje zamówienie #1001 zostało potwierdzone", "Cześć Anna,",
		  "Dzień dobry," },
	};
	struct templates *t = NULL;
	char *dir = unit_path("templates"), *cause = NULL, *s, *h, *x;
	json_t *ctx = json_loads(sample_ctx, 0, NULL), *bare;
	size_t i;
	int m;

	(void)state;
	assert_non_null(ctx);
	if (templates_load(dir, &t, &cause) != 0)
		fail_msg("%s", cause);
	if (templates_check_all(t, &cause) != 0)
		fail_msg("%s", cause);
	assert_true(templates_count(t) >= 9);
	for (i = 0; i < sizeof langs / sizeof langs[0]; i++) {
		s = render_part(t, langs[i].locale, "subject", ctx, &m);
		assert_string_equal(s, langs[i].subject);
		assert_int_equal(m, 0);
		h = render_part(t, langs[i].locale, "html", ctx, &m);
		assert_int_equal(m, 0);
		x = render_part(t, langs[i].locale, "txt", ctx, &m);
		assert_int_equal(m, 0);
		assert_non_null(strstr(h, langs[i].hello));
		assert_non_null(strstr(x, langs[i].hello));
		assert_non_null(strstr(h, "#1001"));
		assert_non_null(strstr(h, ">Mug<"));
		assert_non_null(strstr(h, "Tea &amp; Biscuits"));
		assert_non_null(strstr(h, "src=\"https://cdn.example.com/mug.png\""));
		assert_non_null(strstr(h, "2 &times; €12.50"));
		assert_non_null(strstr(h, "€59.90"));
		assert_non_null(strstr(h,
		    "href=\"https://demo.myshopify.com/orders/abc?key=1&amp;x=2\""));
		assert_non_null(strstr(h, "Demo Shop"));
		assert_null(strstr(h, "{{"));
		assert_non_null(strstr(x, "Mug (Blue)"));
		assert_non_null(strstr(x, "Tea & Biscuits"));
		assert_non_null(strstr(x, "€59.90"));
		if (strcmp(langs[i].locale, "en") == 0)
			assert_string_equal(x, want_en_txt);
		free(s);
		free(h);
		free(x);
	}

	/* No first name, no status page, no address: fallbacks, nothing missing. */
	bare = json_deep_copy(ctx);
	json_object_del(json_object_get(bare, "customer"), "first_name");
	json_object_del(json_object_get(bare, "order"), "status_url");
	json_object_del(json_object_get(bare, "order"), "shipping_address");
	for (i = 0; i < sizeof langs / sizeof langs[0]; i++) {
		h = render_part(t, langs[i].locale, "html", bare, &m);
		assert_int_equal(m, 0);
		assert_non_null(strstr(h, langs[i].fallback_hello));
		assert_null(strstr(h, "Anna"));
		assert_null(strstr(h, "orders/abc"));
		free(h);
		x = render_part(t, langs[i].locale, "txt", bare, &m);
		assert_int_equal(m, 0);
		assert_non_null(strstr(x, langs[i].fallback_hello));
		assert_null(strstr(x, "Athens"));
		free(x);
	}
	json_decref(bare);
	json_decref(ctx);
	templates_free(t);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_table),
		cmocka_unit_test(test_render_depth),
		cmocka_unit_test(test_render_embedded_nul),
		cmocka_unit_test(test_render_limits),
		cmocka_unit_test(test_render_soup),
		cmocka_unit_test(test_templates_fallback),
		cmocka_unit_test(test_templates_errors),
		cmocka_unit_test(test_templates_shipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
