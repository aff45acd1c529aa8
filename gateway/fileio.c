/*
 * fileio.c - small file helpers (fileio.h).
 */
#include "afgw/fileio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int afgw_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
