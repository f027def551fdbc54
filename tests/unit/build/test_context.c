/* Unit tests of src/build/context.c (and the warm dirs of builder.c): a
 * build context body (a tar, streamed in small reads, or a bare Dockerfile)
 * becomes a dir holding exactly the tar's tree, also when a warm dir of an
 * earlier build with other contents is updated in place; escapes are
 * dropped; nothing is written through a stale symlink. Temp dirs only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "build/build_internal.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

struct fx {
  char base[64];
  struct builder *b;
};

static int setup(void **state) {
  struct fx *f = xcalloc(1, sizeof *f);
  snprintf(f->base, sizeof f->base, "/tmp/berth-test-ctx-XXXXXX");
  assert_non_null(mkdtemp(f->base));
  assert_int_equal(builder_new(NULL, NULL, f->base, &f->b, NULL), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  builder_free(f->b);
  rm_rf(f->base, NULL);
  free(f);
  return 0;
}

/* ---------- a tar in memory ---------- */

struct mem {
  struct sbuf b;
  size_t off, chunk; /* reads return at most `chunk` bytes */
};

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *buf, size_t len) {
  (void)a;
  sbuf_addn(&((struct mem *)ctx)->b, buf, len);
  return (la_ssize_t)len;
}

static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  struct mem *m = ctx;
  size_t n = m->b.len - m->off;
  if (n > len)
    n = len;
  if (n > m->chunk)
    n = m->chunk;
  if (n > 0) /* an empty body has no buffer at all */
    memcpy(buf, m->b.s + m->off, n);
  m->off += n;
  return (ssize_t)n;
}

/* Entries: "f:path:content", "F:path:content" (mode 0755), "d:path",
 * "l:path:target", "h:path:target" (hard link). */
static void make_tar(struct mem *m, const char *const *ents) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, m, NULL, mem_write, NULL);
  for (size_t i = 0; ents[i]; i++) {
    char *spec = xstrdup(ents[i]);
    char *path = spec + 2, *arg = strchr(path, ':');
    if (arg)
      *arg++ = '\0';
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_mtime(e, 1000000000 + (time_t)i, 0);
    switch (spec[0]) {
    case 'd': archive_entry_set_mode(e, S_IFDIR | 0755); break;
    case 'l': archive_entry_set_mode(e, S_IFLNK | 0777); archive_entry_set_symlink(e, arg); break;
    case 'h': archive_entry_set_mode(e, S_IFREG | 0644); archive_entry_set_hardlink(e, arg); break;
    default:
      archive_entry_set_mode(e, S_IFREG | (spec[0] == 'F' ? 0755 : 0644));
      archive_entry_set_size(e, (la_int64_t)strlen(arg));
    }
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (spec[0] == 'f' || spec[0] == 'F')
      assert_int_equal(archive_write_data(a, arg, strlen(arg)), (la_ssize_t)strlen(arg));
    archive_entry_free(e);
    free(spec);
  }
  archive_write_close(a);
  archive_write_free(a);
}

static char *unpack(struct fx *f, struct mem *m) {
  char *dir = NULL;
  struct berr *err = NULL;
  m->off = 0;
  int r = build_context_unpack(f->b, mem_read, m, &dir, &err);
  if (r < 0)
    fail_msg("unpack: %s", err ? err->msg : "?");
  return dir;
}

/* The tree as "type path [content|target] mode" lines, sorted. */
static void list_rec(const char *root, const char *rel, struct sbuf *out) {
  char *abs = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
  DIR *d = opendir(abs);
  assert_non_null(d);
  char **names = xcalloc(1, sizeof(char *));
  for (struct dirent *de; (de = readdir(d));)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      names = strv_append(names, xstrdup(de->d_name));
  closedir(d);
  qsort(names, strv_len(names), sizeof(char *), cmp_str);
  for (size_t i = 0; names[i]; i++) {
    char *r2 = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
    char *a2 = xasprintf("%s/%s", root, r2);
    struct stat st;
    assert_int_equal(lstat(a2, &st), 0);
    char line[512];
    if (S_ISDIR(st.st_mode)) {
      snprintf(line, sizeof line, "d %s %o\n", r2, st.st_mode & 07777);
      sbuf_add(out, line);
      list_rec(root, r2, out);
    } else if (S_ISLNK(st.st_mode)) {
      char t[256] = {0};
      assert_true(readlink(a2, t, sizeof t - 1) >= 0);
      snprintf(line, sizeof line, "l %s %s\n", r2, t);
      sbuf_add(out, line);
    } else {
      char *c = NULL;
      assert_int_equal(read_file(a2, &c, NULL, NULL), 0);
      snprintf(line, sizeof line, "f %s %s %o %ld\n", r2, c, st.st_mode & 07777, (long)st.st_mtim.tv_sec);
      sbuf_add(out, line);
      free(c);
    }
    free(r2);
    free(a2);
  }
  strv_free(names);
  free(abs);
}

