/*
 * http-api, the C part: GET /time answers the server's time as an API Gateway
 * response (payload format 2.0): statusCode, headers and a JSON body, with a
 * cookie to show that each entry in "cookies" becomes its own Set-Cookie.
 * Build: `make build/examples/http-api/bootstrap` (links libhearth-runtime.a).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hearth_runtime.h"

static int
handle_time(const char *event, size_t event_len, const struct hearth_context *ctx, char **out,
	    size_t *out_len)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	(void)event;
	(void)event_len;
	(void)ctx;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* "body" is a string holding JSON, as API Gateway expects. */
	n = asprintf(out, "{\"statusCode\":200,\"headers\":{\"content-type\":\"application/json\","
		     "\"cache-control\":\"no-store\"},\"cookies\":[\"seen=1; Path=/; HttpOnly\"],"
		     "\"body\":\"{\\\"utc\\\":\\\"%s\\\",\\\"epoch\\\":%lld}\"}", when,
		     (long long)now);
	if (n < 0)
		return 1;
	*out_len = (size_t)n;
	return 0;
}

int
main(void)
{
	return hearth_run(handle_time);
}
