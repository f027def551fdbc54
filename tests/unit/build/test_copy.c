/* Unit tests of src/build/copy.c: Docker's COPY rules into a directory tree,
 * in-root resolution of sources and destinations, errors, hashing, ADD's
 * archive extraction, --chown lookups. Works in temp dirs (no mounts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "build/build_internal.h"

struct dirs {
  char base[64];
  int src, dst;
};

static void put(const char *root, const char *rel, const char *content) {
  char *p = xasprintf("%s/%s", root, rel);
  char *slash = strrchr(p, '/');
  *slash = '\0';
  assert_int_equal(mkdir_p(p, 0755, NULL), 0);
  *slash = '/';
  assert_int_equal(write_file_replace(p, content, strlen(content), 0644, NULL), 0);
  free(p);
}

static char *get(struct dirs *d, const char *rel) {
  char *p = xasprintf("%s/dst/%s", d->base, rel);
  char *out = NULL;
  if (read_file(p, &out, NULL, NULL) < 0)
    out = NULL;
  free(p);
  return out;
}

static int setup(void **state) {
  struct dirs *d = xcalloc(1, sizeof *d);
  snprintf(d->base, sizeof d->base, "/tmp/berth-test-copy-XXXXXX");
  assert_non_null(mkdtemp(d->base));
  char *s = xasprintf("%s/src", d->base), *t = xasprintf("%s/dst", d->base);
  mkdir(s, 0755);
  mkdir(t, 0755);
  put(s, "a.txt", "A");
  put(s, "b.txt", "B");
  put(s, "dir/one", "1");
  put(s, "dir/sub/two", "2");
  put(s, "dir/skip.log", "x");
  put(t, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
  put(t, "etc/group", "root:x:0:\nstaff:x:50:\n");
  char *ex = xasprintf("%s/existing", t), *l1 = xasprintf("%s/abs-link", s), *l2 = xasprintf("%s/up-link", s);
  mkdir(ex, 0755);
  assert_int_equal(symlink("/a.txt", l1), 0);
  assert_int_equal(symlink("../../../../etc/hostname", l2), 0);
  free(ex);
  free(l1);
  free(l2);
  d->src = open(s, O_RDONLY | O_DIRECTORY);
  d->dst = open(t, O_RDONLY | O_DIRECTORY);
  free(s);
  free(t);
  *state = d;
  return 0;
}

static int teardown(void **state) {
  struct dirs *d = *state;
  close(d->src);
  close(d->dst);
  rm_rf(d->base, NULL);
  free(d);
  return 0;
}

static int copy(struct dirs *d, char **srcs, const char *dest, bool dest_dir, char **desc, struct berr **err) {
  struct bcopy_opts o = {.cmd = "COPY", .src_root = d->src, .src_is_context = true, .srcs = srcs, .dest = dest,
                         .dest_is_dir = dest_dir, .dst_root = d->dst};
  return bcopy_run(&o, desc, err);
}

static void expect_file(struct dirs *d, const char *rel, const char *want) {
  char *got = get(d, rel);
  if (!got)
    fail_msg("%s: missing", rel);
  assert_string_equal(got, want);
  free(got);
}

static void test_file_rules(void **state) {
  struct dirs *d = *state;
  char *desc = NULL;
  char *s1[] = {"a.txt", NULL};
  assert_int_equal(copy(d, s1, "/x/renamed", false, &desc, NULL), 0);
  expect_file(d, "x/renamed", "A");
  assert_true(str_has_prefix(desc, "file:"));
  assert_int_equal(strlen(desc), 5 + 64);
  char *first = desc;
  /* into a dir: trailing slash, or an existing dir */
  assert_int_equal(copy(d, s1, "/into/", true, &desc, NULL), 0);
  expect_file(d, "into/a.txt", "A");
  assert_string_equal(desc, first); /* same content, same hash */
  free(desc);
  assert_int_equal(copy(d, s1, "/existing", false, &desc, NULL), 0);
  expect_file(d, "existing/a.txt", "A");
  free(desc);
  free(first);
  /* new files are root's with the source's mode */
  char *p = xasprintf("%s/dst/x/renamed", d->base);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644);
  assert_int_equal(st.st_uid, 0);
  free(p);
}

static void test_dir_and_multi(void **state) {
  struct dirs *d = *state;
  char *desc = NULL;
  char *s1[] = {"dir", NULL};
  assert_int_equal(copy(d, s1, "/data", false, &desc, NULL), 0);
  expect_file(d, "data/one", "1");
  expect_file(d, "data/sub/two", "2");
  assert_true(str_has_prefix(desc, "dir:"));
  free(desc);
  char *s2[] = {"a.txt", "b.txt", NULL};
  assert_int_equal(copy(d, s2, "/m/", true, &desc, NULL), 0);
  expect_file(d, "m/b.txt", "B");
  assert_true(str_has_prefix(desc, "multi:"));
  free(desc);
  char *s3[] = {"*.txt", NULL};
  assert_int_equal(copy(d, s3, "/w/", true, &desc, NULL), 0);
  expect_file(d, "w/a.txt", "A");
  expect_file(d, "w/b.txt", "B");
  free(desc);
}

