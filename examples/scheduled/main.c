/*
 * scheduled: a job run by a schedule. It reads the EventBridge Scheduled Event
 * (its "time" and "resources"), writes one log line per run and answers with
 * what it did. A {"warmer": true} keep-warm ping is answered at once.
 * Build: `make build/examples/scheduled/bootstrap` (links libhearth-runtime.a).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearth_runtime.h"

/* The raw contents of "key": "..." in a flat JSON event, or NULL. A real job
 * would use a JSON library; this one stays dependency-free. */
static char *
find_string(const char *event, const char *key)
{
	char pat[64];
	const char *p, *start;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(event, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ' || *p == ':' || *p == '[')
		p++;
	if (*p != '"')
		return NULL;
	start = ++p;
	while (*p && *p != '"')
		p += (*p == '\\' && p[1]) ? 2 : 1;
	return *p ? strndup(start, (size_t)(p - start)) : NULL;
}

static int
job(const char *event, size_t event_len, const struct hearth_context *ctx, char **out,
    size_t *out_len)
{
	char *when, *rule;
	int n;

	(void)event_len;
	if (strstr(event, "\"warmer\"")) {
		*out = strdup("{\"warm\":true}");
		*out_len = *out ? strlen(*out) : 0;
		return *out ? 0 : 1;
	}
	when = find_string(event, "time");
	rule = find_string(event, "resources");
	/* stdout goes to the function's log, tagged with the request id. */
	printf("job run for %s at %s\n", rule ? rule : "a direct call", when ? when : "now");
	fflush(stdout);
	n = asprintf(out, "{\"ran\":true,\"scheduledTime\":\"%s\",\"requestId\":\"%s\"}",
		     when ? when : "", ctx->request_id);
	free(when);
	free(rule);
	if (n < 0)
		return 1;
	*out_len = (size_t)n;
	return 0;
}

int
main(void)
{
	return hearth_run(job);
}
