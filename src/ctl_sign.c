/*
 * ctl_sign: `nudgectl sign --secret S FILE` prints the signature a shop
 * platform would send for FILE's exact bytes, so a user can try nudge
 * with curl. The secret may also come from NUDGE_SIGN_SECRET.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "sig.h"
#include "util.h"

int
ctl_sign(int argc, char **argv)
{
	const char *secret = getenv("NUDGE_SIGN_SECRET"), *file = NULL;
	char *body, *sig, *cause = NULL;
	size_t len;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
			secret = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "nudgectl sign: unknown option %s\n", argv[i]);
			return 2;
		} else
			file = argv[i];
	}
	if (secret == NULL || file == NULL) {
		fprintf(stderr, "usage: nudgectl sign --secret SECRET FILE (FILE may be -)\n");
		return 2;
	}
	body = strcmp(file, "-") == 0 ? util_read_file("/dev/stdin", &len, &cause) :
	    util_read_file(file, &len, &cause);
	if (body == NULL) {
		fprintf(stderr, "nudgectl sign: %s\n", cause);
		free(cause);
		return 1;
	}
	sig = sig_b64_hmac(secret, body, len);
	printf("%s\n", sig);
	free(sig);
	free(body);
	return 0;
}
