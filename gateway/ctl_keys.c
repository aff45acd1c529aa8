/*
 * ctl_keys.c - afgwctl keygen: new key pairs for the gateway (signing
 * warnings), for the police (signing rule bundles) and for an app
 * account (X25519, the key warnings are sealed to).
 *
 * The work is afgw_keys_generate (keys.c): both files created with
 * O_EXCL, the secret one mode 0600, nothing left behind on failure.
 * This file only reads the command line and says what was written.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "afgw/keys.h"

static const char usage_keygen[] =
	"usage: afgwctl keygen gateway|police|app -o PREFIX\n"
	"\n"
	"Make a new key pair and write it to PREFIX.key (the secret key, mode 0600)\n"
	"and PREFIX.pub (the public key, mode 0644).  Existing files are never\n"
	"overwritten.\n"
	"\n"
	"  gateway   Ed25519 signing key of a gateway: it signs residents' warnings.\n"
	"            Give PREFIX.pub to the app back end, which trusts it by its key id.\n"
	"  police    Ed25519 signing key of an anti-fraud centre: it signs rule bundles.\n"
	"            Give PREFIX.pub to every gateway, which trusts it for bundles.\n"
	"  app       X25519 key pair of an app account: warnings are sealed to it.\n"
	"            PREFIX.pub is what 'afgwctl sub add --pubkey' takes.\n"
	"\n"
	"options:\n"
	"  -o, --out PREFIX   where to write (PREFIX.key and PREFIX.pub)\n"
	"  -h, --help         this text\n";

static const struct option keygen_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "afgwctl keygen: %s%s%s%s (try 'afgwctl keygen --help')\n", msg,
		arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
	return 2;
}

int ctl_keygen_main(int argc, char **argv)
{
	const char *who = NULL, *prefix = NULL;
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "-o:h", keygen_opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (who)
				return usage_error("unexpected argument", optarg);
			who = optarg;
			break;
		case 'o':
			prefix = optarg;
			break;
		case 'h':
			fputs(usage_keygen, stdout);
			return 0;
		default:
			return usage_error("unknown or incomplete option", argv[optind - 1]);
		}
	}
	if (!who)
		return usage_error("say which key: gateway, police or app", NULL);
	enum afgw_key_kind kind;
	if (!strcmp(who, "gateway") || !strcmp(who, "police"))
		kind = AFGW_KEY_SIGN;
	else if (!strcmp(who, "app"))
		kind = AFGW_KEY_BOX;
	else
		return usage_error("unknown key type (gateway, police or app)", who);
	if (!prefix || !*prefix)
		return usage_error("-o PREFIX is needed", NULL);

	char err[AFGW_KEY_ERR];
	if (afgw_keys_init() != 0) {
		fprintf(stderr, "afgwctl keygen: libsodium failed to initialise\n");
		return 1;
	}
	if (afgw_keys_generate(kind, prefix, err, sizeof(err)) != 0) {
		fprintf(stderr, "afgwctl keygen: %s\n", err);
		return 1;
	}
	printf("%s.key\tsecret key (mode 0600): keep it %s\n", prefix,
	       kind == AFGW_KEY_BOX ? "on the app's device" : "on the signing host only");
	printf("%s.pub\tpublic key\n", prefix);
	if (kind == AFGW_KEY_SIGN) {
		/* The id as the .pub file states it: read back what was written. */
		struct afgw_sign_pub pub;
		char path[4096];
		snprintf(path, sizeof(path), "%s.pub", prefix);
		if (afgw_sign_pub_load(path, &pub, err, sizeof(err)) != 0) {
			fprintf(stderr, "afgwctl keygen: %s\n", err);
			return 1;
		}
		printf("key id %s\n", pub.id);
	}
	return 0;
}
