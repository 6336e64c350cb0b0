/*
 * hearth_runtime: write a function in C as a single handler.
 *
 * Link a handler with libhearth-runtime.a into a `bootstrap` and call
 * hearth_run() from main(); the library speaks the Lambda Runtime API
 * (2018-06-01) to $AWS_LAMBDA_RUNTIME_API: it fetches each event, calls the
 * handler, and posts its result or error. It needs nothing but libc, so the
 * bootstrap runs in any sandbox, and it works on AWS Lambda's "provided"
 * runtimes too.
 *
 *	static int
 *	handler(const char *event, size_t event_len, const struct hearth_context *ctx,
 *		char **out, size_t *out_len)
 *	{
 *		*out = strdup("{\"ok\":true}");
 *		*out_len = strlen(*out);
 *		return 0;
 *	}
 *
 *	int main(void) { return hearth_run(handler); }
 *
 * The library is single-threaded and keeps one keep-alive connection.
 */
#ifndef HEARTH_RUNTIME_H
#define HEARTH_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One invocation's context; valid for the duration of the handler call. */
struct hearth_context {
	const char *request_id;
	const char *function_arn;
	const char *trace_id;		/* also in the environment as _X_AMZN_TRACE_ID */
	unsigned long long deadline_ms;	/* epoch milliseconds */
	const char *client_context;	/* NULL when the caller sent none */
	const char *cognito_identity;	/* NULL when the caller sent none */
};

/*
 * Called once per event. `event` is the payload (NUL-terminated for
 * convenience; event_len excludes the NUL).
 *
 * Return 0 and set *out (malloc'd, *out_len) for success; return non-zero and set
 * *out to an error message (malloc'd, plain text) for an error reported as
 * errorType "HandlerError" (or a type set with hearth_set_error_type). The
 * library frees *out. *out may be left NULL: an empty response, or a generic
 * error message.
 */
typedef int hearth_handler(const char *event, size_t event_len, const struct hearth_context *ctx,
			   char **out, size_t *out_len);

/* Loops forever: next event -> handler -> response or error. Never returns
 * normally: if the Runtime API fails or asks the runtime to stop, it prints
 * why to stderr and exits 1. Makes stdout line-buffered, so each printf()ed
 * line reaches the logs even if the function later crashes. */
int hearth_run(hearth_handler *handler);

/* Milliseconds left before the invocation's deadline (negative once past). */
long long hearth_remaining_ms(const struct hearth_context *ctx);

/* Sets the errorType of the current invocation's error (default
 * "HandlerError"); call from the handler before returning non-zero. The type is
 * copied; at most 127 bytes, no control characters. */
void hearth_set_error_type(const char *type);

/* Reports a failure to initialise (before hearth_run(), e.g. missing
 * configuration) through /runtime/init/error, then exits 1. */
void hearth_init_error(const char *type, const char *msg) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
