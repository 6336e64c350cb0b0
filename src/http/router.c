/*
 * Route matching: a request path against a table of patterns.
 *
 * Pure and allocation-free, so it is tested from tables and may be fuzzed: parameter
 * values are slices of the path, names slices of the pattern. It does not decode
 * percent escapes (a handler decodes the values it uses, with http_pct_decode()), so
 * "%2F" inside a segment never splits it.
 */
#include <errno.h>
#include <string.h>

#include "http/http.h"

#include "lib/banned.h"

enum seg_kind {
	SEG_LIT,	/* order matters: lower is more specific */
	SEG_PARAM,
	SEG_GREEDY,
};

/* Reads the segment starting at *pos (just after a '/') and leaves *pos on the next '/' or at
 * the end. */
static struct str
next_seg(const char *s, size_t len, size_t *pos)
{
	size_t start = *pos, i = start;

	while (i < len && s[i] != '/')
		i++;
	*pos = i;
	return str_from(s + start, i - start);
}

static enum seg_kind
seg_kind(struct str seg, struct str *name)
{
	if (seg.len >= 2 && seg.ptr[0] == '{' && seg.ptr[seg.len - 1] == '}') {
		if (seg.len >= 3 && seg.ptr[seg.len - 2] == '+') {
			*name = str_from(seg.ptr + 1, seg.len - 3);
			return SEG_GREEDY;
		}
		*name = str_from(seg.ptr + 1, seg.len - 2);
		return SEG_PARAM;
	}
	*name = seg;
	return SEG_LIT;
}

static const char *
check_pattern(const char *pat)
{
	size_t len, pos = 1, nparams = 0;

	if (!pat || pat[0] != '/')
		return "does not start with '/'";
	len = strlen(pat);
	for (;;) {
		struct str seg = next_seg(pat, len, &pos), name;
		enum seg_kind kind = seg_kind(seg, &name);
		size_t i;

		if (kind == SEG_LIT) {
			if (memchr(seg.ptr, '{', seg.len) || memchr(seg.ptr, '}', seg.len))
				return "has a brace that is not a whole {name} segment";
		} else {
			if (name.len == 0)
				return "has a parameter without a name";
			for (i = 0; i < name.len; i++) {
				if (strchr("{}+", name.ptr[i]))
					return "has a bad character in a parameter name";
			}
			if (++nparams > HTTP_MAX_PARAMS)
				return "has too many parameters";
			if (kind == SEG_GREEDY && pos != len)
				return "has a {name+} segment that is not the last";
		}
		if (pos == len)
			return NULL;
		pos++;
	}
}

static bool
add_param(struct http_params *p, struct str name, struct str value)
{
	if (p->n >= HTTP_MAX_PARAMS)
		return false;
	p->name[p->n] = name;
	p->value[p->n] = value;
	p->n++;
	return true;
}

static bool
match_pattern(const char *pat, struct str path, struct http_params *p)
{
	size_t plen, pp = 1, sp = 1, i;

	p->n = 0;
	if (!pat || pat[0] != '/' || path.len == 0 || path.ptr[0] != '/')
		return false;
	/* Every route is tried for every request, and most differ from the path early:
	 * the pattern's bytes before its first '{' are literal segments and their
	 * slashes, which a matching path must begin with, byte for byte; a pattern
	 * without '{' matches only a path equal to it. */
	for (i = 0; pat[i] && pat[i] != '{'; i++) {
		if (i == path.len || pat[i] != path.ptr[i])
			return false;
	}
	if (!pat[i])
		return i == path.len;
	/* The segments before the '{' have matched: go on from there. A '{' that does not
	 * start a segment makes the pattern invalid, and invalid patterns never match. */
	if (pat[i - 1] != '/')
		return false;
	pp = sp = i;
	plen = i + strlen(pat + i);
	for (;;) {
		struct str pseg = next_seg(pat, plen, &pp), name, sseg;
		enum seg_kind kind = seg_kind(pseg, &name);

		if (kind == SEG_GREEDY) {
			sseg = str_from(path.ptr + sp, path.len - sp);
			return sseg.len > 0 && pp == plen && add_param(p, name, sseg);
		}
		sseg = next_seg(path.ptr, path.len, &sp);
		if (kind == SEG_LIT && !str_eq(pseg, sseg))
			return false;
		if (kind == SEG_PARAM && (sseg.len == 0 || !add_param(p, name, sseg)))
			return false;
		if (pp == plen || sp == path.len)
			return pp == plen && sp == path.len;
		pp++;
		sp++;
	}
}

/* Both patterns matched the same path, so their segments line up until a {name+}. Negative if
 * a is more specific than b. */
static int
pattern_cmp(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b), ap = 1, bp = 1;

	for (;;) {
		struct str aname, bname;
		enum seg_kind ak = seg_kind(next_seg(a, alen, &ap), &aname);
		enum seg_kind bk = seg_kind(next_seg(b, blen, &bp), &bname);

		if (ak != bk)
			return (int)ak - (int)bk;
		if (ak == SEG_GREEDY || ap == alen || bp == blen)
			return 0;
		ap++;
		bp++;
	}
}

int
http_route_match(const struct http_route *routes, size_t n, int method, struct str path,
		 struct http_params *out)
{
	struct http_params cand;
	bool path_matched = false;
	long best = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct http_route *r = &routes[i];

		if (!match_pattern(r->pattern, path, &cand) || check_pattern(r->pattern))
			continue;
		path_matched = true;
		if (r->method != -1 && r->method != method)
			continue;
		if (best >= 0 && pattern_cmp(r->pattern, routes[best].pattern) >= 0)
			continue;
		best = (long)i;
		if (out)
			*out = cand;
	}
	if (best >= 0)
		return (int)best;
	if (out)
		out->n = 0;
	return path_matched ? -ENOTSUP : -ENOENT;
}

struct str
http_param(const struct http_params *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (str_eqs(p->name[i], name))
			return p->value[i];
	}
	return STR_NULL;
}

int
http_routes_check(const struct http_route *routes, size_t n, struct err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *why = check_pattern(routes[i].pattern);

		if (why)
			return err_setmsg(err, EINVAL, "route pattern '%s' %s",
					  routes[i].pattern ? routes[i].pattern : "(null)", why);
	}
	return 0;
}
