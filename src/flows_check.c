/*
 * flows_check: the flows against the templates (part of the flows module):
 * every step's template must exist, in some locale, with the parts its
 * channels need. Run by nudge-worker at start and by `nudgectl flows check`.
 */
#include <stdlib.h>

#include "flows.h"
#include "render.h"
#include "util.h"

int
flows_check_templates(const struct flows *fl, const struct templates *t, char **cause)
{
	size_t i, j;
	int k;

	for (i = 0; i < fl->n; i++)
		for (j = 0; j < fl->v[i].nsteps; j++) {
			const struct flow_step *st = &fl->v[i].steps[j];
			const char *need[3] = { NULL, NULL, NULL };

			if (st->channels & (1u << CHANNEL_EMAIL)) {
				need[0] = "subject";
				need[1] = "html";
			}
			if (st->channels & (1u << CHANNEL_SMS))
				need[2] = "sms";
			for (k = 0; k < 3; k++)
				if (need[k] && !templates_has(t, st->template, need[k])) {
					*cause = xasprintf("flow \"%s\" step \"%s\": template "
					    "\"%s\" has no .%s part in any locale", fl->v[i].name,
					    st->name, st->template, need[k]);
					return -1;
				}
		}
	return 0;
}
