/* fixtures.c — `kiln-test --fixtures DIR` writes the files tests/kiln_run_test.sh feeds
 * to kiln-run: a plan (y:0 = x + w), good and bad .npy inputs, and the expected bytes. */
#include "test.h"

static int write_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    int ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) != 0 || !ok);
}

/* A .npy v1.0 file with the given header dict and payload. */
static int write_npy(const char *dir, const char *name, const char *dict, const void *data, size_t n, int version) {
    unsigned char buf[4096];
    size_t pre = version == 1 ? 10 : 12, len = strlen(dict), total = (pre + len + 1 + 63) / 64 * 64;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    size_t hlen = total - pre;
    buf[8] = (unsigned char)hlen; buf[9] = (unsigned char)(hlen >> 8);
    if (version != 1) { buf[10] = 0; buf[11] = 0; }
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, ' ', total - pre - len - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, n);
    return write_file(dir, name, buf, total + n);
}

int write_fixtures(const char *dir) {
    pb *b = pb_new();
    int64_t dims[2] = {2, 3};
    float w[6] = {1, 2, 3, 4, 5, 6}, x[6] = {0.5f, -1, 2, 0, 1, 1}, y[6];
    uint32_t tx = pb_input(b, "x", KILN_F32, 2, dims), tw = pb_constant(b, KILN_F32, 2, dims, w);
    uint32_t ty = pb_output(b, "y:0", KILN_F32, 2, dims);
    attr_buf a = {0};
    ab_i32(&a, KILN_BINARY_ADD);
    uint32_t ins[2] = {tx, tw};
    pb_instr(b, KILN_OP_BINARY, a.data, a.size, 2, ins, 1, &ty);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, kiln_has_zstd(), KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    for (int i = 0; i < 6; i++) y[i] = x[i] + w[i];
    double xd[6] = {0.5, -1, 2, 0, 1, 1};
    int bad = write_file(dir, "plan.kplan", plan, size);
    free(plan);
    bad |= write_npy(dir, "x.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", x, sizeof x, 1);
    bad |= write_npy(dir, "x_v2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", x, sizeof x, 2);
    bad |= write_npy(dir, "fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", x, sizeof x, 1);
    bad |= write_npy(dir, "truncated.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", x, 10, 1);
    bad |= write_npy(dir, "shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", x, sizeof x, 1);
    bad |= write_npy(dir, "f64.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", xd, sizeof xd, 1);
    bad |= write_npy(dir, "object.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", x, sizeof x, 1);
    bad |= write_npy(dir, "bigendian.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", x, sizeof x, 1);
    bad |= write_file(dir, "garbage.npy", "hello world", 11);
    bad |= write_file(dir, "expected.bin", y, sizeof y);
    bad |= write_file(dir, "bad.kplan", "KILNPLAN\x02\x00\x00\x00", 12);
    return bad;
}
