/*
 * afgwctl.c - the tool for police, operators and app back ends.
 *
 * Its commands (keys, bundles, numbers, subscribers, reports, inbox,
 * rules) arrive with the stages they drive; --help lists only the ones
 * this build has.
 */
#include <stdio.h>
#include <string.h>

#include "afgw_config.h"

static const char usage[] =
	"usage: afgwctl [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"afgwctl manages an afgw fleet: rules and signed bundles (police), number lists\n"
	"(operators), subscribers and warnings (app back ends).\n"
	"\n"
	"commands: none in this build yet.\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("afgwctl %s\n", AFGW_VERSION_STRING);
		return 0;
	}
	fprintf(stderr, "afgwctl: unknown %s '%s' (try 'afgwctl --help')\n",
		cmd[0] == '-' ? "option" : "command", cmd);
	return 2;
}
