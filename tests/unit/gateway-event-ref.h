/*
 * The payload format 2.0 event as hearth built it with jansson before the hand-written
 * serialiser in src/gateway/mapping.c: the reference the unit tests compare that
 * serialiser with, byte for byte. Test-only; included by test-gateway-mapping.c after
 * src/gateway/mapping.c (it reuses its static utf8_valid() and b64_encode()).
 */
/* A JSON string of s; invalid bytes become U+FFFD, as a client's bytes may be anything. */
static json_t *
ref_jstr(struct str s)
{
	struct buf b = BUF_INIT;
	const unsigned char *p = (const unsigned char *)s.ptr;
	size_t n = s.len, len;
	json_t *j;

	if (utf8_valid(s.ptr, s.len))
		return json_stringn(s.ptr ? s.ptr : "", s.len);
	while (n > 0) {
		len = *p ? utf8_seq_len(p, n) : 0;
		if (len == 0) {
			buf_adds(&b, "\xef\xbf\xbd");
			len = 1;
		} else {
			buf_add(&b, p, len);
		}
		p += len;
		n -= len;
	}
	j = json_stringn(b.ptr, b.len);
	buf_release(&b);
	return j;
}

/* Cookie headers split at ';' into the cookies array, as API Gateway does. */
static void
ref_add_cookies(json_t *cookies, struct str v)
{
	const char *p = v.ptr, *end = v.ptr + v.len;

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		struct str c = trim(str_from(p, (size_t)((semi ? semi : end) - p)));

		if (c.len)
			json_array_append_new(cookies, ref_jstr(c));
		p = semi ? semi + 1 : end;
	}
}

/* Headers with lower-case names, repeated ones joined with ','; cookies apart. */
static json_t *
ref_headers_json(const struct http_request *req, json_t *cookies)
{
	json_t *h = json_object();
	char name[256];
	size_t i, j;

	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *hd = &req->headers[i];
		struct buf v = BUF_INIT;
		bool seen = false;

		if (hd->name.len == 0 || hd->name.len >= sizeof(name))
			continue;
		if (str_caseeqs(hd->name, "cookie")) {
			ref_add_cookies(cookies, hd->value);
			continue;
		}
		for (j = 0; j < i && !seen; j++)
			seen = req->headers[j].name.len == hd->name.len &&
			       strncasecmp(req->headers[j].name.ptr, hd->name.ptr, hd->name.len) == 0;
		if (seen)
			continue;
		for (j = 0; j < hd->name.len; j++)
			name[j] = (char)tolower((unsigned char)hd->name.ptr[j]);
		name[hd->name.len] = '\0';
		if (!utf8_valid(name, hd->name.len))
			continue;
		buf_addstr(&v, hd->value);
		for (j = i + 1; j < req->nheaders; j++) {
			if (req->headers[j].name.len == hd->name.len &&
			    strncasecmp(req->headers[j].name.ptr, hd->name.ptr, hd->name.len) == 0) {
				buf_addch(&v, ',');
				buf_addstr(&v, req->headers[j].value);
			}
		}
		json_object_set_new(h, name, ref_jstr(str_from(v.ptr, v.len)));
		buf_release(&v);
	}
	return h;
}

/* Percent-decoded, or the raw bytes when the escapes are bad (the raw text stays in
 * rawQueryString/rawPath for a function that wants to judge for itself). */
static json_t *
ref_decoded(struct str s)
{
	char *d = NULL;
	json_t *j;

	if (http_pct_decode(s, &d) < 0)
		return ref_jstr(s);
	j = ref_jstr(str_cstr(d));
	free(d);
	return j;
}

/* queryStringParameters: decoded keys and values, repeated keys joined with ','. NULL
 * when the query has no parameter. */
