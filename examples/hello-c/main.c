/*
 * hello-c: the smallest useful hearth function in C.
 *
 * The handler gets the event (JSON text) and returns a JSON answer. For an
 * event like {"name": "Ada"} it greets Ada; it always echoes the input back.
 * Build: `make build/examples/hello-c/bootstrap` (links libhearth-runtime.a).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearth_runtime.h"

/* Finds "name": "..." in the event and returns the raw JSON string contents
 * (escapes kept, so it can go straight back into JSON), or NULL. A real
 * function would use a JSON library; this one stays dependency-free. */
static char *
find_name(const char *event)
{
	const char *p = strstr(event, "\"name\"");
	const char *start;

	if (!p)
		return NULL;
	p += strlen("\"name\"");
	while (*p == ' ' || *p == ':')
		p++;
	if (*p != '"')
		return NULL;
	start = ++p;
	while (*p && *p != '"')
		p += (*p == '\\' && p[1]) ? 2 : 1;
	return *p ? strndup(start, (size_t)(p - start)) : NULL;
}

static int
hello(const char *event, size_t event_len, const struct hearth_context *ctx, char **out,
      size_t *out_len)
{
	char *name = find_name(event), *greeting = NULL;
	int n;

	(void)ctx;
	if (!name || asprintf(&greeting, "Hello, %s!", name) < 0)
		greeting = strdup("Hello from C!");
	n = asprintf(out, "{\"message\":\"%s\",\"input\":%.*s}", greeting ? greeting : "",
		     (int)event_len, event_len ? event : "null");
	free(greeting);
	free(name);
	if (n < 0)
		return 1;
	*out_len = (size_t)n;
	return 0;
}

int
main(void)
{
	return hearth_run(hello);
}
