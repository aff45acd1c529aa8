/*
 * fuzz_config.c - arbitrary bytes as the gateway's config file.
 *
 * The input goes to afgw_config_load_buffer.  Besides crashes, leaks and
 * undefined behaviour, it checks the contract: a failure leaves the
 * defaults and one message line "fuzz.yaml:..." without a newline; a
 * success gives values inside their documented bounds; fini is safe twice.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_loaded(const struct afgw_config *c)
{
	if (!c->path || strcmp(c->path, "fuzz.yaml"))
		abort();
	if (c->score.warn > c->score.block || c->score.warn < 0 || c->score.block > 100)
		abort();
	if (c->workers < 1 || c->workers > 64 || c->country_code < 1 || c->country_code > 999)
		abort();
	if (c->sip_ports[AFGW_CONFIG_PORTS_MAX] || c->smpp_ports[AFGW_CONFIG_PORTS_MAX])
		abort();
	if (c->n_allow > AFGW_CONFIG_ALLOW_MAX || (c->n_allow && !c->allow_numbers))
		abort();
	for (size_t i = 0; i < c->n_allow; i++) {
		if (!c->allow_numbers[i][0])
			abort();
		/* sorted and without repeats */
		if (i && strcmp(c->allow_numbers[i - 1], c->allow_numbers[i]) >= 0)
			abort();
	}
	if (c->output.events && !strcmp(c->output.events, "-"))
		abort();
	if (c->memcap.concat_bytes < 65536 || c->memcap.queue_bytes > ((size_t)1 << 30))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afgw_config c, d;
	char err[AFGW_CONFIG_ERR];
	int rc = afgw_config_load_buffer(&c, "fuzz.yaml", (const char *)data, size, err,
					 sizeof(err));
	if (rc == 0) {
		check_loaded(&c);
	} else {
		if (rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (strncmp(err, "fuzz.yaml:", 10) || strchr(err, '\n'))
			abort();
		afgw_config_default(&d);
		/* nothing allocated, every value the default */
		if (c.path || c.rules || c.redis.url || c.redis.password || c.output.events ||
		    c.allow_numbers || c.n_allow)
			abort();
		if (memcmp(&c.score, &d.score, sizeof(d.score)) ||
		    memcmp(&c.behaviour, &d.behaviour, sizeof(d.behaviour)) ||
		    memcmp(&c.memcap, &d.memcap, sizeof(d.memcap)) ||
		    memcmp(c.sip_ports, d.sip_ports, sizeof(d.sip_ports)) || c.workers != d.workers)
			abort();
	}
	afgw_config_fini(&c);
	afgw_config_fini(&c);
	return 0;
}