static json_t *
ref_query_json(struct str q)
{
	const char *p = q.ptr, *end = q.ptr + q.len;
	json_t *o = json_object();

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pend = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pend - p));
		struct str k = str_from(p, (size_t)((eq ? eq : pend) - p));
		struct str v = eq ? str_from(eq + 1, (size_t)(pend - eq - 1)) : str_from("", 0);

		if (k.len) {
			json_t *key = ref_decoded(k), *val = ref_decoded(v), *cur;
			const char *ks = json_string_value(key);

			cur = json_object_get(o, ks);
			if (cur) {
				char *joined = xasprintf("%s,%s", json_string_value(cur),
							 json_string_value(val));

				json_object_set_new(o, ks, json_string(joined));
				free(joined);
			} else {
				json_object_set(o, ks, val);
			}
			json_decref(key);
			json_decref(val);
		}
		p = pend + (amp ? 1 : 0);
	}
	if (json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void
ref_event_build(const struct gateway_event_in *in, struct buf *out)
{
	const struct http_request *req = in->req;
	const struct str *ua = http_header_get(req, "user-agent");
	const struct str *host = http_header_get(req, "host");
	const struct str *ct = http_header_get(req, "content-type");
	json_t *ev, *ctx, *http, *cookies = json_array(), *headers, *q;
	struct str domain = host && host->len ? *host : STR_LIT("localhost");
	const char *dot;
	char when[40];
	time_t secs = (time_t)(in->now_ms / 1000);
	struct tm tm;
	char *text;
	size_t i;

	headers = ref_headers_json(req, cookies);
	gmtime_r(&secs, &tm);
	/* API Gateway's CLF-style time; the C locale's month names are English. */
	strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	/* The domain's port is not part of its name. */
	dot = memchr(domain.ptr, ':', domain.len);
	if (dot && domain.ptr[0] != '[')
		domain.len = (size_t)(dot - domain.ptr);
	dot = memchr(domain.ptr, '.', domain.len);

	http = json_object();
	json_object_set_new(http, "method", ref_jstr(req->method_name));
	json_object_set_new(http, "path", ref_jstr(req->path));
	json_object_set_new(http, "protocol", json_string(req->http_minor ? "HTTP/1.1" :
								  "HTTP/1.0"));
	json_object_set_new(http, "sourceIp", json_string(req->peer_ip));
	json_object_set_new(http, "userAgent", ua ? ref_jstr(*ua) : json_string(""));

	ctx = json_object();
	json_object_set_new(ctx, "accountId", json_string("000000000000"));
	json_object_set_new(ctx, "apiId", json_string("hearth"));
	json_object_set_new(ctx, "domainName", ref_jstr(domain));
	json_object_set_new(ctx, "domainPrefix",
			    ref_jstr(dot ? str_from(domain.ptr, (size_t)(dot - domain.ptr)) : domain));
	json_object_set_new(ctx, "http", http);
	json_object_set_new(ctx, "requestId", json_string(in->request_id));
	json_object_set_new(ctx, "routeKey", json_string(in->route_key));
	json_object_set_new(ctx, "stage", json_string("$default"));
	json_object_set_new(ctx, "time", json_string(when));
	json_object_set_new(ctx, "timeEpoch", json_integer((json_int_t)in->now_ms));

	ev = json_object();
	json_object_set_new(ev, "version", json_string("2.0"));
	json_object_set_new(ev, "routeKey", json_string(in->route_key));
	json_object_set_new(ev, "rawPath", ref_jstr(req->path));
	json_object_set_new(ev, "rawQueryString", ref_jstr(req->query.ptr ? req->query : STR_LIT("")));
	/* As API Gateway: the keys are there only when there is something in them. */
	if (json_array_size(cookies))
		json_object_set_new(ev, "cookies", cookies);
	else
		json_decref(cookies);
	json_object_set_new(ev, "headers", headers);
	q = ref_query_json(req->query);
	if (q)
		json_object_set_new(ev, "queryStringParameters", q);
	if (in->params && in->params->n) {
		json_t *pp = json_object();

		for (i = 0; i < in->params->n; i++) {
			char *name = str_dup(in->params->name[i]);

			json_object_set_new(pp, name, ref_decoded(in->params->value[i]));
			free(name);
		}
		json_object_set_new(ev, "pathParameters", pp);
	}
	json_object_set_new(ev, "requestContext", ctx);
	json_object_set_new(ev, "stageVariables", json_null());
	if (req->body.len) {
		if (gateway_body_is_text(ct, req->body.ptr, req->body.len)) {
			json_object_set_new(ev, "body", json_stringn(req->body.ptr, req->body.len));
			json_object_set_new(ev, "isBase64Encoded", json_false());
		} else {
			struct buf b = BUF_INIT;

			b64_encode(req->body.ptr, req->body.len, &b);
			json_object_set_new(ev, "body", json_stringn(b.ptr, b.len));
			json_object_set_new(ev, "isBase64Encoded", json_true());
			buf_release(&b);
		}
	} else {
		json_object_set_new(ev, "isBase64Encoded", json_false());
	}
	text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	buf_adds(out, text);
	free(text);
	json_decref(ev);
}
