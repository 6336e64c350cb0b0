/*
 * Helpers every command uses: option parsing with uniform usage errors,
 * positional arguments, number parsing, time formatting and tables. Nothing
 * here talks to the daemon (that is client.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/banned.h"

int
cli__usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("hearth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'hearth %s --help'\n", cmd);
	return CLI_EXIT_USAGE;
}

int
cli__error(const char *fmt, ...)
{
	va_list ap;

	fputs("hearth: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_ERROR;
}

int
cli__getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	const char *arg;
	int c, len;

	if (shortopts[0] != ':')
		BUG("cli__getopt: shortopts must start with ':'");
	/* getopt reports through its own messages unless told not to; ours name the command. */
	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	/*
	 * glibc leaves little to go on: a long option always consumes its whole
	 * argv element, so argv[optind - 1] names it; a short one may sit inside
	 * a cluster ("-vz"), so only optopt names it. A long option given a value
	 * it does not take comes back as '?' with optopt set to its own val.
	 */
	arg = argv[optind - 1];
	len = (int)strcspn(arg, "=");
	if (c == ':') {
		if (arg[0] == '-' && arg[1] == '-')
			cli__usage_error(argv[0], "option '%.*s' for '%s' needs a value", len, arg,
					 argv[0]);
		else
			cli__usage_error(argv[0], "option '-%c' for '%s' needs a value", optopt,
					 argv[0]);
	} else if (optopt == 0) {
		cli__usage_error(argv[0], "unknown option '%.*s' for '%s'", len, arg, argv[0]);
	} else if (optopt > 255 || strchr(shortopts + 1, optopt)) {
		cli__usage_error(argv[0], "option '%.*s' for '%s' takes no value", len, arg,
				 argv[0]);
	} else {
		cli__usage_error(argv[0], "unknown option '-%c' for '%s'", optopt, argv[0]);
	}
	return '?';
}

int
cli__simple_opts(int argc, char **argv, const struct cli_global *global, const char *usage,
		 int want, const char **name, const char **data_dir)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	*data_dir = global->data_dir;
	for (;;) {
		c = cli__getopt(argc, argv, ":h", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return CLI_EXIT_OK;
		case 'D':
			*data_dir = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli__positional(argc, argv, want, name);
	return r ? r : -1;
}

bool
cli__name_valid(const char *name)
{
	static const char allowed[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	size_t n = strlen(name);

	return n >= 1 && n <= 64 && strspn(name, allowed) == n;
}

int
cli__positional(int argc, char **argv, int want, const char **name)
{
	int have = argc - optind;

	if (have > want)
		return cli__usage_error(argv[0], "unexpected argument '%s' for '%s'",
					argv[optind + want], argv[0]);
	if (have < want)
		return cli__usage_error(argv[0], "'%s' needs a function NAME", argv[0]);
	if (want == 0)
		return 0;
	if (!cli__name_valid(argv[optind]))
		return cli__usage_error(argv[0],
					"invalid function name '%s': use 1 to 64 letters, digits, "
					"'-' or '_'",
					argv[optind]);
	*name = argv[optind];
	return 0;
}

int
cli__parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts leading space and a sign; a flag value should be plain digits. */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

void
cli__fmt_time(uint64_t wall_ms, char *out, size_t n)
{
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (wall_ms == 0 || !gmtime_r(&secs, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "-");
}

void
cli__fmt_duration(uint64_t ms, char *out, size_t n)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(out, n, "%llums", (unsigned long long)ms);
	else if (s < 60)
		snprintf(out, n, "%llu.%llus", (unsigned long long)s,
			 (unsigned long long)(ms % 1000 / 100));
	else if (s < 3600)
		snprintf(out, n, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(out, n, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(out, n, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
}

static void
table_push(struct cli_table *t, char *cell)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->cells = xrealloc(t->cells, t->cap * sizeof(*t->cells));
	}
	t->cells[t->ncells++] = cell;
}

void
cli__table_init(struct cli_table *t, const char *const *headers)
{
	memset(t, 0, sizeof(*t));
	for (; *headers; headers++, t->ncols++)
		table_push(t, xstrdup(*headers));
}

void
cli__table_cell(struct cli_table *t, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	/* A cell is one line: a newline or tab from the server would break the columns. */
	for (size_t i = 0; i < b.len; i++)
		if (b.ptr[i] == '\n' || b.ptr[i] == '\r' || b.ptr[i] == '\t')
			b.ptr[i] = ' ';
	table_push(t, b.cap ? buf_detach(&b, NULL) : xstrdup(""));
}

void
cli__table_print(const struct cli_table *t, FILE *out)
{
	size_t *width = xcalloc(t->ncols, sizeof(*width));
	size_t i, col, n;

	for (i = 0; i < t->ncells; i++) {
		n = strlen(t->cells[i]);
		if (n > width[i % t->ncols])
			width[i % t->ncols] = n;
	}
	for (i = 0; i < t->ncells; i++) {
		col = i % t->ncols;
		if (col + 1 == t->ncols || i + 1 == t->ncells)
			fprintf(out, "%s\n", t->cells[i]);
		else
			fprintf(out, "%-*s   ", (int)width[col], t->cells[i]);
	}
	free(width);
}

void
cli__table_release(struct cli_table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
