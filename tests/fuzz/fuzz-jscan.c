/* libFuzzer driver: the JSON checker (a function's answer is untrusted bytes), with
 * jansson as the oracle: jscan_check() must accept exactly what json_loadb() accepts.
 * For an accepted object or array, walking its members must stay inside the text and
 * unescaping each key must give what jansson decoded. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_t *j = json_loadb(text, size, JSON_DECODE_ANY, NULL);
	enum jscan_type type;
	struct jscan_iter it;
	struct jscan_member m;
	size_t n = 0;
	int r = jscan_check(text, size, &type, NULL);

	if ((r == 0) != (j != NULL))
		__builtin_trap();
	if (r == 0 && (type == JSCAN_OBJECT || type == JSCAN_ARRAY)) {
		jscan_iter_init(&it, str_from(text, size));
		while (jscan_next(&it, &m)) {
			if (m.value.ptr < text || m.value.ptr + m.value.len > text + size)
				__builtin_trap();
			if (type == JSCAN_OBJECT) {
				struct buf k = BUF_INIT;

				jscan_unescape(m.key, &k);
				if (!json_object_getn(j, k.ptr, k.len))
					__builtin_trap();
				buf_release(&k);
			} else if (!json_array_get(j, n)) {
				__builtin_trap();
			}
			n++;
		}
		if (type == JSCAN_ARRAY && n != json_array_size(j))
			__builtin_trap();
	}
	json_decref(j);
	return 0;
}
