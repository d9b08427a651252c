// SPDX-License-Identifier: MIT
/*
 * kipc mkfifo, kipc write, kipc read: FIFOs of the namespace from the
 * shell, so that pipelines can use them:
 *
 *   kipc mkfifo /jobs && producer | kipc write /jobs &
 *   kipc read /jobs | consumer
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <kipc/pipe.h>
#include "tool.h"

static int usage_error(const char *verb, const char *usage)
{
	fprintf(stderr, "usage: kipc %s %s (see kipc %s --help)\n", verb, usage, verb);
	return EXIT_USAGE;
}

int cmd_mkfifo(int argc, char **argv)
{
	mode_t mode = 0666;
	int i = 1, rc = 0;

	if (wants_help(argc, argv)) {
		printf("usage: kipc mkfifo [-m MODE] /NAME...\n"
		       "Make named FIFOs in the namespace, mode MODE (octal, default 0666)\n"
		       "less the umask, as mkfifo(1).  Exit 0; 1 if one could not be made\n"
		       "(it exists, permissions, no space); 2 for bad usage.\n");
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "-m")) {
		char *end;
		unsigned long m = strtoul(argv[2], &end, 8);

		if (*end || !*argv[2] || m > 0777) {
			fprintf(stderr, "kipc mkfifo: -m %s: not an octal mode\n", argv[2]);
			return EXIT_USAGE;
		}
		mode = (mode_t)m;
		i = 3;
	}
	if (i >= argc)
		return usage_error("mkfifo", "[-m MODE] /NAME...");
	for (; i < argc; i++) {
		if (kipc_mkfifo(argv[i], mode) < 0) {
			int err = errno;

			fprintf(stderr, "kipc mkfifo: %s: %s\n", argv[i], strerror(err));
			if (err == EINVAL || err == ENAMETOOLONG)
				return EXIT_USAGE;
			rc = EXIT_OBJECT;
		}
	}
	return rc;
}

/* Copy everything from one descriptor to another, kipc or kernel. */
static int copy(ssize_t (*rd)(int, void *, size_t), int from,
		ssize_t (*wr)(int, const void *, size_t), int to, const char *verb)
{
	static char buf[65536];
	ssize_t n;

	while ((n = rd(from, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "kipc %s: read: %s\n", verb, strerror(errno));
			return EXIT_OBJECT;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = wr(to, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				/* The reader went away: stop quietly, as cat(1) under SIGPIPE. */
				if (errno == EPIPE)
					return EXIT_OBJECT;
				fprintf(stderr, "kipc %s: write: %s\n", verb, strerror(errno));
				return EXIT_OBJECT;
			}
			off += w;
		}
	}
	return 0;
}

static int open_fifo(const char *verb, const char *name, int flags)
{
	int fd = kipc_open(name, flags);

	if (fd < 0)
		fprintf(stderr, "kipc %s: %s: %s\n", verb, name, strerror(errno));
	return fd;
}

static ssize_t write_kernel(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n);
}

static ssize_t read_kernel(int fd, void *buf, size_t n)
{
	return read(fd, buf, n);
}

int cmd_write(int argc, char **argv)
{
	int fd, rc;

	if (wants_help(argc, argv)) {
		printf("usage: kipc write /NAME\n"
		       "Copy standard input into the FIFO /NAME until end of input.  Opening\n"
		       "waits for a reader, as a FIFO's does.  Exit 0; 1 if the FIFO is missing\n"
		       "or its readers went away; 2 for bad usage.\n");
		return 0;
	}
	if (argc != 2)
		return usage_error("write", "/NAME");
	fd = open_fifo("write", argv[1], O_WRONLY);
	if (fd < 0)
		return errno == EINVAL || errno == ENAMETOOLONG ? EXIT_USAGE : EXIT_OBJECT;
	rc = copy(read_kernel, STDIN_FILENO, kipc_write, fd, "write");
	kipc_close(fd);
	return rc;
}

int cmd_read(int argc, char **argv)
{
	int fd, rc;

	if (wants_help(argc, argv)) {
		printf("usage: kipc read /NAME\n"
		       "Copy the FIFO /NAME to standard output until every writer has closed\n"
		       "it.  Opening waits for a writer, as a FIFO's does.  Exit 0; 1 if the\n"
		       "FIFO is missing or output fails; 2 for bad usage.\n");
		return 0;
	}
	if (argc != 2)
		return usage_error("read", "/NAME");
	fd = open_fifo("read", argv[1], O_RDONLY);
	if (fd < 0)
		return errno == EINVAL || errno == ENAMETOOLONG ? EXIT_USAGE : EXIT_OBJECT;
	rc = copy(kipc_read, fd, write_kernel, STDOUT_FILENO, "read");
	kipc_close(fd);
	return rc;
}
