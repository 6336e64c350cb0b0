/*
 * Shared by the command files of the CLI: the command signature, option
 * parsing with uniform usage errors, argument validation and table output.
 * Module-internal (double-underscore names); only cli.h is public.
 */
#ifndef HEARTH_CLI_CMD_H
#define HEARTH_CLI_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/compiler.h"

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,
	CLI_EXIT_USAGE = 2,
};

#define CLI_DEFAULT_DATA "./hearth-data"

/* Options given before the command name (`hearth --data DIR ls`). */
struct cli_global {
	const char *data_dir;	/* NULL when not given */
};

/* A command: argv[0] is the command's name; returns the exit code. */
typedef int cli_cmd_fn(int argc, char **argv, const struct cli_global *global);

int cli__cmd_serve(int argc, char **argv, const struct cli_global *global);
int cli__cmd_deploy(int argc, char **argv, const struct cli_global *global);
int cli__cmd_invoke(int argc, char **argv, const struct cli_global *global);
int cli__cmd_ls(int argc, char **argv, const struct cli_global *global);
int cli__cmd_get(int argc, char **argv, const struct cli_global *global);
int cli__cmd_rm(int argc, char **argv, const struct cli_global *global);
int cli__cmd_logs(int argc, char **argv, const struct cli_global *global);
int cli__cmd_events(int argc, char **argv, const struct cli_global *global);
int cli__cmd_ps(int argc, char **argv, const struct cli_global *global);
int cli__cmd_stats(int argc, char **argv, const struct cli_global *global);
int cli__cmd_doctor(int argc, char **argv, const struct cli_global *global);
int cli__cmd_publish(int argc, char **argv, const struct cli_global *global);
int cli__cmd_versions(int argc, char **argv, const struct cli_global *global);
int cli__cmd_alias(int argc, char **argv, const struct cli_global *global);
int cli__cmd_credentials(int argc, char **argv, const struct cli_global *global);
int cli__cmd_async_config(int argc, char **argv, const struct cli_global *global);
int cli__cmd_scheduling(int argc, char **argv, const struct cli_global *global);
int cli__cmd_schedule(int argc, char **argv, const struct cli_global *global);
int cli__cmd_route(int argc, char **argv, const struct cli_global *global);

/*
 * getopt_long() with hearth's messages. `shortopts` must start with ':' so
 * that a missing value is told apart from an unknown option. Returns the
 * option, -1 after the last one, or '?' once it has printed a usage error
 * (the caller then returns CLI_EXIT_USAGE). cli_main() resets getopt's
 * state before a command runs, so each command parses from its own argv[1].
 */
int cli__getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Prints "hearth: <message>" and the --help hint for argv0's command; returns CLI_EXIT_USAGE. */
int cli__usage_error(const char *cmd, const char *fmt, ...) FORMAT(2, 3);

/* Prints "hearth: error: <message>"; returns CLI_EXIT_ERROR. */
int cli__error(const char *fmt, ...) FORMAT(1, 2);

/*
 * Takes the positional arguments left after option parsing (argv[optind..]):
 * exactly `want` of them (0 or 1, a function NAME, validated). Prints a usage
 * error and returns CLI_EXIT_USAGE otherwise.
 */
int cli__positional(int argc, char **argv, int want, const char **name);

/*
 * Option parsing for commands whose only options are --data DIR and --help,
 * then `want` positional NAMEs (0 or 1). Returns -1 to go on, with *name and
 * *data_dir set, or the exit code to return (after --help or a usage error).
 */
int cli__simple_opts(int argc, char **argv, const struct cli_global *global, const char *usage,
		     int want, const char **name, const char **data_dir);

/* Function names as the API accepts them: [A-Za-z0-9_-]{1,64}. */
bool cli__name_valid(const char *name);

/* Parses a whole decimal string into [min, max]; -EINVAL or -ERANGE. */
int cli__parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* "2026-11-27T12:00:03Z" (UTC) for epoch milliseconds; "-" for 0. */
void cli__fmt_time(uint64_t wall_ms, char *out, size_t n);
/* Compact durations for tables: "850ms", "12.3s", "5m12s", "3h05m", "2d04h". */
void cli__fmt_duration(uint64_t ms, char *out, size_t n);

/*
 * A text table with columns as wide as their widest cell, separated by
 * three spaces; the last column is not padded. Cells are copied.
 */
struct cli_table {
	size_t ncols;
	size_t ncells;
	size_t cap;
	char **cells;		/* row-major, the header row first */
};

/* `headers` is a NULL-terminated list of column names. */
void cli__table_init(struct cli_table *t, const char *const *headers);
/* Appends the next cell, filling rows left to right. */
void cli__table_cell(struct cli_table *t, const char *fmt, ...) FORMAT(2, 3);
void cli__table_print(const struct cli_table *t, FILE *out);
void cli__table_release(struct cli_table *t);

#endif
