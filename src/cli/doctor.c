/*
 * `hearth doctor`: what this host offers the sandbox, and what `hearth serve`
 * will enforce on every function instance. It reads /proc and /sys only
 * (sandbox_probe()), so it runs without a daemon and creates nothing.
 *
 * Exit status: 0 when serve would run with every limit, 1 when serve would
 * refuse to start (a limit it cannot enforce, no user namespaces or seccomp),
 * so scripts can gate a deployment on it.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "sandbox/sandbox.h"
#include "lib/banned.h"

static const char doctor_usage[] =
	"usage: hearth doctor\n"
	"\n"
	"Prints what this host supports for sandboxing functions (namespaces, seccomp,\n"
	"cgroup controllers) and which limits 'hearth serve' enforces on each instance.\n"
	"Exits 1 if 'hearth serve' would refuse to start here.\n"
	"\n"
	"   -h, --help   show this help\n";

static const char *
yes(bool b)
{
	return b ? "yes" : "NO";
}

int
cli__cmd_doctor(int argc, char **argv, const struct cli_global *global)
{
	struct sandbox_support s;
	struct sandbox_cpu c128;
	struct utsname u;
	const char *name = NULL, *data = NULL;
	char how[160];
	unsigned bit, missing;
	bool root = geteuid() == 0, ok;
	int r;

	r = cli__simple_opts(argc, argv, global, doctor_usage, 0, &name, &data);
	if (r >= 0)
		return r;
	sandbox_probe(&s);
	sandbox_cpu_for_memory(128ull << 20, &c128);
	uname(&u);

	printf("host\n");
	printf("  %-18s %s %s\n", "kernel", u.sysname, u.release);
	printf("  %-18s %s\n", "running as",
	       root ? "root" : "not root (hearth serve must run as root)");
	printf("  %-18s %s\n", "user namespaces", yes(s.userns));
	printf("  %-18s %s\n", "seccomp filters", yes(s.seccomp));
	if (s.cgroup_version == 0)
		printf("  %-18s %s\n", "cgroups", "NO memory controller (v1 or v2)");
	else
		printf("  %-18s v%d (memory %s%s%s%s%s)\n", "cgroups", s.cgroup_version,
		       s.mem_path, s.pids_path[0] ? ", pids " : "", s.pids_path,
		       s.cpu_path[0] ? ", cpu " : "", s.cpu_path);
	printf("  %-18s %s\n", "swap", s.host_swap ? "enabled" : "none");

	printf("\nlimit per instance   enforced   how\n");
	missing = SANDBOX_LIMIT_ALL & ~s.limits;
	for (bit = 1; bit & SANDBOX_LIMIT_ALL; bit <<= 1) {
		switch (bit) {
		case SANDBOX_LIMIT_MEMORY:
			snprintf(how, sizeof(how), "%s = the function's memory (128..10240 MB)",
				 s.cgroup_version == 2 ? "memory.max" : "memory.limit_in_bytes");
			break;
		case SANDBOX_LIMIT_SWAP:
			snprintf(how, sizeof(how), "%s",
				 !s.host_swap ? "no swap on this host to escape into" :
				 s.cgroup_version == 2 ? "memory.swap.max = 0" :
				 "memory.memsw.limit_in_bytes = memory");
			break;
		case SANDBOX_LIMIT_PIDS:
			snprintf(how, sizeof(how), "pids.max = 1024 (a fork bomb stops there)");
			break;
		case SANDBOX_LIMIT_CPU:
			snprintf(how, sizeof(how),
				 "%s: one core per %d MB (128 MB: %llu us per %llu us), weight alike",
				 s.cgroup_version == 2 ? "cpu.max" : "cpu.cfs_quota_us",
				 SANDBOX_MB_PER_CPU, (unsigned long long)c128.quota_us,
				 (unsigned long long)c128.period_us);
			break;
		}
		printf("  %-18s %-10s %s\n", sandbox_limit_name(bit),
		       (s.limits & bit) ? "yes" : "NO", how);
	}
	printf("  %-18s %-10s %s\n", "open files", "yes", "RLIMIT_NOFILE 1024");
	printf("  %-18s %-10s %s\n", "/tmp", "yes",
	       "tmpfs of the function's tmp_mb (default 512), counted as its memory");
	printf("  %-18s %-10s %s\n", "wall clock", "yes",
	       "the function's timeout (1..900 s), then the instance is killed");
	printf("  %-18s %-10s %s\n", "network", yes(s.userns),
	       "own network namespace, loopback only (network: host shares the machine's)");

	ok = s.userns && s.seccomp && (s.limits & SANDBOX_LIMIT_MEMORY) && root;
	printf("\n");
	if (!ok) {
		printf("hearth serve cannot run here: it needs root, user namespaces, seccomp and a "
		       "cgroup memory controller.\n");
		return CLI_EXIT_ERROR;
	}
	if (missing) {
		printf("hearth serve will refuse to start: this host cannot enforce the");
		for (bit = 1; bit & SANDBOX_LIMIT_ALL; bit <<= 1)
			if (missing & bit)
				printf(" %s", sandbox_limit_name(bit));
		printf(" limit(s).\nPass --allow-weaker-limits to run functions without them.\n");
		return CLI_EXIT_ERROR;
	}
	printf("hearth serve will enforce every limit above.\n");
	return CLI_EXIT_OK;
}
