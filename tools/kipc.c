// SPDX-License-Identifier: MIT
/*
 * kipc - the command-line tool.  One verb per concern; verbs that deal with
 * one kind of IPC object arrive with that kind.
 *
 *   kipc ls [--json]          every object of the namespace
 *   kipc stat OBJECT...       all fields of objects
 *   kipc rm [-a] OBJECT...    remove objects
 *   kipc mkfifo /NAME         make a FIFO; kipc write / kipc read copy
 *                             standard input into one, or one to output
 *   kipc mkqueue /NAME        make a message queue; kipc send / receive
 *   kipc bench [ARGS]         run the benchmark table (the kipc-bench program)
 *   kipc version              print the library version
 *
 * Exit codes are in tool.h.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tool.h"

#ifndef KIPC_LIBEXECDIR
#define KIPC_LIBEXECDIR "/usr/local/libexec"
#endif
#ifndef KIPC_VERSION
#define KIPC_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kipc COMMAND [ARGS]   (kipc COMMAND --help for each)\n"
		"  ls [--json]                                  list every IPC object\n"
		"  stat [--json] OBJECT...                      show an object's fields\n"
		"  rm [-a] [-m ID] [-M KEY] OBJECT...           remove objects\n"
		"  mkfifo [-m MODE] /NAME...                    make named FIFOs\n"
		"  write /NAME                                  standard input into a FIFO\n"
		"  read /NAME                                   a FIFO to standard output\n"
		"  mkqueue [-m MODE] [-n MAX] [-s SIZE] /NAME   make a message queue\n"
		"  send [-p PRIO] [-n] /NAME [MESSAGE]          send a message\n"
		"  receive [-p] [-n] /NAME                      receive a message\n"
		"  bench [--quick] [--json] [--filter SUBSTR]   run the benchmark table\n"
		"  version                                      print the version\n"
		"The namespace is $KIPC_NAMESPACE, else /dev/shm/kipc.\n"
		"Exit status: 0 success, 1 an object missing or failing, 2 bad usage.\n");
}

/*
 * The benchmark links the peer libraries it compares against, which the tool
 * must not depend on, so it is a program of its own: next to this binary in
 * the build tree, under libexec once installed.
 */
static int cmd_bench(char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(path, sizeof(path), "%s/kipc-bench", dirname(self));
		if (access(path, X_OK) == 0)
			execv(path, argv);
	}
	snprintf(path, sizeof(path), "%s/kipc/kipc-bench", KIPC_LIBEXECDIR);
	execv(path, argv);
	fprintf(stderr, "kipc bench: cannot run %s: %s\n", path, strerror(errno));
	return 127;
}

bool wants_help(int argc, char **argv)
{
	return argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} verbs[] = {
		{ "ls", cmd_ls }, { "stat", cmd_stat }, { "rm", cmd_rm },
		{ "mkfifo", cmd_mkfifo }, { "write", cmd_write }, { "read", cmd_read },
		{ "mkqueue", cmd_mkqueue }, { "send", cmd_send }, { "receive", cmd_receive },
	};

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("kipc %s\n", KIPC_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "kipc: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