static void test_errors(void **state) {
  struct dirs *d = *state;
  char *desc = NULL;
  struct berr *err = NULL;
  char *s1[] = {"a.txt", "b.txt", NULL};
  assert_int_equal(copy(d, s1, "/notdir", false, &desc, &err), -EINVAL);
  assert_string_equal(err->msg,
                      "When using COPY with more than one source file, the destination must be a directory and end with a /");
  berr_free(err);
  err = NULL;
  char *s2[] = {"../x", NULL};
  assert_int_equal(copy(d, s2, "/x", false, &desc, &err), -EINVAL);
  assert_string_equal(err->msg, "COPY failed: forbidden path outside the build context: ../x ()");
  berr_free(err);
  err = NULL;
  char *s3[] = {"nosuch", NULL};
  assert_int_equal(copy(d, s3, "/x", false, &desc, &err), -ENOENT);
  assert_string_equal(err->msg,
                      "COPY failed: file not found in build context or excluded by .dockerignore: stat nosuch: file does not exist");
  berr_free(err);
  err = NULL;
  char *s4[] = {"*.nomatch", NULL};
  assert_int_equal(copy(d, s4, "/x/", true, &desc, &err), -ENOENT);
  assert_string_equal(err->msg, "COPY failed: no source files were specified");
  berr_free(err);
  err = NULL;
  /* a symlink pointing out of the context resolves inside it: not found */
  char *s5[] = {"up-link", NULL};
  assert_int_equal(copy(d, s5, "/x", false, &desc, &err), -ENOENT);
  berr_free(err);
  err = NULL;
  /* an absolute symlink is resolved against the context root */
  char *s6[] = {"abs-link", NULL};
  assert_int_equal(copy(d, s6, "/viaabs", false, &desc, NULL), 0);
  expect_file(d, "viaabs", "A");
  free(desc);
}

static void test_flags(void **state) {
  struct dirs *d = *state;
  char *desc = NULL;
  char *s1[] = {"dir", NULL};
  char *ex[] = {"*.log", NULL};
  struct bcopy_opts o = {.cmd = "COPY", .src_root = d->src, .src_is_context = true, .srcs = s1, .dest = "/f",
                         .dest_is_dir = true, .dst_root = d->dst, .do_chown = true, .uid = 1000, .gid = 1001,
                         .do_chmod = true, .mode = 0600, .excludes = ex};
  assert_int_equal(bcopy_run(&o, &desc, NULL), 0);
  free(desc);
  expect_file(d, "f/one", "1");
  assert_null(get(d, "f/skip.log"));
  char *p = xasprintf("%s/dst/f/one", d->base);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_uid, 1000);
  assert_int_equal(st.st_gid, 1001);
  free(p);
  char *s2[] = {"dir/sub/two", NULL};
  struct bcopy_opts o2 = {.cmd = "COPY", .src_root = d->src, .src_is_context = true, .srcs = s2, .dest = "/par",
                          .dest_is_dir = true, .dst_root = d->dst, .parents = true};
  assert_int_equal(bcopy_run(&o2, &desc, NULL), 0);
  free(desc);
  expect_file(d, "par/dir/sub/two", "2");
}

static void test_chown_lookup(void **state) {
  struct dirs *d = *state;
  uid_t u;
  gid_t g;
  assert_int_equal(bchown_parse("12:34", d->dst, &u, &g, NULL), 0);
  assert_int_equal(u, 12);
  assert_int_equal(g, 34);
  assert_int_equal(bchown_parse("app", d->dst, &u, &g, NULL), 0);
  assert_int_equal(u, 1000);
  assert_int_equal(g, 1001); /* the user's primary group */
  assert_int_equal(bchown_parse("app:staff", d->dst, &u, &g, NULL), 0);
  assert_int_equal(g, 50);
  assert_int_equal(bchown_parse("7", d->dst, &u, &g, NULL), 0);
  assert_int_equal(g, 7);
  struct berr *err = NULL;
  assert_int_equal(bchown_parse("nobody", d->dst, &u, &g, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "can't find uid for user nobody"));
  berr_free(err);
}

static void test_extract(void **state) {
  struct dirs *d = *state;
  /* a tar made by hand: one file "t/in.txt" and an escaping "../evil" */
  char *tarp = xasprintf("%s/src/arch.tar", d->base);
  char *cmd = xasprintf("cd %s && mkdir -p tt/t && echo inside > tt/t/in.txt && tar -C tt -cf src/arch.tar t "
                        "&& tar -P -C tt -rf src/arch.tar --transform 's,t/in.txt,../evil,' t/in.txt",
                        d->base);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  char *desc = NULL;
  char *s1[] = {"arch.tar", NULL};
  struct bcopy_opts o = {.cmd = "ADD", .src_root = d->src, .src_is_context = true, .srcs = s1, .dest = "/un",
                         .dest_is_dir = true, .dst_root = d->dst, .extract = true};
  assert_int_equal(bcopy_run(&o, &desc, NULL), 0);
  expect_file(d, "un/t/in.txt", "inside\n");
  char *evil = xasprintf("%s/dst/evil", d->base);
  assert_false(path_exists(evil));
  free(evil);
  evil = xasprintf("%s/dst/un/evil", d->base); /* ".." entries are dropped, not clamped */
  assert_false(path_exists(evil));
  free(evil);
  assert_true(str_has_prefix(desc, "file:"));
  free(desc);
  free(tarp);
  /* COPY never extracts */
  o.cmd = "COPY";
  o.extract = false;
  o.dest = "/cp/";
  assert_int_equal(bcopy_run(&o, &desc, NULL), 0);
  free(desc);
  char *p = xasprintf("%s/dst/cp/arch.tar", d->base);
  assert_true(path_exists(p));
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_rules), cmocka_unit_test(test_dir_and_multi), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_flags),      cmocka_unit_test(test_chown_lookup),  cmocka_unit_test(test_extract),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
