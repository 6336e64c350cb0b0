/*
 * The hearth command-line client: `hearth <command> [<args>]`.
 *
 * Every command but `serve` is a thin client of the daemon's admin API
 * (docs/api.md) over libcurl; `serve` parses its flags and hands over to
 * daemon_run(). This header is all src/main.c needs.
 */
#ifndef HEARTH_CLI_H
#define HEARTH_CLI_H

/* Runs the command named by argv and returns the process exit code:
 * 0 ok, 1 error (API error, function error, I/O), 2 usage error. */
int cli_main(int argc, char **argv);

#endif
