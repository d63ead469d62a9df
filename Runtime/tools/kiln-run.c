/* kiln-run — runs a Kiln plan on .npy inputs and writes .npy outputs, with no Swift.
 *
 *   kiln-run PLAN --input NAME=FILE.npy ... [--input FILE.npy] --output-dir DIR [--threads N]
 *
 * `--input FILE.npy` without a name binds the plan's inputs in order. Each output is
 * written to DIR/<name>.npy, every character of the name other than letters, digits,
 * '.', '_' and '-' replaced by '_'. Errors print one line and exit with status 1. */
#define _POSIX_C_SOURCE 200809L
#include "kiln.h"
#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_INPUTS 256

static void die(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "kiln-run: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    exit(1);
}

static void usage(void) {
    die("usage: kiln-run PLAN --input NAME=FILE.npy ... --output-dir DIR [--threads N]%s%s", "", "");
}

static int mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *plan_path = NULL, *out_dir = NULL;
    const char *names[MAX_INPUTS], *files[MAX_INPUTS];
    int ninputs = 0;
    long threads = 1;
    for (int i = 1; i < argc; i++) {
        /* `--option=value` is the same as `--option value`. */
        char opt[16];
        const char *arg = argv[i];
        char *inline_value = NULL;
        char *eqopt = strchr(argv[i], '=');
        if (strncmp(arg, "--", 2) == 0 && eqopt && (size_t)(eqopt - arg) < sizeof opt) {
            memcpy(opt, arg, (size_t)(eqopt - arg));
            opt[eqopt - arg] = 0;
            arg = opt;
            inline_value = eqopt + 1;
        }
#define OPTION_VALUE() (inline_value ? inline_value : (++i < argc ? argv[i] : (usage(), argv[0])))
        if (strcmp(arg, "--input") == 0 || strcmp(arg, "-i") == 0) {
            char *value = OPTION_VALUE();
            if (ninputs >= MAX_INPUTS) die("too many inputs%s%s", "", "");
            char *eq = strchr(value, '=');
            if (eq) { *eq = 0; names[ninputs] = value; files[ninputs] = eq + 1; }
            else { names[ninputs] = NULL; files[ninputs] = value; }
            ninputs++;
        } else if (strcmp(arg, "--output-dir") == 0 || strcmp(arg, "-o") == 0) {
            out_dir = OPTION_VALUE();
        } else if (strcmp(arg, "--threads") == 0) {
            const char *value = OPTION_VALUE();
            char *end;
            threads = strtol(value, &end, 10);
            if (*end || threads < 1 || threads > 256) die("--threads needs a number from 1 to 256, got \"%s\"%s", value, "");
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: kiln-run PLAN --input NAME=FILE.npy ... --output-dir DIR [--threads N]\n");
            return 0;
        } else if (argv[i][0] == '-') {
            die("unknown option %s%s", argv[i], "");
        } else if (!plan_path) {
            plan_path = argv[i];
        } else {
            die("unexpected argument %s%s", argv[i], "");
        }
    }
    if (!plan_path || !out_dir) usage();

    kiln_error err;
    kiln_plan *plan = NULL;
    kiln_session *session = NULL;
    if (kiln_plan_load_mmap(plan_path, &plan, &err) != KILN_OK) die("%s%s", err.message, "");
    if (kiln_session_create(plan, (uint32_t)threads, &session, &err) != KILN_OK) die("%s%s", err.message, "");
    uint32_t count = kiln_session_input_count(session), positional = 0;
    char *bound = calloc(count ? count : 1, 1);
    for (int k = 0; k < ninputs; k++) {
        uint32_t index;
        if (names[k]) {
            if (kiln_plan_input_index(plan, names[k], &index) != KILN_OK) die("the plan has no input named \"%s\"%s", names[k], "");
        } else {
            index = positional++;
            if (index >= count) die("more positional inputs than the plan's inputs (%s)%s", files[k], "");
        }
        kiln_tensor_info info;
        kiln_session_input_info(session, index, &info);
        if (bound[index]) die("input \"%s\" is bound twice%s", info.name, "");
        bound[index] = 1;
        npy_array a;
        char msg[512];
        if (npy_read(files[k], &a, msg, sizeof msg)) die("%s%s", msg, "");
        char want[200], got[200];
        npy_format_shape(info.rank, info.dims, want, sizeof want);
        npy_format_shape(a.rank, a.dims, got, sizeof got);
        int same = a.rank == info.rank;
        for (uint32_t d = 0; same && d < a.rank; d++) same = a.dims[d] == info.dims[d];
        if (a.dtype != info.dtype) {
            snprintf(msg, sizeof msg, "input \"%s\": %s holds %s, the plan expects %s", info.name, files[k],
                     kiln_dtype_name(a.dtype), kiln_dtype_name(info.dtype));
            die("%s%s", msg, "");
        }
        if (!same) {
            snprintf(msg, sizeof msg, "input \"%s\": %s has shape %s, the plan expects %s", info.name, files[k], got, want);
            die("%s%s", msg, "");
        }
        if (kiln_session_set_input(session, index, a.data, a.bytes) != KILN_OK) die("%s%s", kiln_session_error(session), "");
        npy_free(&a);
    }
    for (uint32_t i = 0; i < count; i++)
        if (!bound[i]) {
            kiln_tensor_info info;
            kiln_session_input_info(session, i, &info);
            free(bound);
            die("input \"%s\" is not bound (use --input %s=FILE.npy)", info.name, info.name);
        }
    free(bound);
    if (kiln_session_run(session) != KILN_OK) die("%s%s", kiln_session_error(session), "");
    if (mkdirs(out_dir) != 0) die("cannot create the output directory %s%s", out_dir, "");
    for (uint32_t i = 0; i < kiln_session_output_count(session); i++) {
        kiln_tensor_info info;
        const void *data;
        uint64_t bytes;
        kiln_session_output_info(session, i, &info);
        kiln_session_output(session, i, &data, &bytes);
        size_t n = strlen(info.name), dn = strlen(out_dir);
        char *path = malloc(dn + n + 8);
        memcpy(path, out_dir, dn);
        path[dn] = '/';
        for (size_t c = 0; c < n; c++) {
            char ch = info.name[c];
            int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                     ch == '_' || ch == '-';
            path[dn + 1 + c] = ok ? ch : '_';
        }
        memcpy(path + dn + 1 + n, ".npy", 5);
        char msg[600];
        if (npy_write(path, info.dtype, info.rank, info.dims, data, bytes, msg, sizeof msg)) die("%s%s", msg, "");
        printf("%s\n", path);
        free(path);
    }
    kiln_session_free(session);
    kiln_plan_free(plan);
    return 0;
}