static char *tree(const char *root) {
  struct sbuf out = {0};
  list_rec(root, "", &out);
  return out.s ? out.s : xstrdup("");
}

static size_t count_warm(struct fx *f) {
  char *p = xasprintf("%s/builder/warm", f->base);
  DIR *d = opendir(p);
  assert_non_null(d);
  size_t n = 0;
  for (struct dirent *de; (de = readdir(d));)
    n += de->d_name[0] == 'w';
  closedir(d);
  free(p);
  return n;
}

/* A fresh dir and a warm one updated to the same tar hold the same tree. */
static void check_same_as_fresh(struct fx *f, struct mem *m, const char *warm_dir) {
  char *got = tree(warm_dir);
  /* a fresh unpack, with no warm dir to take */
  char *wroot = xasprintf("%s/builder/warm", f->base);
  char *aside = xasprintf("%s/aside", f->base);
  assert_int_equal(rename(wroot, aside), 0);
  assert_int_equal(mkdir(wroot, 0700), 0);
  char *fresh = unpack(f, m);
  char *want = tree(fresh);
  assert_string_equal(got, want);
  rm_rf(fresh, NULL);
  rm_rf(wroot, NULL);
  assert_int_equal(rename(aside, wroot), 0);
  free(fresh);
  free(want);
  free(got);
  free(wroot);
  free(aside);
}

static void test_fresh(void **state) {
  struct fx *f = *state;
  const char *ents[] = {"f:Dockerfile:FROM scratch\n", "d:dir", "f:dir/a:alpha", "F:dir/run.sh:#!/bin/sh",
                        "l:link:dir/a", "h:hard:dir/a", "f:../escape:no", "f:nodir/deep/x:implicit parents",
                        NULL};
  struct mem m = {.chunk = 7};
  make_tar(&m, ents);
  char *dir = unpack(f, &m);
  char *t = tree(dir);
  assert_non_null(strstr(t, "f Dockerfile FROM scratch\n 644 1000000000\n"));
  assert_non_null(strstr(t, "d dir 755\n"));
  assert_non_null(strstr(t, "f dir/a alpha 644 1000000002\n"));
  assert_non_null(strstr(t, "f dir/run.sh #!/bin/sh 755"));
  assert_non_null(strstr(t, "l link dir/a\n"));
  assert_non_null(strstr(t, "f hard alpha"));
  assert_non_null(strstr(t, "f nodir/deep/x implicit parents"));
  assert_null(strstr(t, "escape"));
  char *esc = xasprintf("%s/builder/tmp/escape", f->base);
  assert_false(path_exists(esc));
  /* the dir's mtime is the tar's, set after its children were made */
  char *dp = xasprintf("%s/dir", dir);
  struct stat st;
  assert_int_equal(stat(dp, &st), 0);
  assert_int_equal(st.st_mtim.tv_sec, 1000000001);
  build_context_release(f->b, dir);
  assert_int_equal(count_warm(f), 1);
  assert_false(path_exists(dir));
  free(dp);
  free(esc);
  free(t);
  free(dir);
  sbuf_free(&m.b);
}

