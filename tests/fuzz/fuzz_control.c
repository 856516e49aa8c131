/*
 * tests/fuzz/fuzz_control.c — the daemon's control-protocol dispatcher
 * (fs/control/server.c, request.c, api.c and what they call) driven
 * without a socket or a mount: one daemon state in a scratch directory
 * for the whole run, each input one request line. Requests change that
 * state as they would a daemon's, so later inputs meet the objects
 * earlier ones made.
 */
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fs/control/server.h"
#include "fs/control/controller.h"
#include "fs/control/volume.h"
#include "meta/log.h"
#include "tests/fuzz/fuzz.h"

static struct vfs *v;
static char state[4096];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void close_state(void)
{
	vfs_close(v);
	nftw(state, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc, (void)argv;
	vlog_setup(VLOG_ERROR, VLOG_TO_STDERR, 0);
	const char *tmp = getenv("TMPDIR");
	snprintf(state, sizeof state, "%s/volfs-fuzz-control.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(state) || vfs_open_state(&v, state, 0, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz_control: cannot open a state in %s: %s\n", state, err);
		abort();
	}
	volume_install_names(v);
	controller_bootstrap(v);
	atexit(close_state);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size);
	int shutdown = 0;
	json_object *ans = control_answer(v, "/fuzz/mnt", line, &shutdown), *ok;
	FUZZ_ASSERT(json_object_object_get_ex(ans, "ok", &ok) && json_object_is_type(ok, json_type_boolean));
	if (!json_object_get_boolean(ok)) {
		json_object *reason;
		FUZZ_ASSERT(json_object_object_get_ex(ans, "reason", &reason));
	}
	/* The socket thread commits after every answer. */
	vfs_flush_all(v);
	json_object_put(ans);
	free(line);
	return 0;
}
