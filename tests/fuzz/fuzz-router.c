/* libFuzzer driver: route matching against the admin API's route patterns
 * (paths come from any client). The first byte picks the method. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_route routes[] = {
	{ HTTP_GET, "/v1/functions", NULL, 0 },
	{ HTTP_PUT, "/v1/functions/{name}", NULL, 0 },
	{ HTTP_GET, "/v1/functions/{name}", NULL, 0 },
	{ HTTP_POST, "/v1/functions/{name}/invoke", NULL, 0 },
	{ -1, "/static/{path+}", NULL, 0 },
	{ HTTP_GET, "/a/{x}/b/{y}/c/{z}", NULL, 0 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_params params;
	struct str path;
	int method, r;
	size_t i;

	if (size < 1)
		return 0;
	method = data[0] % 8;
	path = str_from((const char *)data + 1, size - 1);
	r = http_route_match(routes, sizeof(routes) / sizeof(routes[0]), method, path, &params);
	if (r >= 0) {
		if (params.n > HTTP_MAX_PARAMS)
			__builtin_trap();
		/* Values are slices of the path. */
		for (i = 0; i < params.n; i++)
			if (params.value[i].ptr < path.ptr ||
			    params.value[i].ptr + params.value[i].len > path.ptr + path.len)
				__builtin_trap();
	} else if (r != -ENOENT && r != -ENOTSUP) {
		__builtin_trap();
	}
	return 0;
}
