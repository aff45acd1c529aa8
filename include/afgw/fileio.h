/*
 * fileio.h - the small file helpers the key, bundle and tool files share,
 * gateway/fileio.c.  Any thread.
 */
#ifndef AFGW_FILEIO_H
#define AFGW_FILEIO_H

#include <stddef.h>

/* Write all n bytes of p to fd, retrying after EINTR.  Returns 0 or -errno. */
int afgw_write_all(int fd, const void *p, size_t n);

#endif
