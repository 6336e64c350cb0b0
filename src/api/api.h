/*
 * The admin API: the routes of docs/api.md on top of the HTTP server.
 * Validates every input at the boundary; answers errors as
 * {"error": {"code", "message"}} with a status from one table.
 */
#ifndef HEARTH_API_H
#define HEARTH_API_H

#include "http/http.h"
#include "invoke/invoke.h"
#include "store/store.h"

struct schedule_service;
struct gateway;
struct put_job;

struct api {
	uv_loop_t *loop;		/* code is unpacked on its worker pool */
	struct store *store;
	struct invoke_service *invoke;
	const char *code_root;
	char token[65];
	unsigned unpacking;		/* code unpacks in flight on the worker pool */
	struct put_job *puts;		/* those unpacks: one per function at a time */
	char access_key[21];		/* the Lambda API's AWS key pair (SigV4) */
	char secret_key[41];
	struct schedule_service *schedules;	/* NULL once shutdown has begun */
	struct gateway *gateway;	/* user routes; NULL once shutdown has begun */
};

/* The region the Lambda API reports in ARNs (any region is accepted in signatures). */
#define API_REGION "us-east-1"

/* Reads <data_dir>/aws-credentials into api, creating it (0600) with a new
 * random key pair on the first start. */
int api_credentials_load(struct api *api, const char *data_dir, struct err *err);

/* The http_handler_fn for the admin listener; data is a struct api. */
void api_handle(struct http_request *req, void *data);

#endif
