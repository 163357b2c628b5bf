/*
 * Replays a fuzz target's regression corpus as an ordinary test: every file
 * in the folder given on the command line goes through the target once.
 * Linked with each tests/fuzz/fuzz_*.c (see CMakeLists.txt).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	d = opendir(argv[1]);
	if (!d) {
		fprintf(stderr, "cannot open corpus '%s'\n", argv[1]);
		return 1;
	}
	while ((e = readdir(d))) {
		char path[4096];
		FILE *f;
		long len;
		uint8_t *data;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		data = malloc(len > 0 ? (size_t)len : 1);
		if (len > 0 && fread(data, 1, (size_t)len, f) != (size_t)len)
			len = 0;
		fclose(f);
		LLVMFuzzerTestOneInput(data, len > 0 ? (size_t)len : 0);
		free(data);
		n++;
	}
	closedir(d);
	printf("%d passed, 0 failed\n", n);
	return 0;
}