static void test_warm_update(void **state) {
  struct fx *f = *state;
  const char *one[] = {"f:Dockerfile:FROM scratch\n", "d:dir",      "f:dir/a:alpha",   "f:dir/b:bravo",
                       "f:gone:old",                  "d:becomes-file", "f:becomes-file/x:1", "f:becomes-dir:2",
                       "l:link:dir/a",                "d:stale",    "f:stale/s:s",     "l:sub:/",
                       NULL};
  /* same size, new content; longer; a file gone; types swapped; a new
   * symlink target; a dir gone; "sub" was a symlink to / and is now an
   * implicit parent dir */
  const char *two[] = {"f:Dockerfile:FROM scratch\n", "d:dir", "f:dir/a:ALPHA", "f:dir/b:bravo-longer",
                       "f:becomes-file:now a file", "d:becomes-dir", "f:becomes-dir/y:3", "l:link:dir/b",
                       "f:sub/f:inside", "f:new:n", NULL};
  struct mem m1 = {.chunk = 512}, m2 = {.chunk = 100000};
  make_tar(&m1, one);
  make_tar(&m2, two);
  char *d1 = unpack(f, &m1);
  build_context_release(f->b, d1);
  assert_int_equal(count_warm(f), 1);
  char *d2 = unpack(f, &m2); /* takes the warm dir */
  assert_int_equal(count_warm(f), 0);
  char *t = tree(d2);
  assert_non_null(strstr(t, "f dir/a ALPHA"));
  assert_non_null(strstr(t, "f dir/b bravo-longer"));
  assert_non_null(strstr(t, "f becomes-file now a file"));
  assert_non_null(strstr(t, "f becomes-dir/y 3"));
  assert_non_null(strstr(t, "l link dir/b\n"));
  assert_non_null(strstr(t, "d sub 755\n"));
  assert_non_null(strstr(t, "f sub/f inside"));
  assert_null(strstr(t, "gone"));
  assert_null(strstr(t, "stale"));
  assert_null(strstr(t, "becomes-file/x"));
  /* nothing went through the old "sub" -> / (in-root: the context's top) */
  char *through = xasprintf("%s/f", d2);
  assert_false(path_exists(through));
  free(through);
  check_same_as_fresh(f, &m2, d2);
  /* and back: the warm dir is updated to the first tar again */
  build_context_release(f->b, d2);
  char *d3 = unpack(f, &m1);
  check_same_as_fresh(f, &m1, d3);
  rm_rf(d3, NULL);
  free(t);
  free(d1);
  free(d2);
  free(d3);
  sbuf_free(&m1.b);
  sbuf_free(&m2.b);
}

static void test_dockerfile_body(void **state) {
  struct fx *f = *state;
  const char *ents[] = {"f:Dockerfile:old", "f:other:x", NULL};
  struct mem m = {.chunk = 3};
  make_tar(&m, ents);
  char *d1 = unpack(f, &m);
  build_context_release(f->b, d1);
  /* a bare Dockerfile (not a tar) replaces everything */
  struct mem df = {.chunk = 5};
  sbuf_add(&df.b, "FROM busybox\nRUN true\n");
  char *d2 = unpack(f, &df);
  char *t = tree(d2);
  assert_non_null(strstr(t, "f Dockerfile FROM busybox\nRUN true\n 644"));
  assert_null(strstr(t, "other"));
  rm_rf(d2, NULL);
  /* an empty body: an empty dir */
  struct mem empty = {.chunk = 5};
  char *d3 = unpack(f, &empty);
  char *t3 = tree(d3);
  assert_string_equal(t3, "");
  rm_rf(d3, NULL);
  free(t3);
  free(t);
  free(d1);
  free(d2);
  free(d3);
  sbuf_free(&m.b);
  sbuf_free(&df.b);
}

static void test_big_not_kept_and_prune(void **state) {
  struct fx *f = *state;
  const char *ents[] = {"f:Dockerfile:x", NULL};
  struct mem m = {.chunk = 4096};
  make_tar(&m, ents);
  /* a dir marked as not to be kept warm is removed on release */
  char *d1 = unpack(f, &m);
  builder_context_no_warm(f->b, &d1);
  build_context_release(f->b, d1);
  assert_false(path_exists(d1));
  assert_int_equal(count_warm(f), 0);
  /* at most two warm dirs; builder prune empties them */
  char *a = unpack(f, &m), *b = unpack(f, &m), *c = unpack(f, &m);
  build_context_release(f->b, a);
  build_context_release(f->b, b);
  build_context_release(f->b, c);
  assert_int_equal(count_warm(f), 2);
  int64_t n = -1;
  assert_int_equal(builder_cache_prune(f->b, &n, NULL), 0);
  assert_int_equal(count_warm(f), 0);
  free(d1);
  free(a);
  free(b);
  free(c);
  sbuf_free(&m.b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
      cmocka_unit_test_setup_teardown(test_warm_update, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dockerfile_body, setup, teardown),
      cmocka_unit_test_setup_teardown(test_big_not_kept_and_prune, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
